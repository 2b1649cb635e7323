/**
 * A workshop's pool of labs booted for its learners, as the one refill of every pool
 * (labs/warm-pool.ts) sees it: as many labs as there are seats left, up to the workshop's
 * `pool`, booted at once rather than when the host is quiet.
 */
import type { Config } from '../config/config';
import type { Lab } from '../labs/lab';
import type { WarmPool } from '../labs/warm-pool';
import type { Workshop } from './workshop';

export interface WorkshopPoolContext {
	config: Pick<Config, 'labMaxLifetimeMs'>;
	/** Whether the workshop is still open: not ended, and still the one under its id. */
	isOpen: (workshop: Workshop) => boolean;
	/** A lab booted for the workshop is waiting in `ready`. */
	onReady: (lab: Lab) => Promise<void>;
	/** Labs started booting or stopped (the dashboard shows how many are starting). */
	onStarting: () => void;
}

export function workshopPool(workshop: Workshop, ctx: WorkshopPoolContext): WarmPool {
	const { config } = ctx;
	return {
		owner: `workshop:${workshop.id}`,
		workshop: workshop.id,
		ready: workshop.ready,
		get starting() {
			return workshop.starting;
		},
		set starting(count: number) {
			workshop.starting = count;
			ctx.onStarting();
		},
		// A workshop left open is not a reason to keep booting labs forever: past the labs'
		// lifetime cap from its start, its pool is no longer replenished.
		wanted: (now) =>
			now >= workshop.createdAt + config.labMaxLifetimeMs
				? 0
				: Math.min(workshop.pool, workshop.seats - workshop.learners.length),
		isOpen: () => ctx.isOpen(workshop),
		// An instructor's class is waiting: its pool does not wait for a quiet host.
		yieldsToLoad: false,
		onReady: (lab) => ctx.onReady(lab),
	};
}
