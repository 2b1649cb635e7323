/**
 * Labs: one per learner, two nodes each. This module decides who gets a lab, how long it lives
 * and when it ends; provision.ts does the Docker work.
 *
 * Data kept per lab, and where it survives a restart:
 * - in Docker labels (immutable): id, subnet index, SHA-256 of the token, SHA-256 of the owning
 *   browser session, creation time, workshop;
 * - in `STATE_DIR/labs.json` (mutable): `expiresAt` and `idleSince`;
 * - in memory only: live node state from the observers (rebuilt on adoption in a second).
 *
 * A lab ends at `expiresAt` (TTL, pushed by «Продлить» up to a lifetime cap) or when no terminal
 * has been attached for the idle timeout. The reaper runs on the injected clock.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock';
import type { Config } from '../config/config';
import { LABELS, listLabResources, usedSubnets } from '../docker/engine';
import { HttpError } from '../http/errors';
import { observeNode, type KeepalivedState, type NodeObserver, type NodeReport } from './observer';
import {
	LAB_NODES,
	deprovisionLab,
	provisionLab,
	resetLabNode,
	type LabNode,
	type LabPlan,
} from '../docker/provision';
import { firstFreeIndex, labAddresses, occupiedIndexes, type LabAddresses } from './subnets';

export interface NodeStatus {
	name: LabNode;
	ip: string;
	state: 'starting' | 'running' | 'paused' | 'stopped';
	keepalived: KeepalivedState;
	haproxy: string;
	hasVip: boolean;
}

export interface Lab {
	id: string;
	addresses: LabAddresses;
	tokenHash: string;
	ownerHash: string;
	workshop: string | null;
	createdAt: number;
	expiresAt: number;
	/** When the last terminal detached (or the lab was created): the idle timeout counts from it. */
	idleSince: number;
	containers: Record<LabNode, string>;
	nodes: Record<LabNode, NodeStatus>;
	/** Every change of the VIP holder seen since the lab started (or was adopted), oldest first. */
	vipHistory: VipChange[];
	/** Per-lab events: `node`, `vip`, `lab`, `ended`, `reset` (see http.ts for the SSE names). */
	events: EventEmitter;
}

export interface VipChange {
	holder: LabNode | null;
	at: string;
}

/** The lab as the API shows it (DESIGN.md: `POST /api/labs`, `GET /api/labs/:id`). */
export interface LabView {
	id: string;
	vip: string;
	subnet: string;
	nodes: { name: LabNode; ip: string; state: NodeStatus['state']; keepalived: KeepalivedState }[];
	expiresAt: string;
	vipHolder: LabNode | null;
}

interface StateFile {
	[labId: string]: { expiresAt: number; idleSince: number };
}

export interface LabManagerDeps {
	docker: Docker;
	config: Config;
	clock: Clock;
	log: Logger;
	image: string;
	/** Whether a terminal is attached to the lab right now (terminal.ts knows). */
	isAttached: (labId: string) => boolean;
	/** Called before a lab's or a node's containers go away, to let its terminals go. */
	onTeardown: (labId: string, node?: LabNode) => Promise<void>;
	/** Called when a lab is registered (created or adopted); the returned function on its end. */
	onRegister?: (lab: Lab) => () => void;
	/**
	 * Whether the lab waits in a workshop's pool for a learner (workshops.ts knows): such a lab
	 * has no terminal by design and must not be reaped as idle. Default: never.
	 */
	isPooled?: (labId: string) => boolean;
}

const REAP_EVERY_MS = 15_000;

export class LabManager {
	#labs = new Map<string, Lab>();
	#reserved = new Set<number>();
	#starting = 0;
	#observers = new Map<string, Map<LabNode, NodeObserver>>();
	#unregister = new Map<string, () => void>();
	#reapTimer: unknown = null;
	#activity = new Map<string, number>();
	#stateWrite: Promise<void> = Promise.resolve();
	#deps: LabManagerDeps;

	/** This server's id on its labs' labels: a hash of its state directory. */
	readonly #serverId: string;

	constructor(deps: LabManagerDeps) {
		this.#deps = deps;
		this.#serverId = serverIdFor(deps.config.stateDir);
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
		const saved = await this.#readState();
		let adopted = 0;
		let removed = 0;
		for (const [labId, found] of await listLabResources(docker)) {
			const labels = found.containers[0]?.labels ?? found.labels;
			if ((labels[LABELS.server] ?? found.labels[LABELS.server]) !== this.#serverId) continue;
			const index = Number(labels[LABELS.index]);
			const createdAt = Date.parse(labels[LABELS.createdAt] ?? '');
			const containers = Object.fromEntries(found.containers.map((c) => [c.role, c]));
			const complete =
				found.networkId !== null &&
				// A node frozen by the freeze-node drill is paused, not gone: `restore` thaws it.
				LAB_NODES.every((node) => ['running', 'paused'].includes(containers[node]?.state ?? '')) &&
				Number.isInteger(index) &&
				Number.isFinite(createdAt) &&
				/^[0-9a-f]{64}$/.test(labels[LABELS.tokenHash] ?? '');
			const state = saved[labId] ?? {
				expiresAt: createdAt + config.labTtlMs,
				idleSince: clock.now(),
			};
			if (!complete || state.expiresAt <= clock.now()) {
				log.info({ labId, complete }, 'removing orphaned or expired lab');
				await deprovisionLab(docker, labId);
				removed++;
				continue;
			}
			const addresses = labAddresses(config.labSubnetPool, index);
			this.#register({
				id: labId,
				addresses,
				tokenHash: labels[LABELS.tokenHash]!,
				ownerHash: labels[LABELS.owner] ?? '',
				workshop: labels[LABELS.workshop] || null,
				createdAt,
				expiresAt: state.expiresAt,
				// A restart is not the learner's idleness: their terminals reconnect in seconds.
				idleSince: Math.max(state.idleSince, clock.now()),
				containers: { hap1: containers.hap1!.id, hap2: containers.hap2!.id },
			});
			adopted++;
		}
		await this.#writeState();
		this.#scheduleReap();
		log.info({ adopted, removed }, 'labs adopted');
		return { adopted, removed };
	}

	/** Creates a lab for a browser session; resolves once both nodes have booted. */
	async create(owner: {
		sessionHash: string;
		workshop?: string;
	}): Promise<{ lab: Lab; token: string }> {
		const { config, clock, docker, log } = this.#deps;
		if (this.#labs.size + this.#starting >= config.maxLabs) {
			throw new HttpError(
				503,
				'no-capacity',
				'Свободных стендов сейчас нет: все места заняты. Попробуйте через несколько минут.',
			);
		}
		const mine = this.list().filter((lab) => lab.ownerHash === owner.sessionHash).length;
		if (!owner.workshop && mine >= config.maxLabsPerClient) {
			throw new HttpError(
				429,
				'too-many-labs',
				`У вас уже запущено стендов: ${mine}. Завершите один из них, прежде чем запускать новый.`,
			);
		}
		this.#starting++;
		let index: number | null = null;
		try {
			const foreign = occupiedIndexes(config.labSubnetPool, await usedSubnets(docker));
			const used = new Set([
				...foreign,
				...this.#reserved,
				...this.list().map((l) => l.addresses.index),
			]);
			index = firstFreeIndex(config.labSubnetPool, used);
			if (index === null) {
				throw new HttpError(
					503,
					'no-capacity',
					'Свободных адресов для нового стенда нет. Попробуйте позже.',
				);
			}
			this.#reserved.add(index);
			const id = newLabId();
			const token = randomBytes(32).toString('base64url');
			const createdAt = clock.now();
			const plan = this.#plan(id, index, {
				[LABELS.index]: String(index),
				[LABELS.tokenHash]: sha256(token),
				[LABELS.owner]: owner.sessionHash,
				[LABELS.createdAt]: new Date(createdAt).toISOString(),
				[LABELS.server]: this.#serverId,
				...(owner.workshop ? { [LABELS.workshop]: owner.workshop } : {}),
			});
			const provisioned = await provisionLab(docker, plan).catch((error: unknown) => {
				log.error({ labId: id, err: error }, 'lab start failed');
				throw new HttpError(
					500,
					'lab-start-failed',
					'Не удалось запустить стенд. Попробуйте ещё раз через минуту.',
					{
						cause: error,
					},
				);
			});
			const lab = this.#register({
				id,
				addresses: plan.addresses,
				tokenHash: sha256(token),
				ownerHash: owner.sessionHash,
				workshop: owner.workshop ?? null,
				createdAt,
				expiresAt: createdAt + config.labTtlMs,
				idleSince: createdAt,
				containers: provisioned.containers,
			});
			await this.#writeState();
			log.info({ labId: id, subnet: plan.addresses.subnet, ms: provisioned.bootMs }, 'lab ready');
			return { lab, token };
		} finally {
			this.#starting--;
			if (index !== null) this.#reserved.delete(index);
		}
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
		const given = Buffer.from(sha256(token), 'hex');
		if (!timingSafeEqual(given, Buffer.from(lab.tokenHash, 'hex'))) {
			throw new HttpError(403, 'forbidden', 'Этот ключ не открывает этот стенд.');
		}
		return lab;
	}

	get(labId: string): Lab | undefined {
		return this.#labs.get(labId);
	}

	view(lab: Lab): LabView {
		return {
			id: lab.id,
			vip: lab.addresses.vip,
			subnet: lab.addresses.subnet,
			nodes: LAB_NODES.map((name) => {
				const { ip, state, keepalived } = lab.nodes[name];
				return { name, ip, state, keepalived };
			}),
			expiresAt: new Date(lab.expiresAt).toISOString(),
			vipHolder: vipHolder(lab),
		};
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
		await this.#writeState();
		return lab;
	}

	/** «Сбросить стенд»: the node (or both) back to the state at the start of the course. */
	async reset(lab: Lab, node?: LabNode): Promise<Lab> {
		const { docker, log } = this.#deps;
		const nodes = node ? [node] : [...LAB_NODES];
		const plan = this.#plan(lab.id, lab.addresses.index, {
			[LABELS.index]: String(lab.addresses.index),
			[LABELS.tokenHash]: lab.tokenHash,
			[LABELS.owner]: lab.ownerHash,
			[LABELS.createdAt]: new Date(lab.createdAt).toISOString(),
			[LABELS.server]: this.#serverId,
			...(lab.workshop ? { [LABELS.workshop]: lab.workshop } : {}),
		});
		const started = performance.now();
		for (const name of nodes) {
			await this.#deps.onTeardown(lab.id, name);
			lab.events.emit('reset', { node: name });
			this.#stopObserver(lab.id, name);
			lab.nodes[name] = initialStatus(name, lab.addresses[name]);
		}
		await Promise.all(
			nodes.map(async (name) => {
				lab.containers[name] = await resetLabNode(docker, plan, name);
				this.#observe(lab, name);
			}),
		);
		log.info({ labId: lab.id, nodes, ms: Math.round(performance.now() - started) }, 'lab reset');
		return lab;
	}

	/** Ends a lab: terminals closed, containers and network removed, state forgotten. */
	async end(lab: Lab, reason: 'deleted' | 'expired' | 'idle' | 'workshop-ended'): Promise<void> {
		if (!this.#labs.has(lab.id)) return;
		this.#labs.delete(lab.id);
		this.#activity.delete(lab.id);
		for (const observer of this.#observers.get(lab.id)?.values() ?? []) observer.stop();
		this.#observers.delete(lab.id);
		this.#unregister.get(lab.id)?.();
		this.#unregister.delete(lab.id);
		lab.events.emit('ended', { reason });
		await this.#deps.onTeardown(lab.id);
		await deprovisionLab(this.#deps.docker, lab.id);
		lab.events.removeAllListeners();
		await this.#writeState();
		this.#deps.log.info({ labId: lab.id, reason }, 'lab ended');
	}

	/** A terminal detached: if it was the last one, the idle timeout starts counting now. */
	touch(lab: Lab): void {
		lab.idleSince = this.#deps.clock.now();
		void this.#writeState();
	}

	/** A learner typed into one of the lab's terminals (the workshop dashboard shows when). */
	noteActivity(labId: string): void {
		if (this.#labs.has(labId)) this.#activity.set(labId, this.#deps.clock.now());
	}

	/** When a learner last typed into the lab, since this server started; null if never. */
	lastActivity(labId: string): number | null {
		return this.#activity.get(labId) ?? null;
	}

	/** Labs running or starting, against `MAX_LABS`. */
	get load(): number {
		return this.#labs.size + this.#starting;
	}

	/** Ends what is expired or idle. Exposed for tests; normally run by the reaper timer. */
	async reap(): Promise<string[]> {
		const { clock, config } = this.#deps;
		const now = clock.now();
		const ended: string[] = [];
		for (const lab of this.list()) {
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

	/** Server stopping: the reaper and observers stop; labs keep running for the next server. */
	async close(): Promise<void> {
		if (this.#reapTimer !== null) this.#deps.clock.clearTimeout(this.#reapTimer);
		this.#reapTimer = null;
		for (const observers of this.#observers.values()) for (const o of observers.values()) o.stop();
		this.#observers.clear();
		for (const unregister of this.#unregister.values()) unregister();
		this.#unregister.clear();
		await this.#writeState();
	}

	#plan(labId: string, index: number, labels: Record<string, string>): LabPlan {
		const { config, image } = this.#deps;
		return {
			labId,
			addresses: labAddresses(config.labSubnetPool, index),
			image,
			limits: {
				memoryMb: config.nodeMemoryMb,
				pidsLimit: config.nodePidsLimit,
				cpuShares: config.nodeCpuShares,
			},
			labels,
		};
	}

	#register(fields: Omit<Lab, 'nodes' | 'events' | 'vipHistory'>): Lab {
		const lab: Lab = {
			...fields,
			nodes: {
				hap1: initialStatus('hap1', fields.addresses.hap1),
				hap2: initialStatus('hap2', fields.addresses.hap2),
			},
			vipHistory: [],
			events: new EventEmitter(),
		};
		// Every open SSE stream and terminal of the lab listens here.
		lab.events.setMaxListeners(100);
		this.#labs.set(lab.id, lab);
		for (const node of LAB_NODES) this.#observe(lab, node);
		const unregister = this.#deps.onRegister?.(lab);
		if (unregister) this.#unregister.set(lab.id, unregister);
		return lab;
	}

	#observe(lab: Lab, node: LabNode): void {
		const { docker, clock, log } = this.#deps;
		const observer = observeNode(
			docker,
			lab.containers[node],
			(report) => this.#onReport(lab, node, report),
			{
				clock,
				log: log.child({ labId: lab.id, node }),
			},
		);
		const observers = this.#observers.get(lab.id) ?? new Map<LabNode, NodeObserver>();
		observers.get(node)?.stop();
		observers.set(node, observer);
		this.#observers.set(lab.id, observers);
	}

	#stopObserver(labId: string, node: LabNode): void {
		this.#observers.get(labId)?.get(node)?.stop();
		this.#observers.get(labId)?.delete(node);
	}

	#onReport(lab: Lab, node: LabNode, report: NodeReport): void {
		const before = vipHolder(lab);
		const hasVip = report.addresses.some((a) => a.split('/')[0] === lab.addresses.vip);
		const previous = lab.nodes[node];
		lab.nodes[node] = {
			...previous,
			state: 'running',
			keepalived: report.keepalived,
			haproxy: report.haproxy,
			hasVip,
		};
		const at = new Date(this.#deps.clock.now()).toISOString();
		lab.events.emit('node', {
			node,
			keepalived: report.keepalived,
			haproxy: report.haproxy,
			hasVip,
			at,
		});
		const after = vipHolder(lab);
		if (after !== before) {
			lab.vipHistory.push({ holder: after, at });
			if (lab.vipHistory.length > 1000) lab.vipHistory.shift();
			lab.events.emit('vip', { holder: after, at });
		}
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

	async #readState(): Promise<StateFile> {
		try {
			return JSON.parse(await readFile(this.#statePath(), 'utf8')) as StateFile;
		} catch {
			return {};
		}
	}

	/** Writes are serialized and atomic (write + rename), so a crash never leaves half a file. */
	#writeState(): Promise<void> {
		this.#stateWrite = this.#stateWrite
			.then(async () => {
				const state: StateFile = {};
				for (const lab of this.#labs.values())
					state[lab.id] = { expiresAt: lab.expiresAt, idleSince: lab.idleSince };
				const file = this.#statePath();
				await mkdir(path.dirname(file), { recursive: true });
				await writeFile(`${file}.tmp`, JSON.stringify(state));
				await rename(`${file}.tmp`, file);
			})
			.catch((error: unknown) => this.#deps.log.error({ err: error }, 'could not save lab state'));
		return this.#stateWrite;
	}

	#statePath(): string {
		return path.resolve(this.#deps.config.stateDir, 'labs.json');
	}
}

/** The node that holds the VIP, or null when none does — or both do (split brain). */
export function vipHolder(lab: Lab): LabNode | null {
	const holders = LAB_NODES.filter((node) => lab.nodes[node].hasVip);
	return holders.length === 1 ? holders[0]! : null;
}

/** The id a lab server with this state directory puts on its labs (`LABELS.server`). */
export function serverIdFor(stateDir: string): string {
	return sha256(path.resolve(stateDir)).slice(0, 16);
}

export function sha256(text: string): string {
	return createHash('sha256').update(text).digest('hex');
}

/** Ten characters from [a-z0-9]: short enough for the lab's bridge name (`klab-<id>`, 15 chars). */
function newLabId(): string {
	const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
	return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** A node that has just booted (or been adopted): the observer fills in the rest in a moment. */
function initialStatus(name: LabNode, ip: string): NodeStatus {
	return { name, ip, state: 'running', keepalived: 'absent', haproxy: 'unknown', hasVip: false };
}
