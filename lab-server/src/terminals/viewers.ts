/**
 * A terminal's read-only viewers (an instructor watching a learner's terminal): each gets every
 * OUTPUT byte but never counts in flow control, so a viewer can neither slow nor stall the
 * learner; one that falls too far behind is dropped rather than waited for.
 */

/** A read-only viewer, as the session sees it. */
export interface TerminalViewer {
	output(data: Uint8Array): void;
	/** The shell exited, or the session ended. */
	exit(code: number): void;
	/** Bytes queued towards the viewer and not yet sent (the socket's `bufferedAmount`). */
	readonly buffered: number;
	/** The viewer fell too far behind and was detached; close its connection. */
	dropped(): void;
}

/** A viewer with more than this queued is dropped rather than waited for. */
export const VIEWER_MAX_BUFFERED = 1024 * 1024;

export class TerminalViewers {
	#viewers = new Set<TerminalViewer>();

	get size(): number {
		return this.#viewers.size;
	}

	add(viewer: TerminalViewer): void {
		this.#viewers.add(viewer);
	}

	remove(viewer: TerminalViewer): void {
		this.#viewers.delete(viewer);
	}

	/** Output to every viewer; one with more than VIEWER_MAX_BUFFERED queued is dropped. */
	output(data: Uint8Array): void {
		for (const viewer of this.#viewers) {
			if (viewer.buffered > VIEWER_MAX_BUFFERED) {
				this.#viewers.delete(viewer);
				viewer.dropped();
			} else viewer.output(data);
		}
	}

	/** Every viewer is told the shell exited (`code`, -1 when it was ended) and let go. */
	exit(code: number): void {
		const viewers = [...this.#viewers];
		this.#viewers.clear();
		for (const viewer of viewers) viewer.exit(code);
	}

	/** Lets every viewer go without a word (whoever holds their sockets closes them). */
	clear(): void {
		this.#viewers.clear();
	}
}
