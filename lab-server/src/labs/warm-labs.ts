/**
 * The public warm pool: `WARM_LABS` labs booted ahead for anyone, so «Запустить стенд» hands one
 * over at once instead of waiting for containers (the refill is warm-pool.ts's, shared with the
 * workshops' pools, and waits while the host is busy).
 *
 * A waiting lab belongs to nobody: its owner is `warm` and the token it was booted with is
 * never given out. Taking it (`take`) makes it the learner's: a token made at that moment, their
 * session as owner, a TTL from then (`LabManager.claim`). Its subnet was chosen when it booted.
 * The take goes through the same caps and creation rate as a cold start (lab-routes.ts), so a
 * flood of creates drains the pool no faster than it could start labs.
 */
import type { Lab } from './lab';
import type { LabManager } from './manager';
import type { WarmPool, WarmPools } from './warm-pool';

/** The owner of the public pool's waiting labs; never a session hash (those are hex). */
export const WARM_OWNER = 'warm';

export interface WarmLabsDeps {
	/** Labs to keep ready (`WARM_LABS`). */
	size: number;
	labs: Pick<LabManager, 'claim' | 'list' | 'end'>;
	/** The refill (warm-pool.ts): `take` a lab out of a pool, `refill` it after. */
	pools: Pick<WarmPools, 'take' | 'refill'>;
}

export class WarmLabs implements WarmPool {
	readonly owner = WARM_OWNER;
	readonly workshop = null;
	readonly yieldsToLoad = true;
	readonly ready = new Map<string, string>();
	starting = 0;
	#deps: WarmLabsDeps;

	constructor(deps: WarmLabsDeps) {
		this.#deps = deps;
	}

	wanted(): number {
		return this.#deps.size;
	}

	isOpen(): boolean {
		return true;
	}

	async onReady(lab: Lab): Promise<void> {
		this.#follow(lab);
	}

	/** Whether the lab waits in the pool (the reaper must not stop it as idle). */
	has(labId: string): boolean {
		return this.ready.has(labId);
	}

	/**
	 * After `labs.adopt()`: the pool's labs a previous server left waiting are waiting again;
	 * those found stopped (the host rebooted) go, nobody's work is on them.
	 */
	async restore(): Promise<void> {
		for (const lab of this.#deps.labs.list()) {
			if (lab.ownerHash !== WARM_OWNER) continue;
			if (lab.status !== 'running') {
				await this.#deps.labs.end(lab, 'expired');
				continue;
			}
			this.ready.set(lab.id, '');
			this.#follow(lab);
		}
	}

	/** A booted lab, now the learner's with a fresh token; null when the pool is empty. */
	async take(owner: { sessionHash: string; ip: string | null }): Promise<{
		lab: Lab;
		token: string;
	} | null> {
		const taken = this.#deps.pools.take(this);
		if (!taken) return null;
		const claimed = this.#deps.labs.claim(taken.lab, owner);
		this.#deps.pools.refill();
		return { lab: taken.lab, token: await claimed };
	}

	/** A waiting lab that ends (its time ran out) leaves the pool, and a fresh one boots. */
	#follow(lab: Lab): void {
		lab.events.once('ended', () => {
			if (this.ready.delete(lab.id)) this.#deps.pools.refill();
		});
	}
}
