/**
 * Earlier output, replayed at the sizes it was written for. A terminal reopened at another width
 * (a reload in a narrower window, an instructor's viewer) gets the server's ring: bytes a shell,
 * readline and full-screen programs wrote for the old size, cursor moves and carriage returns
 * included. Written into a terminal of the new size they land in the wrong places. Written at the
 * old size (and resized wherever the learner resized) they read as they did, and the final fit
 * lets xterm reflow the wrapped lines to the new width.
 *
 * READY's `replay` says how far the replay goes (`end`) and its sizes. Until the terminal has
 * parsed the replay it keeps them (`holding`: the owner does not fit it); then `refit` fits it to
 * its box, and the output after `end` (the shell redrawing for the new size) lands at that size.
 */
import type { Replay, SizeFrom } from '../../lab-server/src/api/protocol';

const EMPTY = new Uint8Array(0);

/** The part of xterm's Terminal this needs. */
export interface SizedTerminal {
	readonly cols: number;
	readonly rows: number;
	resize(cols: number, rows: number): void;
	write(data: Uint8Array, callback?: () => void): void;
}

export class ReplayAtSize {
	readonly #term: SizedTerminal;
	readonly #refit: () => void;
	#end: number | null = null;
	/** The stream offset of the next OUTPUT byte (from READY's `offset` on). */
	#at = 0;
	/** Sizes still to come, each from its offset. */
	#next: SizeFrom[] = [];
	/** The stream is past `end`; the terminal has yet to parse up to it. */
	#reached = false;

	constructor(term: SizedTerminal, refit: () => void) {
		this.#term = term;
		this.#refit = refit;
	}

	/** True while the replay is being written: the terminal keeps the replay's sizes. */
	get holding(): boolean {
		return this.#end !== null;
	}

	/** READY: takes the replay's first size, unless the replay is all at the terminal's own. */
	begin(offset: number, replay: Replay | undefined): void {
		this.cancel();
		this.#at = offset;
		const [first, ...next] = replay?.sizes ?? [];
		if (!replay || !first) return;
		if (next.length === 0 && first.cols === this.#term.cols && first.rows === this.#term.rows)
			return;
		this.#term.resize(first.cols, first.rows);
		this.#end = replay.end;
		this.#next = next;
	}

	/**
	 * Writes the next OUTPUT; `rendered(n)` is called as each part is
	 * parsed. Each part of the replay is written at its size, what follows it once the terminal
	 * is fitted again.
	 */
	write(data: Uint8Array, rendered: (bytes: number) => void): void {
		const at = this.#at;
		this.#at += data.length;
		let done = 0;
		while (this.#end !== null && !this.#reached) {
			const size = this.#next[0];
			const boundary = (size ? size.from : this.#end) - at;
			if (boundary > data.length) break;
			if (boundary > done) {
				this.#writePart(data.subarray(done, boundary), rendered);
				done = boundary;
			}
			if (size) {
				this.#next.shift();
				this.#whenParsed(() => this.#term.resize(size.cols, size.rows));
			} else {
				this.#reached = true;
				const end = this.#end;
				this.#whenParsed(() => {
					if (this.#end === end) this.cancel();
				});
			}
		}
		if (done < data.length) this.#writePart(data.subarray(done), rendered);
	}

	/** Stops holding the replay's sizes (replay written, or the connection gone) and fits. */
	cancel(): void {
		if (this.#end === null) return;
		this.#end = null;
		this.#reached = false;
		this.#next = [];
		this.#refit();
	}

	/** Runs `fn` once xterm has parsed everything written so far, before it parses more. */
	#whenParsed(fn: () => void): void {
		this.#term.write(EMPTY, fn);
	}

	#writePart(part: Uint8Array, rendered: (bytes: number) => void): void {
		this.#term.write(part, () => rendered(part.length));
	}
}
