/**
 * Time as the lab server sees it. Everything with a timeout or a rate (lab TTL, idle reaper,
 * terminal grace period, input token bucket) takes a `Clock` so tests move time by hand instead
 * of sleeping.
 */
export interface Clock {
	/** Milliseconds since the Unix epoch (wall time: lab expiry is shown to people as a date). */
	now(): number;
	setTimeout(fn: () => void, ms: number): unknown;
	clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
	now: () => Date.now(),
	setTimeout: (fn, ms) => setTimeout(fn, ms),
	clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * A clock for tests: time stands still until `advance(ms)`, which fires the timers that fall due
 * in order of due time (ties in the order they were set), with `now()` equal to each timer's due
 * time while it runs. Timers set by a firing timer fire in the same `advance` if they fall due
 * within it, as they would in real time.
 */
export class ManualClock implements Clock {
	#now: number;
	#nextId = 1;
	#timers = new Map<number, { due: number; fn: () => void }>();

	constructor(start = 0) {
		this.#now = start;
	}

	now(): number {
		return this.#now;
	}

	setTimeout(fn: () => void, ms: number): number {
		const id = this.#nextId++;
		// Like Node, a negative or NaN delay means "as soon as possible".
		this.#timers.set(id, { due: this.#now + (ms > 0 ? ms : 0), fn });
		return id;
	}

	clearTimeout(handle: unknown): void {
		this.#timers.delete(handle as number);
	}

	/** How many timers are set and have not fired or been cleared. */
	get pendingTimers(): number {
		return this.#timers.size;
	}

	advance(ms: number): void {
		if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
		const target = this.#now + ms;
		for (let next = this.#nextDue(target); next; next = this.#nextDue(target)) {
			this.#timers.delete(next.id);
			this.#now = next.due;
			next.fn();
		}
		this.#now = target;
	}

	/** The earliest timer due at or before `limit`; Map order breaks ties by insertion. */
	#nextDue(limit: number): { id: number; due: number; fn: () => void } | undefined {
		let best: { id: number; due: number; fn: () => void } | undefined;
		for (const [id, timer] of this.#timers) {
			if (timer.due <= limit && (!best || timer.due < best.due)) best = { id, ...timer };
		}
		return best;
	}
}
