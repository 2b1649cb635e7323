/**
 * Workshops' pools of labs booted ahead, so that joining never waits for a container: each
 * workshop keeps `pool` labs ready (never more than its free seats), refilled in the background
 * at most REFILL_AT_ONCE at a time over all workshops and never past `MAX_LABS`. A pool lab is an
 * ordinary lab owned by the session hash `workshop:<id>` and labelled with the workshop.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import type { Lab } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import type { Clock } from '../lib/clock';
import type { Workshop } from './workshop';

/** Pool labs started at once over all workshops: two cores boot about three labs well. */
const REFILL_AT_ONCE = 3;
/** After a failed start or with the host full, try again this much later. */
const REFILL_RETRY_MS = 10_000;

export interface PoolDeps {
	labs: LabManager;
	config: Config;
	clock: Clock;
	log: Logger;
	/** The workshops open now. */
	workshops: () => Iterable<Workshop>;
	/** Whether `workshop` is still open (a lab booted for an ended one is removed). */
	isOpen: (workshop: Workshop) => boolean;
	/** A pool lab booted and was put in `workshop.ready`. */
	onReady: (workshop: Workshop, lab: Lab) => Promise<void>;
}

export class WorkshopPools {
	#deps: PoolDeps;
	#startingTotal = 0;
	/** Pool labs booting now: `close` waits for them, so none is left behind unrecorded. */
	#inflight = new Set<Promise<void>>();
	#retryTimer: unknown = null;
	#closed = false;

	constructor(deps: PoolDeps) {
		this.#deps = deps;
	}

	/** A booted lab from the workshop's pool, or null when none is ready. */
	take(workshop: Workshop): { lab: Lab; token: string } | null {
		for (const [labId, token] of workshop.ready) {
			workshop.ready.delete(labId);
			const lab = this.#deps.labs.get(labId);
			if (lab) return { lab, token };
		}
		return null;
	}

	/** Starts pool labs wherever a workshop is short, at most REFILL_AT_ONCE at a time overall. */
	refill(): void {
		const { labs, config, clock } = this.#deps;
		if (this.#closed) return;
		let short = false;
		for (const workshop of this.#deps.workshops()) {
			// A workshop left open is not a reason to keep booting labs forever: past the labs'
			// lifetime cap from its start, its pool is no longer replenished.
			if (clock.now() >= workshop.createdAt + config.labMaxLifetimeMs) continue;
			const target = Math.min(workshop.pool, workshop.seats - workshop.learners.length);
			while (workshop.ready.size + workshop.starting < target) {
				if (this.#startingTotal >= REFILL_AT_ONCE) break;
				if (labs.load >= config.maxLabs) {
					short = true;
					break;
				}
				this.#start(workshop);
			}
		}
		if (short) this.#retryLater();
	}

	/** Server stopping: no more refills; labs still booting are waited for and recorded. */
	async close(): Promise<void> {
		this.#closed = true;
		if (this.#retryTimer !== null) this.#deps.clock.clearTimeout(this.#retryTimer);
		this.#retryTimer = null;
		await Promise.allSettled([...this.#inflight]);
	}

	#start(workshop: Workshop): void {
		const { labs, clock, log } = this.#deps;
		workshop.starting++;
		this.#startingTotal++;
		// Once: a lab is either starting or ready, never counted as both (the dashboard shows both).
		let counted = true;
		const started = () => {
			if (!counted) return;
			counted = false;
			workshop.starting--;
			this.#startingTotal--;
		};
		const startedAt = clock.now();
		const booting = labs
			.create({ sessionHash: `workshop:${workshop.id}`, workshop: workshop.id })
			.then(async ({ lab, token }) => {
				if (!this.#deps.isOpen(workshop)) {
					await labs.end(lab, 'workshop-ended');
					return;
				}
				workshop.ready.set(lab.id, token);
				started();
				// Said as it happens: a dashboard that shows the lab ready has this line behind it.
				log.info(
					{ workshopId: workshop.id, labId: lab.id, ms: clock.now() - startedAt },
					'pool lab ready',
				);
				await this.#deps.onReady(workshop, lab);
			})
			.catch((error: unknown) => {
				log.warn({ workshopId: workshop.id, err: error }, 'pool lab could not start');
				this.#retryLater();
			})
			.finally(() => {
				started();
				this.#inflight.delete(booting);
				this.refill();
			});
		this.#inflight.add(booting);
	}

	#retryLater(): void {
		if (this.#retryTimer !== null || this.#closed) return;
		this.#retryTimer = this.#deps.clock.setTimeout(() => {
			this.#retryTimer = null;
			this.refill();
		}, REFILL_RETRY_MS);
	}
}
