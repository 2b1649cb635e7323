/**
 * Labs: one per learner, two nodes each. This module decides who gets a lab, how long it runs,
 * when it stops and when it goes; docker/provision.ts does the Docker work.
 *
 * Data kept per lab, and where it survives a restart:
 * - in Docker labels (immutable, labels.ts): id, subnet index, SHA-256 of the token, SHA-256 of
 *   the owning browser session, creation time, workshop;
 * - in `STATE_DIR/labs.json` (mutable, store.ts): expiry, idleness, activity, status, keep time;
 * - in memory only: live node state from the observers (live-state.ts; rebuilt on adoption in a
 *   second).
 *
 * A running lab stops at `expiresAt` (TTL, pushed by «Продлить» up to a cap on its running time)
 * or when no terminal has been attached for the idle timeout: its nodes stop with their files,
 * and «Продолжить» (`resume`) starts them again, until `LAB_KEEP_DAYS` or the disk budget for
 * stopped labs ends it (lifetime.ts). The reaper runs on the injected clock.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import {
	LAB_NODES,
	type EndReason,
	type LabNode,
	type NodeLimitEvent,
	type ResetBy,
	type StopReason,
} from '../api';
import type { Config } from '../config/config';
import { listLabResources } from '../docker/lab-network';
import type { BootPriority } from '../docker/nodes';
import {
	deprovisionLab,
	provisionLab,
	resetLabNode,
	stopLabNodes,
	type LabPlan,
} from '../docker/provision';
import { HttpError } from '../http/errors';
import type { Clock } from '../lib/clock';
import { sameDigest, sha256 } from '../lib/hash';
import { newId, newToken } from '../lib/ids';
import { initialStatus, newLab, type Lab, type LabFields } from './lab';
import { LabActivity } from './activity';
import { adoption } from './adoption';
import { labLabels, serverIdFor, type LabIdentity } from './labels';
import { resumeLab, stopLab, type KeepingContext } from './keeping';
import { dueActions } from './lifetime';
import { watchLab, type LabWatch } from './live-state';
import { LabOperations } from './operations';
import { LabOwnership } from './ownership';
import { nodeLimits } from './placement';
import { freeSubnet, roomOnHost, type RoomContext } from './room';
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
	 * Called before a lab's nodes stop with their files kept: a drill under way is undone, the
	 * terminals' scrollback saved.
	 */
	onStop?: (lab: Lab) => Promise<void>;
	/**
	 * Called when a lab runs (created, adopted running, resumed); the returned function when it
	 * stops running: it ended (`ended`), stopped (`stopped`), or the server stops (`closing`).
	 */
	onRegister?: (lab: Lab) => (why: 'ended' | 'stopped' | 'closing') => void;
	/**
	 * Whether the lab waits in a workshop's pool for a learner (workshops/ knows): such a lab
	 * has no terminal by design and must not be reaped as idle. Default: never.
	 */
	isPooled?: (labId: string) => boolean;
}

/** Whom a new lab is for. */
export interface LabOwner {
	sessionHash: string;
	/** The client's address, for `MAX_LABS_PER_IP`; null when unknown. */
	ip?: string | null;
	workshop?: string;
	/** Booted for a pool (warm-pool.ts): no learner's caps apply. */
	pooled?: boolean;
}

const REAP_EVERY_MS = 15_000;

export class LabManager {
	#labs = new Map<string, Lab>();
	#reserved = new Set<number>();
	/** Labs being created: id → creation time (saved, so a killed server's half labs go). */
	#creating = new Map<string, number>();
	#owners: LabOwnership;
	#operations = new LabOperations();
	#watches = new Map<string, LabWatch>();
	#unregister = new Map<string, (why: 'ended' | 'stopped' | 'closing') => void>();
	/** Resumes under way, so that a second «Продолжить» waits for the first. */
	#resuming = new Map<string, Promise<Lab>>();
	#reapTimer: unknown = null;
	#activity: LabActivity;
	#store: ReturnType<typeof labStore>;
	#deps: LabManagerDeps;
	#keeping: KeepingContext;
	#room: RoomContext;

	/** This server's id on its labs' labels: a hash of its state directory. */
	readonly #serverId: string;

	constructor(deps: LabManagerDeps) {
		this.#deps = deps;
		this.#serverId = serverIdFor(deps.config.stateDir);
		this.#store = labStore(deps.config.stateDir, deps.log);
		this.#activity = new LabActivity(deps.clock, () => this.#save());
		this.#keeping = {
			...deps,
			activate: (lab) => this.#activate(lab),
			deactivate: (lab) => this.#deactivate(lab.id, 'stopped'),
			save: () => this.#save(),
		};
		this.#room = {
			docker: deps.docker,
			pool: deps.config.labSubnetPool,
			labs: () => this.list(),
			isBusy: (labId) => this.isBusy(labId),
			evict: (lab) => this.end(lab, 'evicted'),
			...(deps.hostProblems ? { hostProblems: deps.hostProblems } : {}),
		};
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
	 * Finds the labs a previous server left (by their Docker labels) and takes them back, running
	 * or stopped (adoption.ts); removes whatever is incomplete, expired or unlabelled. Starts the
	 * reaper.
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
			const lab = this.#register(next.fields);
			if (next.stopNodes) await stopLabNodes(docker, labId, lab.containers);
			this.#activity.restore(labId, saved[labId]?.lastActivity ?? null);
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
	create(owner: LabOwner): Promise<{ lab: Lab; token: string }> {
		return this.#operations.track(() => this.#create(owner));
	}

	async #create(owner: LabOwner): Promise<{ lab: Lab; token: string }> {
		const { config, clock, docker, log } = this.#deps;
		if (this.load >= config.maxLabs) {
			throw new HttpError(
				503,
				'no-capacity',
				'Свободных стендов сейчас нет: все места заняты. Попробуйте через несколько минут.',
			);
		}
		const ip = owner.ip ?? null;
		if (!owner.pooled) this.checkOwnerCaps(owner.sessionHash, ip);
		// Counted as starting before the first await: parallel requests see each other.
		const started = this.#owners.starts(owner.sessionHash, ip);
		let index: number | null = null;
		let id: string | null = null;
		try {
			await roomOnHost(this.#room);
			index = await freeSubnet(this.#room, this.#reserved);
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
			const plan = this.#plan(id, identity, owner.pooled ? 'background' : 'now');
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

	/**
	 * A pool's lab handed to a learner (warm-labs.ts): theirs from now on, opened by a token made
	 * now (nobody held one for it before), living a TTL from now. Returns the token.
	 */
	async claim(lab: Lab, owner: { sessionHash: string; ip: string | null }): Promise<string> {
		const { clock, config } = this.#deps;
		const token = newToken();
		const now = clock.now();
		Object.assign(lab, {
			tokenHash: sha256(token),
			ownerHash: owner.sessionHash,
			clientIp: owner.ip,
			startedAt: now,
			expiresAt: now + config.labTtlMs,
			idleSince: now,
		});
		lab.events.emit('lab', { expiresAt: new Date(lab.expiresAt).toISOString() });
		await this.#save();
		return token;
	}

	/** 429 when the session, or (with `MAX_LABS_PER_IP`) the address, holds its share already. */
	checkOwnerCaps(sessionHash: string, ip: string | null): void {
		this.#owners.check(this.#running(), sessionHash, ip);
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

	/** 409 `lab-stopped` unless the lab runs (its nodes are up). */
	requireRunning(lab: Lab): void {
		if (lab.status === 'running') return;
		throw new HttpError(
			409,
			'lab-stopped',
			lab.status === 'starting'
				? 'Стенд запускается: подождите несколько секунд.'
				: 'Стенд остановлен: нажмите «Продолжить», чтобы запустить его снова.',
		);
	}

	/**
	 * How long the lab's cookie should live: as long as the lab may — running, then kept stopped
	 * for `LAB_KEEP_DAYS` — and an hour more (a lab extended later gets a fresh cookie on its GET).
	 */
	cookieMaxAgeS(lab: Lab): number {
		const { clock, config } = this.#deps;
		const until = lab.keptUntil ?? lab.expiresAt + config.labKeepMs;
		return Math.max(0, Math.round((until - clock.now()) / 1000)) + 3600;
	}

	get(labId: string): Lab | undefined {
		return this.#labs.get(labId);
	}

	/** «Продлить»: the lab lives another TTL from now, up to its lifetime cap. */
	async extend(lab: Lab): Promise<Lab> {
		this.requireRunning(lab);
		const { config, clock } = this.#deps;
		const cap = lab.startedAt + config.labMaxLifetimeMs;
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

	/**
	 * «Сбросить стенд»: the node (or both) back to the state at the start of the course; `by` says
	 * who asked, for the learner's page (an instructor's reset is announced there).
	 */
	async reset(lab: Lab, node: LabNode | undefined, by: ResetBy): Promise<Lab> {
		this.requireRunning(lab);
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
			lab.events.emit('reset', { node: name, by });
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
		if (!this.#labs.has(lab.id) || lab.status !== 'running' || this.isBusy(lab.id)) return;
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
		this.#activity.forget(lab.id);
		this.#deactivate(lab.id, 'ended');
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
		if (this.#labs.has(labId)) this.#activity.note(labId);
	}

	/** When a learner last typed into the lab; null if never. */
	lastActivity(labId: string): number | null {
		return this.#activity.last(labId);
	}

	/** Labs running or starting (stopped ones take disk only), against `MAX_LABS`. */
	get load(): number {
		return this.#running().length + this.#owners.starting;
	}

	/**
	 * Stops what is idle or past its time, ends what was kept long enough or is over the disk
	 * budget (lifetime.ts). Exposed for tests; normally run by the reaper timer. Returns the ids
	 * of the labs stopped or ended.
	 */
	async reap(): Promise<string[]> {
		const { clock, config } = this.#deps;
		const actions = dueActions(this.list(), {
			now: clock.now(),
			idleMs: config.labIdleMs,
			keepMs: config.labKeepMs,
			keepDiskBytes: config.labKeepDiskMb * 1024 * 1024,
			isAttached: this.#deps.isAttached,
			isPooled: (labId) => this.#deps.isPooled?.(labId) ?? false,
			isBusy: (labId) => this.isBusy(labId),
		});
		const acted: string[] = [];
		for (const next of actions) {
			// Planned before the awaits of the labs before it: a lab taken from a pool or extended
			// since then is not past its time any more.
			if (
				next.reason === 'expired' &&
				next.lab.status === 'running' &&
				next.lab.expiresAt > clock.now()
			)
				continue;
			acted.push(next.lab.id);
			try {
				if (next.action === 'end') await this.end(next.lab, next.reason);
				else await this.exclusive(next.lab, 'остановка', () => this.stop(next.lab, next.reason));
			} catch (error) {
				// Busy since the plan was made, or Docker failed: the next round tries again.
				this.#deps.log.warn({ labId: next.lab.id, err: error }, `could not ${next.action} lab`);
			}
		}
		return acted;
	}

	/**
	 * Stops a running lab with its files kept until `LAB_KEEP_DAYS` from now (keeping.ts): a
	 * drill under way is undone, terminals are closed (4018) with their scrollback saved.
	 */
	async stop(lab: Lab, reason: StopReason): Promise<void> {
		if (lab.status !== 'running' || !this.#labs.has(lab.id)) return;
		await stopLab(this.#keeping, lab, reason);
	}

	/**
	 * «Продолжить»: starts a stopped lab's nodes again, with their files, and resolves once they
	 * have booted; a second call meanwhile waits for the first. It counts against `MAX_LABS` and
	 * the host's health as a new lab does.
	 */
	resume(lab: Lab): Promise<Lab> {
		if (lab.status === 'running') return Promise.resolve(lab);
		let resuming = this.#resuming.get(lab.id);
		if (!resuming) {
			resuming = this.exclusive(lab, 'запуск', async () => {
				if (lab.status !== 'stopped') return lab;
				if (this.load >= this.#deps.config.maxLabs) {
					throw new HttpError(
						503,
						'no-capacity',
						'Свободных мест для запуска сейчас нет: все заняты. Попробуйте через несколько минут.',
						{ headers: { 'Retry-After': '10' } },
					);
				}
				await roomOnHost(this.#room);
				await resumeLab(this.#keeping, lab);
				return lab;
			}).finally(() => this.#resuming.delete(lab.id));
			this.#resuming.set(lab.id, resuming);
		}
		return resuming;
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
		this.#activity.close();
		for (const labId of this.#labs.keys()) this.#deactivate(labId, 'closing');
		await this.#save();
	}

	/** `boot`: a learner waits for the nodes (`now`), or they are for a warm pool. */
	#plan(labId: string, identity: LabIdentity, boot: BootPriority = 'now'): LabPlan {
		const { config, image } = this.#deps;
		return {
			labId,
			addresses: labAddresses(config.labSubnetPool, identity.index),
			image,
			limits: nodeLimits(config, this.#deps.storageQuota()),
			labels: labLabels(identity, this.#serverId),
			boot,
		};
	}

	#register(fields: LabFields): Lab {
		const lab = newLab(fields);
		this.#labs.set(lab.id, lab);
		if (lab.status === 'running') this.#activate(lab);
		return lab;
	}

	/** A lab runs: its nodes are observed, and the rest of the server is told (`onRegister`). */
	#activate(lab: Lab): void {
		const { docker, clock, log } = this.#deps;
		this.#watches.set(lab.id, watchLab(lab, { docker, clock, log }));
		const unregister = this.#deps.onRegister?.(lab);
		if (unregister) this.#unregister.set(lab.id, unregister);
	}

	#deactivate(labId: string, why: 'ended' | 'stopped' | 'closing'): void {
		this.#watches.get(labId)?.stop();
		this.#watches.delete(labId);
		this.#unregister.get(labId)?.(why);
		this.#unregister.delete(labId);
	}

	#running(): Lab[] {
		return this.list().filter((lab) => lab.status !== 'stopped');
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
