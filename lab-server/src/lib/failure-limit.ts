import { systemClock, type Clock } from './clock';

export interface FailureLimitOptions {
	/** Failures a key may have within `windowMs`; the next attempt is refused until it ends. */
	maxFailures: number;
	/** How long failures count, from a key's first failure. */
	windowMs: number;
	/** Keys remembered at most (the oldest are forgotten first), so memory stays bounded. */
	maxKeys: number;
	/** Time source. Default: `systemClock`. */
	clock?: Clock;
}

/**
 * Failed attempts per key (a client address) in a fixed window from the key's first failure:
 * after `maxFailures`, `retryAfterMs(key)` says how long the key must wait. For guessing a
 * secret: each failure costs the guesser a slot, a success clears the key.
 */
export class FailureLimit {
	readonly #o: Required<FailureLimitOptions>;
	/** key → failures and when its window ends; in insertion order, oldest first. */
	#failures = new Map<string, { count: number; until: number }>();

	constructor(options: FailureLimitOptions) {
		for (const name of ['maxFailures', 'windowMs', 'maxKeys'] as const) {
			if (!(options[name] > 0) || !Number.isFinite(options[name])) {
				throw new TypeError(
					`FailureLimit: "${name}" must be a positive number, got ${options[name]}`,
				);
			}
		}
		this.#o = { clock: systemClock, ...options };
	}

	/** Milliseconds until `key` may try again; 0 when it may now. */
	retryAfterMs(key: string): number {
		const entry = this.#live(key);
		return entry && entry.count >= this.#o.maxFailures ? entry.until - this.#o.clock.now() : 0;
	}

	/** Counts a failed attempt of `key`. */
	fail(key: string): void {
		const entry = this.#live(key);
		if (entry) {
			entry.count++;
			return;
		}
		this.#prune();
		this.#failures.set(key, { count: 1, until: this.#o.clock.now() + this.#o.windowMs });
	}

	/** Forgets `key`'s failures (it has just succeeded). */
	clear(key: string): void {
		this.#failures.delete(key);
	}

	/** How many keys are remembered (tests). */
	get size(): number {
		return this.#failures.size;
	}

	#live(key: string): { count: number; until: number } | undefined {
		const entry = this.#failures.get(key);
		if (entry && entry.until <= this.#o.clock.now()) {
			this.#failures.delete(key);
			return undefined;
		}
		return entry;
	}

	/** Before a new key: windows that are over go, then the oldest keys while there are too many. */
	#prune(): void {
		const now = this.#o.clock.now();
		for (const [key, entry] of this.#failures) if (entry.until <= now) this.#failures.delete(key);
		for (const key of this.#failures.keys()) {
			if (this.#failures.size < this.#o.maxKeys) break;
			this.#failures.delete(key);
		}
	}
}
