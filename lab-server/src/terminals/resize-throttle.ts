/**
 * A terminal's size, applied at most once per RESIZE_EVERY_MS: sizes asked for in between are
 * folded into the latest, which is applied when the interval is over (a window being dragged,
 * or a client sending nothing but RESIZE, signals the shell ten times a second at most).
 */

/** At most one resize per this interval. */
const RESIZE_EVERY_MS = 100;

export class ResizeThrottle {
	readonly #apply: (cols: number, rows: number) => void;
	#size: { cols: number; rows: number };
	#resizing: Promise<void> | null = null;
	#lastAt = -Infinity;
	/** Sizes applied so far (tests count them). */
	applied = 0;

	/** `apply` sets the size for real; `initial` is the size until the first is asked for. */
	constructor(apply: (cols: number, rows: number) => void, initial = { cols: 80, rows: 24 }) {
		this.#apply = apply;
		this.#size = initial;
	}

	/** The latest size asked for (applied now, or within the interval). */
	get size(): { cols: number; rows: number } {
		return this.#size;
	}

	/** Asks for a size; resolves once it (or a later one) has been applied. */
	set(cols: number, rows: number): Promise<void> {
		this.#size = { cols, rows };
		this.#resizing ??= this.#run().finally(() => (this.#resizing = null));
		return this.#resizing;
	}

	async #run(): Promise<void> {
		for (;;) {
			const wait = this.#lastAt + RESIZE_EVERY_MS - performance.now();
			if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
			const { cols, rows } = this.#size;
			this.#lastAt = performance.now();
			this.#apply(cols, rows);
			this.applied++;
			if (this.#size.cols === cols && this.#size.rows === rows) return;
		}
	}
}
