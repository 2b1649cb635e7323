/**
 * The sizes a terminal's output was written for: each size the shell was given, from the offset
 * of the output that followed it. A client that replays the ring at another size (a reload in a
 * narrower window, a viewer) draws each part at its own size and reflows after
 * (`src/lib/replay-at-size.ts`), instead of drawing cursor moves meant for one width at another.
 *
 * Bounded: at most `MAX_REPLAY_SIZES`, the oldest dropped first (a window being dragged gives a
 * size ten times a second at most: see the session's resize throttle).
 */
import { MAX_REPLAY_SIZES, type Replay, type SizeFrom } from '../api/protocol';

export class SizeHistory {
	#sizes: SizeFrom[];

	/** `saved`: the sizes of a ring kept across a restart or a stop (snapshots.ts). */
	constructor(saved: readonly SizeFrom[] = []) {
		this.#sizes = saved.slice(-MAX_REPLAY_SIZES);
	}

	/** Oldest first. */
	get sizes(): readonly SizeFrom[] {
		return this.#sizes;
	}

	/** The shell was given `cols` × `rows`; output from offset `at` on is written for it. */
	mark(at: number, cols: number, rows: number): void {
		let last = this.#sizes.at(-1);
		// A size given before any output followed the one before it replaces that one.
		if (last && last.from >= at) {
			this.#sizes.pop();
			last = this.#sizes.at(-1);
		}
		if (last && last.cols === cols && last.rows === rows) return;
		this.#sizes.push({ from: at, cols, rows });
		if (this.#sizes.length > MAX_REPLAY_SIZES) this.#sizes.shift();
	}

	/** The sizes of the output from `offset` to `end`, or nothing if there is none or no size. */
	replay(offset: number, end: number): Replay | undefined {
		if (end <= offset || this.#sizes.length === 0) return undefined;
		// The size in effect at `offset` (the oldest known, if older ones were dropped) and the
		// changes after it.
		let first = 0;
		for (let i = 1; i < this.#sizes.length && this.#sizes[i]!.from <= offset; i++) first = i;
		const sizes = this.#sizes
			.slice(first)
			.filter((size) => size.from < end)
			.map((size, i) => (i === 0 ? { ...size, from: offset } : size));
		return { end, sizes };
	}
}
