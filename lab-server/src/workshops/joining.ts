/**
 * Learners joining a workshop by its code: a lab already booted is handed over (no container
 * starts on join), and the learner's name, browser session hash and time are recorded; the same
 * browser session joining again gets the same lab back (or a fresh one from the pool if theirs
 * has ended). Joins are budgeted per workshop and per browser session, so that a script cannot
 * take every seat in a blink nor a reload loop drain the pool.
 */
import type { Logger } from 'pino';
import { HttpError } from '../http/errors';
import type { Lab } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import type { WarmPool, WarmPools } from '../labs/warm-pool';
import type { Clock } from '../lib/clock';
import { TokenBucket } from '../lib/rate-limit';
import { normalizeCode, type Workshop } from './workshop';

/** How long a learner is asked to wait while the pool refills. */
const POOL_RETRY_AFTER_S = 15;
/** Joins per workshop: a whole class at once, then two a second (a script cannot take every seat in a blink). */
const JOINS_PER_WORKSHOP = { ratePerSecond: 2, burst: 40 };
/** Joins per browser session: a reload or two, not a loop. */
const JOINS_PER_SESSION = { ratePerSecond: 0.1, burst: 5 };
/** Sessions whose join budget is remembered (the oldest is forgotten beyond). */
const SESSIONS_REMEMBERED = 10_000;

export interface JoiningContext {
	labs: Pick<LabManager, 'get' | 'touch'>;
	clock: Clock;
	log: Logger;
	pools: Pick<WarmPools, 'take' | 'refill'>;
	/** The open workshops. */
	workshops: () => Iterable<Workshop>;
	/** The workshop's pool of labs booted for its learners (pool.ts). */
	poolOf: (workshop: Workshop) => WarmPool;
	save: () => Promise<void>;
}

export class WorkshopJoins {
	#budgets: JoinBudgets;
	#ctx: JoiningContext;

	constructor(ctx: JoiningContext) {
		this.#ctx = ctx;
		this.#budgets = new JoinBudgets(ctx.clock);
	}

	/**
	 * A booted lab from the pool, or the one this browser session already has. Throws 404 for an
	 * unknown code, 409 when every seat is taken, 503 while the pool is still filling.
	 */
	join(
		code: string,
		name: string,
		sessionHash: string,
	): { lab: Lab; token: string; again: boolean } {
		const { labs, clock, log, pools } = this.#ctx;
		const wanted = normalizeCode(code);
		const workshop = [...this.#ctx.workshops()].find((w) => w.code === wanted);
		if (!workshop) throw workshopNotFound(code);
		this.#budgets.take(workshop.id, sessionHash);
		const known = workshop.learners.find((l) => l.sessionHash === sessionHash);
		const current = known && labs.get(known.labId);
		if (known && current) {
			known.name = name;
			void this.#ctx.save();
			return { lab: current, token: known.token, again: true };
		}
		if (!known && workshop.learners.length >= workshop.seats) {
			throw new HttpError(
				409,
				'workshop-full',
				`Все места на занятии заняты (${workshop.seats}). Попросите преподавателя добавить мест.`,
			);
		}
		const taken = pools.take(this.#ctx.poolOf(workshop));
		if (!taken) {
			pools.refill();
			throw new HttpError(
				503,
				'pool-refilling',
				'Стенды для занятия ещё запускаются. Попробуйте ещё раз через 15–30 секунд.',
				{ headers: { 'Retry-After': String(POOL_RETRY_AFTER_S) } },
			);
		}
		const { lab, token } = taken;
		const joinedAt = clock.now();
		if (known) Object.assign(known, { name, labId: lab.id, token, joinedAt });
		else workshop.learners.push({ name, sessionHash, labId: lab.id, token, joinedAt });
		// The idle timeout counts from the hand-over, not from when the lab was booted.
		labs.touch(lab);
		void this.#ctx.save();
		log.info({ workshopId: workshop.id, labId: lab.id, again: Boolean(known) }, 'learner joined');
		pools.refill();
		return { lab, token, again: false };
	}
}

/**
 * The join budgets: per workshop (a script cannot take every seat in a blink) and per browser
 * session (a reload or two, not a loop). One machine keeps them here; a cluster's hub keeps its
 * own over all agents (cluster/hub-workshops.ts).
 */
export class JoinBudgets {
	#budgets = new Map<string, TokenBucket>();
	#clock: Clock;

	constructor(clock: Clock) {
		this.#clock = clock;
	}

	/** Takes one join from the workshop's and the session's budgets; 429 when either is spent. */
	take(workshopId: string, sessionHash: string): void {
		this.#take(`workshop:${workshopId}`, JOINS_PER_WORKSHOP);
		this.#take(`session:${sessionHash}`, JOINS_PER_SESSION);
	}

	#take(key: string, rate: { ratePerSecond: number; burst: number }): void {
		let budget = this.#budgets.get(key);
		if (!budget) {
			budget = new TokenBucket({ ...rate, clock: this.#clock });
			if (this.#budgets.size >= SESSIONS_REMEMBERED) {
				this.#budgets.delete(this.#budgets.keys().next().value!);
			}
			this.#budgets.set(key, budget);
		}
		if (!budget.take(1)) {
			throw new HttpError(
				429,
				'too-many-joins',
				'Слишком много попыток войти: подождите несколько секунд и попробуйте снова.',
				{ headers: { 'Retry-After': '10' } },
			);
		}
	}
}

/** A join with a code no open workshop has (one machine and the hub alike). */
export function workshopNotFound(code: string): HttpError {
	return new HttpError(
		404,
		'workshop-not-found',
		`Занятия с кодом «${code}» нет. Проверьте код у преподавателя.`,
	);
}
