/**
 * The reaper: every REAP_EVERY_MS on the injected clock it applies lifetime.ts's rules to the
 * labs — what is idle or past its time stops, what was kept long enough or is over the disk
 * budget goes — through the manager's own `stop` and `end` (manager.ts); a lab that cannot be
 * reaped now is tried again the next round.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import type { Clock } from '../lib/clock';
import { dueActions } from './lifetime';
import type { LabManager } from './manager';

const REAP_EVERY_MS = 15_000;

export interface ReapingDeps {
	labs: Pick<LabManager, 'list' | 'isBusy' | 'exclusive' | 'stop' | 'end'>;
	clock: Clock;
	config: Pick<Config, 'labIdleMs' | 'labKeepMs' | 'labKeepDiskMb'>;
	log: Logger;
	/** Whether a terminal is attached to the lab right now (terminals/ knows). */
	isAttached: (labId: string) => boolean;
	/** Whether the lab waits in a workshop's pool for a learner: never idle. Default: never. */
	isPooled?: (labId: string) => boolean;
}

export class LabReaper {
	#timer: unknown = null;
	#running = false;
	#deps: ReapingDeps;

	constructor(deps: ReapingDeps) {
		this.#deps = deps;
	}

	/**
	 * Stops what is idle or past its time, ends what was kept long enough or is over the disk
	 * budget (lifetime.ts). Returns the ids of the labs stopped or ended.
	 */
	async reap(): Promise<string[]> {
		const { labs, clock, config } = this.#deps;
		const actions = dueActions(labs.list(), {
			now: clock.now(),
			idleMs: config.labIdleMs,
			keepMs: config.labKeepMs,
			keepDiskBytes: config.labKeepDiskMb * 1024 * 1024,
			isAttached: this.#deps.isAttached,
			isPooled: (labId) => this.#deps.isPooled?.(labId) ?? false,
			isBusy: (labId) => labs.isBusy(labId),
		});
		const acted: string[] = [];
		for (const next of actions) {
			// Planned before the awaits of the labs before it: a lab taken from a pool or extended
			// since then is not past its time any more.
			if (
				next.reason === 'expired' &&
				next.lab.status === 'running' &&
				next.lab.expiresAt > clock.now()
			)
				continue;
			acted.push(next.lab.id);
			try {
				if (next.action === 'end') await labs.end(next.lab, next.reason);
				else await labs.exclusive(next.lab, 'остановка', () => labs.stop(next.lab, next.reason));
			} catch (error) {
				// Busy since the plan was made, or Docker failed: the next round tries again.
				this.#deps.log.warn({ labId: next.lab.id, err: error }, `could not ${next.action} lab`);
			}
		}
		return acted;
	}

	/** Reaps every REAP_EVERY_MS from now on, until `stop()`. */
	start(): void {
		this.#running = true;
		this.#schedule();
	}

	/** No round starts after this; one already under way finishes and does not schedule another. */
	stop(): void {
		this.#running = false;
		if (this.#timer !== null) this.#deps.clock.clearTimeout(this.#timer);
		this.#timer = null;
	}

	#schedule(): void {
		this.#timer = this.#deps.clock.setTimeout(async () => {
			this.#timer = null;
			try {
				await this.reap();
			} catch (error) {
				this.#deps.log.error({ err: error }, 'reaper failed');
			}
			if (this.#running) this.#schedule();
		}, REAP_EVERY_MS);
	}
}
