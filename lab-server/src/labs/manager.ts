/**
 * Labs: one per learner, two nodes each. This module holds the server's labs and decides who
 * gets a lab, how long it runs, when it stops and when it goes, with one sibling per part:
 * creation.ts (a new lab), adoption.ts (labs taken back after a restart), running.ts (extend,
 * reset, halt), keeping.ts (stop, resume), reaping.ts (the reaper); docker/provision.ts does
 * the Docker work.
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
import { deprovisionLab } from '../docker/provision';
import { HttpError } from '../http/errors';
import type { Clock } from '../lib/clock';
import { newLab, type Lab, type LabFields } from './lab';
import { authorizeLab, cookieMaxAgeS } from './access';
import { LabActivity } from './activity';
import { adoptLabs } from './adoption';
import { LabCreation, type LabOwner } from './creation';
import { serverIdFor } from './labels';
import { resumeLab, stopLab, type KeepingContext } from './keeping';
import { watchLab, type LabWatch } from './live-state';
import { LabOperations } from './operations';
import { LabReaper } from './reaping';
import { extendLab, haltNode, requireRunning, resetNodes, type RunningContext } from './running';
import { roomOnHost, type RoomContext } from './room';
import { labStore } from './store';

export type { LabOwner } from './creation';

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
	/** Called when a lab has ended, after its teardown (its recordings go, or wait: recordings/). */
	onEnded?: (lab: Lab, reason: EndReason) => Promise<void>;
	/** Bytes the server keeps for a lab besides its nodes: a stopped lab's disk counts them. */
	keptBytes?: (labId: string) => Promise<number>;
	/**
	 * Whether the lab waits in a workshop's pool for a learner (workshops/ knows): such a lab
	 * has no terminal by design and must not be reaped as idle. Default: never.
	 */
	isPooled?: (labId: string) => boolean;
}

export class LabManager {
	#labs = new Map<string, Lab>();
	#creation: LabCreation;
	#reaper: LabReaper;
	#operations = new LabOperations();
	#watches = new Map<string, LabWatch>();
	#unregister = new Map<string, (why: 'ended' | 'stopped' | 'closing') => void>();
	/** Resumes under way, so that a second «Продолжить» waits for the first. */
	#resuming = new Map<string, Promise<Lab>>();
	#activity: LabActivity;
	#store: ReturnType<typeof labStore>;
	#deps: LabManagerDeps;
	#keeping: KeepingContext;
	#running: RunningContext;
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
		this.#creation = new LabCreation({
			...deps,
			serverId: this.#serverId,
			typing: this.#activity,
			room: this.#room,
			running: () => this.list().filter((lab) => lab.status !== 'stopped'),
			register: (fields) => this.#register(fields),
			save: () => this.#save(),
		});
		this.#running = {
			...deps,
			watch: (labId) => this.#watches.get(labId),
			plan: (labId, identity) => this.#creation.plan(labId, identity),
			save: () => this.#save(),
		};
		this.#reaper = new LabReaper({ ...deps, labs: this });
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
		const { adopted, removed } = await adoptLabs({
			...this.#deps,
			serverId: this.#serverId,
			saved: await this.#store.read(),
			register: (fields) => this.#register(fields),
			activity: this.#activity,
		});
		await this.#save();
		this.#reaper.start();
		this.#deps.log.info({ adopted, removed }, 'labs adopted');
		return { adopted, removed };
	}

	/**
	 * Creates a lab for a browser session; resolves once both nodes have booted. Labs still
	 * starting count against the session's cap and `MAX_LABS` as running ones do, so parallel
	 * requests cannot slip past either.
	 */
	create(owner: LabOwner): Promise<{ lab: Lab; token: string }> {
		return this.#operations.track(() => this.#creation.create(owner));
	}

	/** A pool's lab handed to a learner (warm-labs.ts); returns its new token (creation.ts). */
	claim(lab: Lab, owner: { sessionHash: string; ip: string | null }): Promise<string> {
		return this.#creation.claim(lab, owner);
	}

	/** 429 when the session or its address holds its share of labs already (creation.ts). */
	checkOwnerCaps(sessionHash: string, ip: string | null): void {
		this.#creation.checkOwnerCaps(sessionHash, ip);
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

	/** The lab, if `token` opens it: 404, 401 or 403 otherwise (access.ts). */
	authorize(labId: string, token: string | undefined): Lab {
		return authorizeLab(this.#labs.get(labId), token);
	}

	/** 409 `lab-stopped` unless the lab runs (running.ts). */
	requireRunning(lab: Lab): void {
		requireRunning(lab);
	}

	/** How long the lab's cookie should live, in seconds (access.ts). */
	cookieMaxAgeS(lab: Lab): number {
		return cookieMaxAgeS(lab, this.#deps.clock.now(), this.#deps.config.labKeepMs);
	}

	get(labId: string): Lab | undefined {
		return this.#labs.get(labId);
	}

	/** «Продлить»: the lab lives another TTL from now, up to its lifetime cap (running.ts). */
	async extend(lab: Lab): Promise<Lab> {
		await extendLab(this.#running, lab);
		return lab;
	}

	/**
	 * «Сбросить стенд»: the node (or both) back to the start of the course (running.ts); `by` says
	 * who asked, for the learner's page (an instructor's reset is announced there).
	 */
	async reset(lab: Lab, node: LabNode | undefined, by: ResetBy): Promise<Lab> {
		await resetNodes(this.#running, lab, node ? [node] : [...LAB_NODES], by);
		return lab;
	}

	/** Stops a node over a limit (node-limits.ts) until it is reset (running.ts). */
	async halt(lab: Lab, node: LabNode, event: Omit<NodeLimitEvent, 'at'>): Promise<void> {
		if (!this.#labs.has(lab.id) || lab.status !== 'running' || this.isBusy(lab.id)) return;
		await haltNode(this.#running, lab, node, event);
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
		await this.#deps.onEnded?.(lab, reason);
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

	/** Labs running or starting, against `MAX_LABS` (creation.ts). */
	get load(): number {
		return this.#creation.load;
	}

	/** One round of the reaper now (reaping.ts), for tests: the ids of the labs stopped or ended. */
	reap(): Promise<string[]> {
		return this.#reaper.reap();
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
		this.#reaper.stop();
		this.#activity.close();
		for (const labId of this.#labs.keys()) this.#deactivate(labId, 'closing');
		await this.#save();
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

	#save(): Promise<void> {
		return this.#store.save({
			labs: () => this.#labs.values(),
			lastActivity: (labId) => this.lastActivity(labId),
			creating: () => this.#creation.creating(),
		});
	}
}
