/**
 * Workshops: an instructor opens one for a class; learners join with a short code and get a lab
 * at once, because the workshop keeps a pool of labs already booted for them (pool.ts; the
 * refill is labs/warm-pool.ts's).
 *
 * Lifecycle:
 * - joining (joining.ts) hands a waiting lab over: no container starts on join;
 * - waiting labs are never reaped as idle (`isPooled`); they still end at their TTL and are
 *   replaced;
 * - the dashboard (dashboard.ts) reads what is already known, and live.ts streams what changes
 *   in it (joins, leaves, the pool and the end are signalled from here);
 * - access (access.ts) is by the workshop's instructor token, the server's secret or a sign-in
 *   with it;
 * - kept in memory and in `STATE_DIR/workshops.json` (store.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { WorkshopShard } from '../api/cluster';
import {
	INSTRUCTOR_PAGE,
	type CreatedWorkshop,
	type WorkshopSummary,
	type WorkshopView,
} from '../api';
import type { CheckWatcher } from '../checks/watcher';
import type { Config } from '../config/config';
import { HttpError } from '../http/errors';
import type { Lab } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import type { WarmPool, WarmPools } from '../labs/warm-pool';
import type { Clock } from '../lib/clock';
import { sha256 } from '../lib/hash';
import { newId, newToken } from '../lib/ids';
import { workshopAccess, type WorkshopAccess } from './access';
import type { InstructorSessions } from './instructor-sessions';
import { Dashboard } from './dashboard';
import { HelpDesk } from './help-desk';
import { WorkshopJoins } from './joining';
import { WorkshopSignals, watchWorkshop, type WorkshopSend, type WorkshopWatch } from './live';
import { workshopPool } from './pool';
import { workshopStore } from './store';
import { DEFAULT_TITLE, newCode, type Workshop } from './workshop';

export type { Workshop } from './workshop';

/** How often ended and expired workshops are looked for. */
const COLLECT_EVERY_MS = 10 * 60_000;

export interface WorkshopManagerDeps {
	labs: LabManager;
	config: Config;
	clock: Clock;
	log: Logger;
	/** The lab's check watcher (checks/watcher.ts), to seed results of labs adopted after a restart. */
	checks: (labId: string) => CheckWatcher | undefined;
	/** The refill of every pool (labs/warm-pool.ts); each workshop is one (`pools()`). */
	pools: Pick<WarmPools, 'take' | 'refill'>;
	/** The instructor's sign-in and the guard on the secret (instructor-sessions.ts). */
	sessions: InstructorSessions;
	/** A workshop is over (ended, or collected): its learners' recordings go (recordings/). */
	onGone?: (workshop: Workshop) => Promise<void>;
	/** On an agent: the workshop the hub authorized the instructor for (access.ts). */
	asserted?: (req: IncomingMessage) => string | null;
}

export class WorkshopManager {
	#workshops = new Map<string, Workshop>();
	#deps: WorkshopManagerDeps;
	#store: ReturnType<typeof workshopStore>;
	/** Who may create, list and run workshops, and watch their learners' terminals (access.ts). */
	readonly access: WorkshopAccess;
	/** Raised hands and the instructor's consented takeovers (help-desk.ts). */
	readonly help: HelpDesk;
	#dashboard: Dashboard;
	/** Joins, leaves, pool changes and ends, for the live dashboards (live.ts). */
	#signals = new WorkshopSignals();
	#pools: Pick<WarmPools, 'take' | 'refill'>;
	#joins: WorkshopJoins;
	#collectTimer: unknown = null;

	constructor(deps: WorkshopManagerDeps) {
		this.#deps = deps;
		this.#store = workshopStore(deps.config.stateDir, deps.log);
		this.access = workshopAccess({
			sessions: deps.sessions,
			workshop: (id) => this.#workshops.get(id),
			lab: (id) => deps.labs.get(id),
			learnerWorkshop: (labId) => this.#learnerWorkshop(labId),
			...(deps.asserted ? { asserted: deps.asserted } : {}),
		});
		this.#dashboard = new Dashboard(deps.labs, deps.config);
		this.help = new HelpDesk({
			clock: deps.clock,
			askMs: deps.config.takeoverAskMs,
			unwatchedMs: deps.config.takeoverUnwatchedMs,
			log: deps.log,
		});
		this.#pools = deps.pools;
		this.#joins = new WorkshopJoins({
			...deps,
			workshops: () => this.#workshops.values(),
			poolOf: (workshop) => this.#poolOf(workshop),
			save: () => this.#save(),
		});
	}

	/** Each open workshop's pool of labs booted for its learners (refilled by labs/warm-pool.ts). */
	pools(): WarmPool[] {
		return [...this.#workshops.values()].map((workshop) => this.#poolOf(workshop));
	}

	/** Whether the lab waits in a pool for a learner (the reaper must not end it as idle). */
	isPooled(labId: string): boolean {
		for (const workshop of this.#workshops.values()) if (workshop.ready.has(labId)) return true;
		return false;
	}

	/** `POST /api/workshops`: the caller must hold the secret (`access.authorizeSecretHolder`). */
	create(input: { title?: string; pool: number; seats?: number }): CreatedWorkshop {
		const id = newId();
		const instructorToken = newToken();
		const workshop: Workshop = {
			id,
			code: newCode(new Set([...this.#workshops.values()].map((w) => w.code))),
			title: input.title ?? DEFAULT_TITLE,
			seats: input.seats ?? input.pool,
			pool: input.pool,
			createdAt: this.#deps.clock.now(),
			instructorTokenHash: sha256(instructorToken),
			learners: [],
			ready: new Map(),
			starting: 0,
			ended: false,
		};
		this.#workshops.set(id, workshop);
		void this.#save();
		this.#deps.log.info(
			{ workshopId: id, pool: workshop.pool, seats: workshop.seats },
			'workshop created',
		);
		this.#pools.refill();
		return {
			id,
			code: workshop.code,
			title: workshop.title,
			instructorToken,
			instructorUrl: `${INSTRUCTOR_PAGE}#${id}.${instructorToken}`,
		};
	}

	/**
	 * On an agent, `PUT /api/agent/workshops/:id`: this engine's share of a workshop the hub
	 * owns, under the hub's id, code and instructor token (README «Workshops across agents»); its pool
	 * refills here like any workshop's. Again for a known id: its pool share and seats change.
	 */
	shard(id: string, input: WorkshopShard): void {
		const known = this.#workshops.get(id);
		if (known) {
			Object.assign(known, { pool: input.pool, seats: input.seats });
		} else {
			this.#workshops.set(id, {
				id,
				...input,
				learners: [],
				ready: new Map(),
				starting: 0,
				ended: false,
			});
			this.#deps.log.info({ workshopId: id, pool: input.pool }, 'workshop shard created');
		}
		void this.#save();
		this.#pools.refill();
	}

	/** `POST /api/workshops/:code/join`: a lab from the pool, or this session's own (joining.ts). */
	join(
		code: string,
		name: string,
		sessionHash: string,
	): { lab: Lab; token: string; again: boolean } {
		const joined = this.#joins.join(code, name, sessionHash);
		if (joined.lab.workshop) this.#signals.changed(joined.lab.workshop);
		return joined;
	}

	/** `GET /api/workshops`: every open workshop, the newest first. */
	list(): WorkshopSummary[] {
		return [...this.#workshops.values()]
			.sort((a, b) => b.createdAt - a.createdAt)
			.map((workshop) => this.#dashboard.summary(workshop));
	}

	/** `GET /api/workshops/:id`: who is where, from what is already known (nothing is run). */
	view(workshop: Workshop): WorkshopView {
		return this.#dashboard.view(workshop);
	}

	/**
	 * `GET /api/workshops/:id/events`: the view now, then what changes in it, until the workshop
	 * ends or `close()` (live.ts).
	 */
	watch(workshop: Workshop, send: WorkshopSend): WorkshopWatch {
		return watchWorkshop(
			{
				id: workshop.id,
				view: () => this.#dashboard.view(workshop),
				labIds: () => [...workshop.learners.map((l) => l.labId), ...workshop.ready.keys()],
				lab: (labId) => this.#deps.labs.get(labId),
				signals: this.#signals,
				clock: this.#deps.clock,
			},
			send,
		);
	}

	/** A learner's lab in this workshop (for the instructor's «Сбросить»), or 404. */
	learnerLab(workshop: Workshop, labId: string): Lab {
		const lab = workshop.learners.some((l) => l.labId === labId)
			? this.#deps.labs.get(labId)
			: undefined;
		if (!lab) {
			throw new HttpError(
				404,
				'lab-not-found',
				'Стенда слушателя с таким адресом на этом занятии нет: возможно, он уже завершён.',
			);
		}
		return lab;
	}

	/** `POST /api/workshops/:id/extend`: every lab of the workshop, as far as its cap allows. */
	async extend(workshop: Workshop): Promise<{ extended: number }> {
		let extended = 0;
		const { labs } = this.#deps;
		for (const lab of this.#labsOf(workshop)) {
			try {
				await labs.exclusive(lab, 'продление', () => labs.extend(lab));
				extended++;
			} catch (error) {
				// At its lifetime cap already, or busy with a reset: the others still get extended.
				const skipped = ['extend-limit', 'lab-busy'];
				if (!(error instanceof HttpError && skipped.includes(error.code))) throw error;
			}
		}
		return { extended };
	}

	/**
	 * `DELETE /api/workshops/:id/labs/:labId`: the instructor takes a learner off the workshop —
	 * their lab ends and their seat is free again (a script that took seats, a learner who left).
	 */
	async removeLearner(workshop: Workshop, labId: string): Promise<void> {
		const lab = this.learnerLab(workshop, labId);
		await this.#deps.labs.exclusive(lab, 'завершение', () => this.#deps.labs.end(lab, 'deleted'));
		this.#forgetLearner(workshop, labId);
	}

	/** `DELETE /api/workshops/:id`: every lab removed, the pool stops, the workshop is forgotten. */
	async end(workshop: Workshop): Promise<void> {
		workshop.ended = true;
		this.#workshops.delete(workshop.id);
		this.#signals.ended(workshop.id);
		await this.#save();
		const labs = this.#labsOf(workshop);
		// One at a time: removing 30 labs at once would stall the host for everyone else.
		for (const lab of labs) await this.#deps.labs.end(lab, 'workshop-ended');
		await this.#deps.onGone?.(workshop);
		this.#deps.log.info({ workshopId: workshop.id, labs: labs.length }, 'workshop ended');
	}

	/**
	 * After `labs.adopt()`: the workshops saved by the previous server, with their labs (those
	 * still running), and the pools topped up again.
	 */
	async restore(): Promise<void> {
		const { labs, log } = this.#deps;
		for (const s of await this.#store.read()) {
			this.#workshops.set(s.id, {
				...s,
				ready: new Map(
					s.ready
						.filter(({ labId }) => labs.get(labId)?.workshop === s.id)
						.map(({ labId, token }) => [labId, token]),
				),
				starting: 0,
				ended: false,
			});
		}
		for (const lab of labs.list()) {
			const workshop = lab.workshop ? this.#workshops.get(lab.workshop) : undefined;
			if (!workshop) continue;
			const known = workshop.ready.has(lab.id) || workshop.learners.some((l) => l.labId === lab.id);
			if (!known) {
				// Booted just before the previous server stopped, its token unsaved: nobody can
				// ever open it.
				await labs.end(lab, 'workshop-ended');
				continue;
			}
			this.#track(lab);
			this.#deps
				.checks(lab.id)
				?.runNow()
				.then((results) => this.#dashboard.record(lab.id, results))
				.catch(() => undefined);
		}
		this.#collect();
		await this.#save();
		log.info({ workshops: this.#workshops.size }, 'workshops restored');
		this.#pools.refill();
		this.#scheduleCollect();
	}

	/** Whether the lab is (or was, while the workshop lasts) a learner's of an open workshop. */
	hasLearner(labId: string): boolean {
		return this.#learnerWorkshop(labId) !== undefined;
	}

	#learnerWorkshop(labId: string): Workshop | undefined {
		return [...this.#workshops.values()].find((w) => w.learners.some((l) => l.labId === labId));
	}

	get(workshopId: string): Workshop | undefined {
		return this.#workshops.get(workshopId);
	}

	/**
	 * Server stopping (after the pools' refill has stopped and its labs still booting are
	 * recorded): the state is saved, and the labs stay for the next server to hand out.
	 */
	async close(): Promise<void> {
		if (this.#collectTimer !== null) this.#deps.clock.clearTimeout(this.#collectTimer);
		this.#collectTimer = null;
		await this.#save();
	}

	#poolOf(workshop: Workshop): WarmPool {
		return workshopPool(workshop, {
			config: this.#deps.config,
			isOpen: (w) => !w.ended && this.#workshops.get(w.id) === w,
			onReady: async (lab) => {
				this.#track(lab);
				this.#signals.changed(workshop.id);
				await this.#save();
			},
			onStarting: () => this.#signals.changed(workshop.id),
		});
	}

	#labsOf(workshop: Workshop): Lab[] {
		return this.#deps.labs.list().filter((lab) => lab.workshop === workshop.id);
	}

	/**
	 * Follows a workshop lab: its check results, and its end — a pool lab is then replaced, and a
	 * learner who ended their own lab leaves the workshop (their seat is free).
	 */
	#track(lab: Lab): void {
		this.#dashboard.track(lab);
		lab.events.once('ended', ({ reason }) => {
			const workshop = lab.workshop ? this.#workshops.get(lab.workshop) : undefined;
			if (!workshop) return;
			if (workshop.ready.delete(lab.id)) {
				this.#signals.changed(workshop.id);
				void this.#save();
				this.#pools.refill();
			}
			if (reason === 'deleted') this.#forgetLearner(workshop, lab.id);
		});
	}

	#forgetLearner(workshop: Workshop, labId: string): void {
		const before = workshop.learners.length;
		workshop.learners = workshop.learners.filter((l) => l.labId !== labId);
		if (workshop.learners.length === before) return;
		this.#signals.changed(workshop.id);
		this.#deps.log.info({ workshopId: workshop.id, labId }, 'learner left the workshop');
		void this.#save();
		this.#pools.refill();
	}

	/**
	 * Forgets workshops that are over: past their labs' lifetime cap from the start, with no lab
	 * left running. Their saved state goes too (it holds lab tokens).
	 */
	#collect(): void {
		const { clock, config } = this.#deps;
		let collected = 0;
		for (const workshop of [...this.#workshops.values()]) {
			if (clock.now() < workshop.createdAt + config.labMaxLifetimeMs) continue;
			if (this.#labsOf(workshop).length > 0) continue;
			workshop.ended = true;
			this.#workshops.delete(workshop.id);
			void this.#deps.onGone?.(workshop);
			this.#signals.ended(workshop.id);
			collected++;
		}
		if (collected > 0) {
			this.#deps.log.info({ collected }, 'expired workshops collected');
			void this.#save();
		}
	}

	#scheduleCollect(): void {
		this.#collectTimer = this.#deps.clock.setTimeout(() => {
			this.#collect();
			this.#scheduleCollect();
		}, COLLECT_EVERY_MS);
	}

	#save(): Promise<void> {
		return this.#store.save(() => this.#workshops.values());
	}
}
