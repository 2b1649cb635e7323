/**
 * When a learner last typed into each lab (the workshop dashboard shows it): noted on every
 * input, saved with the labs (store.ts) at most every SAVE_EVERY_MS, and taken back on adoption.
 * Also when anyone last typed on this server, for the boots that give way to typing
 * (docker/boot-yield.ts).
 */
import type { Typing } from '../docker/boot-yield';
import type { Clock } from '../lib/clock';

const SAVE_EVERY_MS = 10_000;

export class LabActivity implements Typing {
	#last = new Map<string, number>();
	#lastInput: number | null = null;
	#listeners = new Set<() => void>();
	#saveTimer: unknown = null;
	#clock: Clock;
	#save: () => Promise<void>;

	constructor(clock: Clock, save: () => Promise<void>) {
		this.#clock = clock;
		this.#save = save;
	}

	/** A learner typed into the lab now. */
	note(labId: string): void {
		const now = this.#clock.now();
		this.#last.set(labId, now);
		this.#lastInput = now;
		for (const listener of this.#listeners) listener();
		this.#saveTimer ??= this.#clock.setTimeout(() => {
			this.#saveTimer = null;
			void this.#save();
		}, SAVE_EVERY_MS);
	}

	/** When a learner last typed into the lab; null if never. */
	last(labId: string): number | null {
		return this.#last.get(labId) ?? null;
	}

	lastInput(): number | null {
		return this.#lastInput;
	}

	onInput(listener: () => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
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
