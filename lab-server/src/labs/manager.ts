/**
 * Labs: one per learner, two nodes each. This module decides who gets a lab, how long it lives
 * and when it ends; docker/provision.ts does the Docker work.
 *
 * Data kept per lab, and where it survives a restart:
 * - in Docker labels (immutable, labels.ts): id, subnet index, SHA-256 of the token, SHA-256 of
 *   the owning browser session, creation time, workshop;
 * - in `STATE_DIR/labs.json` (mutable, store.ts): `expiresAt` and `idleSince`;
 * - in memory only: live node state from the observers (live-state.ts; rebuilt on adoption in a
 *   second).
 *
 * A lab ends at `expiresAt` (TTL, pushed by «Продлить» up to a lifetime cap) or when no terminal
 * has been attached for the idle timeout. The reaper runs on the injected clock.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { LAB_NODES, type EndReason, type LabNode, type NodeLimitEvent } from '../api';
import type { Config } from '../config/config';
import { listLabResources } from '../docker/lab-network';
import { deprovisionLab, provisionLab, resetLabNode, type LabPlan } from '../docker/provision';
import { HttpError } from '../http/errors';
import type { Clock } from '../lib/clock';
import { sameDigest, sha256 } from '../lib/hash';
import { newId, newToken } from '../lib/ids';
import { initialStatus, newLab, type Lab, type LabFields } from './lab';
import { adoption } from './adoption';
import { labLabels, serverIdFor, type LabIdentity } from './labels';
import { watchLab, type LabWatch } from './live-state';
import { LabOperations } from './operations';
import { LabOwnership } from './ownership';
import { freeSubnetIndex, nodeLimits } from './placement';
import { labStore } from './store';
import { labAddresses } from './subnets';

export interface LabManagerDeps {
	docker: Docker;
	config: Config;
	clock: Clock;
	log: Logger;
	image: string;
	/** Whether Docker limits a node's writable layer itself (docker/storage-quota.ts). */
	storageQuota: () => boolean;
	/** What is low on the host now (docker/host-health.ts): no lab starts while anything is. */
	hostProblems?: () => Promise<{ code: string; message: string }[]>;
	/** Whether a terminal is attached to the lab right now (terminals/ knows). */
	isAttached: (labId: string) => boolean;
	/** Called before a lab's or a node's containers go away, to let its terminals go. */
	onTeardown: (labId: string, node?: LabNode) => Promise<void>;
	/**
	 * Called when a lab is registered (created or adopted); the returned function when the lab
	 * ends (`ended`) or the server stops with the lab left running (`closing`).
	 */
	onRegister?: (lab: Lab) => (why: 'ended' | 'closing') => void;
	/**
	 * Whether the lab waits in a workshop's pool for a learner (workshops/ knows): such a lab
	 * has no terminal by design and must not be reaped as idle. Default: never.
	 */
	isPooled?: (labId: string) => boolean;
}

const REAP_EVERY_MS = 15_000;
const ACTIVITY_SAVE_MS = 10_000;

export class LabManager {
	#labs = new Map<string, Lab>();
	#reserved = new Set<number>();
	/** Labs being created: id → creation time (saved, so a killed server's half labs go). */
	#creating = new Map<string, number>();
	#owners: LabOwnership;
	#operations = new LabOperations();
	/** A save of the learners' activity is due (it is written at most every ACTIVITY_SAVE_MS). */
	#activityTimer: unknown = null;
	#watches = new Map<string, LabWatch>();
	#unregister = new Map<string, (why: 'ended' | 'closing') => void>();
	#reapTimer: unknown = null;
	#activity = new Map<string, number>();
	#store: ReturnType<typeof labStore>;
	#deps: LabManagerDeps;

	/** This server's id on its labs' labels: a hash of its state directory. */
	readonly #serverId: string;

	constructor(deps: LabManagerDeps) {
		this.#deps = deps;
		this.#serverId = serverIdFor(deps.config.stateDir);
		this.#store = labStore(deps.config.stateDir, deps.log);
		this.#owners = new LabOwnership({
			perClient: deps.config.maxLabsPerClient,
			perIp: deps.config.maxLabsPerIp,
		});
	}

	get size(): number {
		return this.#labs.size;
	}

	list(): Lab[] {
		return [...this.#labs.values()];
	}

	/**
	 * Finds the labs a previous server left running (by their Docker labels) and takes them back;
	 * removes whatever is incomplete, stopped, expired or unlabelled. Starts the reaper.
	 */
	async adopt(): Promise<{ adopted: number; removed: number }> {
		const { docker, clock, config, log } = this.#deps;
		const saved = await this.#store.read();
		let adopted = 0;
		let removed = 0;
		for (const [labId, found] of await listLabResources(docker)) {
			const next = adoption(found, saved, { serverId: this.#serverId, now: clock.now(), config });
			if (next.kind === 'foreign') continue;
			if (next.kind === 'remove') {
				log.info({ labId, complete: next.whole }, 'removing orphaned or expired lab');
				await deprovisionLab(docker, labId);
				removed++;
				continue;
			}
			this.#register(next.fields);
			const activity = saved[labId]?.lastActivity;
			if (activity) this.#activity.set(labId, activity);
			adopted++;
		}
		await this.#save();
		this.#scheduleReap();
		log.info({ adopted, removed }, 'labs adopted');
		return { adopted, removed };
	}

	/**
	 * Creates a lab for a browser session; resolves once both nodes have booted. Labs still
	 * starting count against the session's cap and `MAX_LABS` as running ones do, so parallel
	 * requests cannot slip past either.
	 */
	create(owner: {
		sessionHash: string;
		/** The client's address, for `MAX_LABS_PER_IP`; null when unknown. */
		ip?: string | null;
		workshop?: string;
	}): Promise<{ lab: Lab; token: string }> {
		return this.#operations.track(() => this.#create(owner));
	}

	async #create(owner: {
		sessionHash: string;
		ip?: string | null;
		workshop?: string;
	}): Promise<{ lab: Lab; token: string }> {
		const { config, clock, docker, log } = this.#deps;
		if (this.load >= config.maxLabs) {
			throw new HttpError(
				503,
				'no-capacity',
				'Свободных стендов сейчас нет: все места заняты. Попробуйте через несколько минут.',
			);
		}
		const ip = owner.ip ?? null;
		if (!owner.workshop) this.checkOwnerCaps(owner.sessionHash, ip);
		// Counted as starting before the first await: parallel requests see each other.
		const started = this.#owners.starts(owner.sessionHash, ip);
		let index: number | null = null;
		let id: string | null = null;
		try {
			const [problem] = (await this.#deps.hostProblems?.()) ?? [];
			if (problem) throw new HttpError(503, problem.code, problem.message);
			// Any Docker network's subnet, running labs' and labs starting now are taken.
			const taken = [...this.#reserved, ...this.list().map((l) => l.addresses.index)];
			index = await freeSubnetIndex(docker, config.labSubnetPool, taken);
			this.#reserved.add(index);
			const token = newToken();
			const identity: LabIdentity = {
				index,
				tokenHash: sha256(token),
				ownerHash: owner.sessionHash,
				createdAt: clock.now(),
				workshop: owner.workshop ?? null,
			};
			id = newId();
			this.#creating.set(id, identity.createdAt);
			await this.#save();
			const plan = this.#plan(id, identity);
			const provisioned = await provisionLab(docker, plan).catch((error: unknown) => {
				log.error({ labId: id, err: error }, 'lab start failed');
				throw new HttpError(
					500,
					'lab-start-failed',
					'Не удалось запустить стенд. Попробуйте ещё раз через минуту.',
					{ cause: error },
				);
			});
			this.#creating.delete(id);
			const lab = this.#register({
				id,
				addresses: plan.addresses,
				tokenHash: identity.tokenHash,
				ownerHash: identity.ownerHash,
				clientIp: ip,
				workshop: identity.workshop,
				createdAt: identity.createdAt,
				expiresAt: identity.createdAt + config.labTtlMs,
				idleSince: identity.createdAt,
				halted: {},
				containers: provisioned.containers,
			});
			await this.#save();
			log.info({ labId: id, subnet: plan.addresses.subnet, ms: provisioned.bootMs }, 'lab ready');
			return { lab, token };
		} finally {
			started();
			if (index !== null) this.#reserved.delete(index);
			if (id !== null && this.#creating.delete(id)) await this.#save();
		}
	}

	/** 429 when the session, or (with `MAX_LABS_PER_IP`) the address, holds its share already. */
	checkOwnerCaps(sessionHash: string, ip: string | null): void {
		this.#owners.check(this.list(), sessionHash, ip);
	}

	/**
	 * Runs a lifecycle operation on a lab, one at a time per lab (409 `lab-busy` otherwise), and
	 * so that a stopping server waits for it (operations.ts).
	 */
	exclusive<T>(lab: Lab, what: string, operation: () => Promise<T>): Promise<T> {
		return this.#operations.exclusive(lab.id, what, operation);
	}

	/** Whether a lifecycle operation is under way on the lab. */
	isBusy(labId: string): boolean {
		return this.#operations.isBusy(labId);
	}

	/** The lab, if `token` opens it: 404 for an unknown lab, 401 without a token, 403 for another's. */
	authorize(labId: string, token: string | undefined): Lab {
		const lab = this.#labs.get(labId);
		if (!lab)
			throw new HttpError(
				404,
				'lab-not-found',
				'Стенд не найден: возможно, его время истекло. Запустите новый.',
			);
		if (!token) throw new HttpError(401, 'unauthorized', 'Нужен ключ доступа к стенду.');
		if (!sameDigest(sha256(token), lab.tokenHash)) {
			throw new HttpError(403, 'forbidden', 'Этот ключ не открывает этот стенд.');
		}
		return lab;
	}

	get(labId: string): Lab | undefined {
		return this.#labs.get(labId);
	}

	/** «Продлить»: the lab lives another TTL from now, up to its lifetime cap. */
	async extend(lab: Lab): Promise<Lab> {
		const { config, clock } = this.#deps;
		const cap = lab.createdAt + config.labMaxLifetimeMs;
		const next = Math.min(clock.now() + config.labTtlMs, cap);
		if (next <= lab.expiresAt) {
			throw new HttpError(
				409,
				'extend-limit',
				'Продлить стенд больше нельзя: он уже живёт максимальное время.',
			);
		}
		lab.expiresAt = next;
		lab.events.emit('lab', { expiresAt: new Date(next).toISOString() });
		await this.#save();
		return lab;
	}

	/** «Сбросить стенд»: the node (or both) back to the state at the start of the course. */
	async reset(lab: Lab, node?: LabNode): Promise<Lab> {
		const { docker, log } = this.#deps;
		const nodes = node ? [node] : [...LAB_NODES];
		const plan = this.#plan(lab.id, {
			index: lab.addresses.index,
			tokenHash: lab.tokenHash,
			ownerHash: lab.ownerHash,
			createdAt: lab.createdAt,
			workshop: lab.workshop,
		});
		const watch = this.#watches.get(lab.id);
		const started = performance.now();
		for (const name of nodes) {
			await this.#deps.onTeardown(lab.id, name);
			lab.events.emit('reset', { node: name });
			watch?.unwatch(name);
			lab.nodes[name] = initialStatus(name, lab.addresses[name]);
			delete lab.halted[name];
		}
		await Promise.all(
			nodes.map(async (name) => {
				lab.containers[name] = await resetLabNode(docker, plan, name);
				watch?.watch(name);
			}),
		);
		log.info({ labId: lab.id, nodes, ms: Math.round(performance.now() - started) }, 'lab reset');
		await this.#save();
		return lab;
	}

	/**
	 * Stops a node over a limit (node-limits.ts): its processes are killed, the learner is told
	 * why (`limit` event), and it stays stopped — across restarts too — until it is reset.
	 */
	async halt(lab: Lab, node: LabNode, event: Omit<NodeLimitEvent, 'at'>): Promise<void> {
		if (!this.#labs.has(lab.id) || this.isBusy(lab.id)) return;
		const { docker, clock, log } = this.#deps;
		const at = new Date(clock.now()).toISOString();
		lab.halted[node] = { ...event, at };
		await docker
			.getContainer(lab.containers[node])
			.kill()
			.catch((error: unknown) =>
				log.warn({ labId: lab.id, node, err: error }, 'could not stop node'),
			);
		this.#watches.get(lab.id)?.unwatch(node);
		lab.nodes[node] = {
			...lab.nodes[node],
			state: 'stopped',
			keepalived: 'stopped',
			hasVip: false,
		};
		lab.events.emit('limit', { ...event, at });
		log.warn(
			{ labId: lab.id, node, kind: event.kind, used: event.used, limit: event.limit },
			'node stopped over a limit',
		);
		await this.#save();
	}

	/** Ends a lab: terminals closed, containers and network removed, state forgotten. */
	async end(lab: Lab, reason: EndReason): Promise<void> {
		if (!this.#labs.has(lab.id)) return;
		this.#labs.delete(lab.id);
		this.#activity.delete(lab.id);
		this.#watches.get(lab.id)?.stop();
		this.#watches.delete(lab.id);
		this.#unregister.get(lab.id)?.('ended');
		this.#unregister.delete(lab.id);
		lab.events.emit('ended', { reason });
		await this.#deps.onTeardown(lab.id);
		await deprovisionLab(this.#deps.docker, lab.id);
		lab.events.removeAllListeners();
		await this.#save();
		this.#deps.log.info({ labId: lab.id, reason }, 'lab ended');
	}

	/** A terminal detached: if it was the last one, the idle timeout starts counting now. */
	touch(lab: Lab): void {
		lab.idleSince = this.#deps.clock.now();
		void this.#save();
	}

	/** A learner typed into one of the lab's terminals (the workshop dashboard shows when). */
	noteActivity(labId: string): void {
		if (!this.#labs.has(labId)) return;
		this.#activity.set(labId, this.#deps.clock.now());
		this.#activityTimer ??= this.#deps.clock.setTimeout(() => {
			this.#activityTimer = null;
			void this.#save();
		}, ACTIVITY_SAVE_MS);
	}

	/** When a learner last typed into the lab, since this server started; null if never. */
	lastActivity(labId: string): number | null {
		return this.#activity.get(labId) ?? null;
	}

	/** Labs running or starting, against `MAX_LABS`. */
	get load(): number {
		return this.#labs.size + this.#owners.starting;
	}

	/** Ends what is expired or idle. Exposed for tests; normally run by the reaper timer. */
	async reap(): Promise<string[]> {
		const { clock, config } = this.#deps;
		const now = clock.now();
		const ended: string[] = [];
		for (const lab of this.list()) {
			// An operation under way (a reset, say) is left to finish; the next round ends it.
			if (this.isBusy(lab.id)) continue;
			const attached = this.#deps.isAttached(lab.id);
			const pooled = this.#deps.isPooled?.(lab.id) ?? false;
			if (lab.expiresAt <= now) {
				await this.end(lab, 'expired');
				ended.push(lab.id);
			} else if (!attached && !pooled && now - lab.idleSince >= config.labIdleMs) {
				await this.end(lab, 'idle');
				ended.push(lab.id);
			}
		}
		return ended;
	}

	/**
	 * Server stopping: no new operation starts, those under way finish (a lab being created is
	 * whole, a reset or a drill done), the reaper and observers stop; labs keep running for the
	 * next server.
	 */
	async close(): Promise<void> {
		const waited = await this.#operations.close();
		if (waited > 0) this.#deps.log.info({ operations: waited }, 'lab operations finished');
		if (this.#reapTimer !== null) this.#deps.clock.clearTimeout(this.#reapTimer);
		this.#reapTimer = null;
		if (this.#activityTimer !== null) this.#deps.clock.clearTimeout(this.#activityTimer);
		this.#activityTimer = null;
		for (const watch of this.#watches.values()) watch.stop();
		this.#watches.clear();
		for (const unregister of this.#unregister.values()) unregister('closing');
		this.#unregister.clear();
		await this.#save();
	}

	#plan(labId: string, identity: LabIdentity): LabPlan {
		const { config, image } = this.#deps;
		return {
			labId,
			addresses: labAddresses(config.labSubnetPool, identity.index),
			image,
			limits: nodeLimits(config, this.#deps.storageQuota()),
			labels: labLabels(identity, this.#serverId),
		};
	}

	#register(fields: LabFields): Lab {
		const { docker, clock, log } = this.#deps;
		const lab = newLab(fields);
		this.#labs.set(lab.id, lab);
		this.#watches.set(lab.id, watchLab(lab, { docker, clock, log }));
		const unregister = this.#deps.onRegister?.(lab);
		if (unregister) this.#unregister.set(lab.id, unregister);
		return lab;
	}

	#scheduleReap(): void {
		this.#reapTimer = this.#deps.clock.setTimeout(async () => {
			try {
				await this.reap();
			} catch (error) {
				this.#deps.log.error({ err: error }, 'reaper failed');
			}
			this.#scheduleReap();
		}, REAP_EVERY_MS);
	}

	#save(): Promise<void> {
		return this.#store.save({
			labs: () => this.#labs.values(),
			lastActivity: (labId) => this.lastActivity(labId),
			creating: () => this.#creating.entries(),
		});
	}
}
