/**
 * Labs booted ahead, so that getting one never waits for a container. One mechanism serves
 * every pool: the public one any learner takes from (warm-labs.ts, `WARM_LABS`) and each
 * workshop's (workshops/). A pool says how many labs it wants; the refill boots what is missing
 * in the background, at most REFILL_AT_ONCE at a time over all pools and never past `MAX_LABS`.
 * A pool that yields to load (the public one: nobody waits for it) boots one lab at a time and
 * waits while the host's CPUs are busy, so refilling slows the labs in use as little as it can;
 * after MAX_YIELD_MS of waiting it boots one anyway.
 *
 * A pool's lab is an ordinary lab whose owner is the pool (`warm`, `workshop:<id>`); taking it
 * is the pool's business.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import type { Clock } from '../lib/clock';
import type { Lab } from './lab';

/** Pool labs started at once over all pools: two cores boot about three labs well. */
const REFILL_AT_ONCE = 3;
/** After a failed start or with the host full, try again this much later. */
const REFILL_RETRY_MS = 10_000;
/** While the host is busy, look again this much later… */
const BUSY_RETRY_MS = 2_000;
/** …but for no longer than this: a host that is always busy still gets its pool, one at a time. */
const MAX_YIELD_MS = 30_000;

export interface WarmPool {
	/** The session hash its labs are created for: `warm`, or `workshop:<id>`. */
	readonly owner: string;
	/** The workshop its labs belong to, if any. */
	readonly workshop: string | null;
	/** Booted labs waiting to be taken: lab id → token. */
	readonly ready: Map<string, string>;
	/** Labs booting for it now. */
	starting: number;
	/** How many labs it wants ready or starting now. */
	wanted(now: number): number;
	/** Whether it still wants labs (one booted for a closed pool is removed). */
	isOpen(): boolean;
	/** Whether its refill waits while the host is busy. */
	readonly yieldsToLoad: boolean;
	/** A lab booted and was put in `ready`. */
	onReady(lab: Lab): Promise<void>;
}

export interface WarmPoolsDeps {
	labs: {
		create(owner: {
			sessionHash: string;
			workshop?: string;
			pooled: true;
		}): Promise<{ lab: Lab; token: string }>;
		end(lab: Lab, reason: 'workshop-ended' | 'deleted'): Promise<void>;
		get(labId: string): Lab | undefined;
		readonly load: number;
	};
	config: Pick<Config, 'maxLabs'>;
	clock: Clock;
	log: Logger;
	/** The pools there are now. */
	pools: () => Iterable<WarmPool>;
	/** Whether the host's CPUs are busy now (lib/cpu-load.ts). */
	hostBusy: () => boolean;
}

export class WarmPools {
	#deps: WarmPoolsDeps;
	#startingTotal = 0;
	/** Pool labs booting now: `close` waits for them, so none is left behind unrecorded. */
	#inflight = new Set<Promise<void>>();
	#retryTimer: unknown = null;
	/** After a failed start, nothing boots before this time (no retry loop against a broken Docker). */
	#backoffUntil = 0;
	/** Since when a pool that yields to load has been waiting for the host; null if none is. */
	#yieldingSince: number | null = null;
	#closed = false;

	constructor(deps: WarmPoolsDeps) {
		this.#deps = deps;
	}

	/**
	 * A booted lab from `pool`, or null when none is ready. The caller refills once it has
	 * recorded the take (a workshop wants fewer labs once the learner holds a seat).
	 */
	take(pool: WarmPool): { lab: Lab; token: string } | null {
		for (const [labId, token] of pool.ready) {
			pool.ready.delete(labId);
			const lab = this.#deps.labs.get(labId);
			if (lab?.status === 'running') return { lab, token };
		}
		return null;
	}

	/** Starts pool labs wherever a pool is short, at most REFILL_AT_ONCE at a time overall. */
	refill(): void {
		const { labs, config, clock } = this.#deps;
		if (this.#closed) return;
		if (clock.now() < this.#backoffUntil) {
			this.#retryLater(this.#backoffUntil - clock.now());
			return;
		}
		let retry: number | null = null;
		const later = (ms: number) => (retry = Math.min(retry ?? ms, ms));
		let yielded = false;
		for (const pool of this.#deps.pools()) {
			const target = pool.wanted(clock.now());
			while (pool.ready.size + pool.starting < target) {
				if (this.#startingTotal >= REFILL_AT_ONCE) break;
				// Nobody waits for the public pool: one lab at a time, half the load on the others.
				if (pool.yieldsToLoad && pool.starting >= 1) break;
				if (labs.load >= config.maxLabs) {
					later(REFILL_RETRY_MS);
					break;
				}
				if (pool.yieldsToLoad && this.#mustYield()) {
					yielded = true;
					later(BUSY_RETRY_MS);
					break;
				}
				this.#start(pool);
			}
		}
		if (!yielded) this.#yieldingSince = null;
		if (retry !== null) this.#retryLater(retry);
	}

	/** Server stopping: no more refills; labs still booting are waited for and recorded. */
	async close(): Promise<void> {
		this.#closed = true;
		if (this.#retryTimer !== null) this.#deps.clock.clearTimeout(this.#retryTimer);
		this.#retryTimer = null;
		await Promise.allSettled([...this.#inflight]);
	}

	/** Whether a pool that yields to load waits now: the host is busy, and not for too long. */
	#mustYield(): boolean {
		const now = this.#deps.clock.now();
		if (!this.#deps.hostBusy()) return false;
		this.#yieldingSince ??= now;
		if (now - this.#yieldingSince < MAX_YIELD_MS) return true;
		// Waited long enough: this one boots; the next waits again.
		this.#yieldingSince = now;
		return false;
	}

	#start(pool: WarmPool): void {
		const { labs, clock, log } = this.#deps;
		pool.starting++;
		this.#startingTotal++;
		// Once: a lab is either starting or ready, never counted as both (dashboards show both).
		let counted = true;
		const started = () => {
			if (!counted) return;
			counted = false;
			pool.starting--;
			this.#startingTotal--;
		};
		const startedAt = clock.now();
		const booting = labs
			.create({
				sessionHash: pool.owner,
				pooled: true,
				...(pool.workshop ? { workshop: pool.workshop } : {}),
			})
			.then(async ({ lab, token }) => {
				if (!pool.isOpen()) {
					await labs.end(lab, pool.workshop ? 'workshop-ended' : 'deleted');
					return;
				}
				pool.ready.set(lab.id, token);
				started();
				// Said as it happens: a dashboard that shows the lab ready has this line behind it.
				log.info(
					{ pool: pool.owner, labId: lab.id, ms: clock.now() - startedAt },
					'pool lab ready',
				);
				await pool.onReady(lab);
			})
			.catch((error: unknown) => {
				log.warn({ pool: pool.owner, err: error }, 'pool lab could not start');
				this.#backoffUntil = clock.now() + REFILL_RETRY_MS;
			})
			.finally(() => {
				started();
				this.#inflight.delete(booting);
				this.refill();
			});
		this.#inflight.add(booting);
	}

	#retryLater(ms: number): void {
		if (this.#retryTimer !== null || this.#closed) return;
		this.#retryTimer = this.#deps.clock.setTimeout(() => {
			this.#retryTimer = null;
			this.refill();
		}, ms);
	}
}
