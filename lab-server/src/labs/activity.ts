/**
 * When a learner last typed into each lab (the workshop dashboard shows it): noted on every
 * input, saved with the labs (store.ts) at most every SAVE_EVERY_MS, and taken back on adoption.
 */
import type { Clock } from '../lib/clock';

const SAVE_EVERY_MS = 10_000;

export class LabActivity {
	#last = new Map<string, number>();
	#saveTimer: unknown = null;
	#clock: Clock;
	#save: () => Promise<void>;

	constructor(clock: Clock, save: () => Promise<void>) {
		this.#clock = clock;
		this.#save = save;
	}

	/** A learner typed into the lab now. */
	note(labId: string): void {
		this.#last.set(labId, this.#clock.now());
		this.#saveTimer ??= this.#clock.setTimeout(() => {
			this.#saveTimer = null;
			void this.#save();
		}, SAVE_EVERY_MS);
	}

	/** When a learner last typed into the lab; null if never. */
	last(labId: string): number | null {
		return this.#last.get(labId) ?? null;
	}

	/** As saved by the previous server. */
	restore(labId: string, at: number | null): void {
		if (at !== null) this.#last.set(labId, at);
	}

	forget(labId: string): void {
		this.#last.delete(labId);
	}

	/** No more timed saves (the server is stopping; it saves once more itself). */
	close(): void {
		if (this.#saveTimer !== null) this.#clock.clearTimeout(this.#saveTimer);
		this.#saveTimer = null;
	}
}
