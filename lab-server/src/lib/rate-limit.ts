import { systemClock, type Clock } from './clock';

export interface TokenBucketOptions {
	/** Tokens (bytes of terminal input) added per second. No default: the caller owns the policy. */
	ratePerSecond: number;
	/** Most tokens the bucket holds, so the largest burst taken at once; it starts full. */
	burst: number;
	/** Time source. Default: `systemClock`. */
	clock?: Clock;
}

/**
 * A token bucket: `take(n)` succeeds while the bucket holds `n` tokens and refills continuously
 * at `ratePerSecond` up to `burst`. The lab server keeps one per lab so that pasting a long
 * config passes but a runaway `cat /dev/urandom`-style input loop is cut off.
 */
export class TokenBucket {
	readonly #rate: number;
	readonly #burst: number;
	readonly #clock: Clock;
	#tokens: number;
	#refilledAt: number;

	constructor({ ratePerSecond, burst, clock = systemClock }: TokenBucketOptions) {
		if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
			throw new TypeError(
				`TokenBucket: "ratePerSecond" must be a positive number, got ${ratePerSecond}`,
			);
		}
		if (!(burst > 0) || !Number.isFinite(burst)) {
			throw new TypeError(`TokenBucket: "burst" must be a positive number, got ${burst}`);
		}
		this.#rate = ratePerSecond;
		this.#burst = burst;
		this.#clock = clock;
		this.#tokens = burst;
		this.#refilledAt = clock.now();
	}

	/** Tokens available now. */
	get available(): number {
		this.#refill();
		return this.#tokens;
	}

	/**
	 * Takes `n` tokens if the bucket holds that many and returns true; otherwise takes nothing and
	 * returns false (a request larger than `burst` never succeeds).
	 */
	take(n: number): boolean {
		if (!(n >= 0)) throw new RangeError(`TokenBucket.take: n must be >= 0, got ${n}`);
		this.#refill();
		if (n > this.#tokens) return false;
		this.#tokens -= n;
		return true;
	}

	#refill(): void {
		const now = this.#clock.now();
		// A wall clock can step backwards (NTP); treat that as no time passing rather than draining.
		const elapsed = Math.max(0, now - this.#refilledAt);
		this.#refilledAt = now;
		this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#rate) / 1000);
	}
}
