/**
 * What a terminal session keeps and how it paces its output: the ring kept for resuming, the
 * flow-control watermarks, output batching and how long a client may be away or stalled. The
 * registry (registry.ts) takes these defaults; tests and the bench override some of them.
 */
export interface TerminalOptions {
	/** Bytes kept for resuming. Default 1 MiB. */
	ringBytes: number;
	/** Pause the shell's output above this many unacknowledged bytes. Default 256 KiB. */
	highWatermark: number;
	/** …and resume below this. Default 64 KiB. */
	lowWatermark: number;
	/** Output arriving within this window after a write is sent as one frame. Default 5 ms. */
	batchMs: number;
	/** A detached shell is kept this long for a resume. Default 5 min. */
	graceMs: number;
	/**
	 * A client whose socket holds more than `highWatermark` unwritten bytes for this long is
	 * dropped (it stopped reading); the shell stays for a resume. Default 30 s.
	 */
	slowClientMs: number;
}

export const TERMINAL_DEFAULTS: TerminalOptions = {
	ringBytes: 1024 * 1024,
	highWatermark: 256 * 1024,
	lowWatermark: 64 * 1024,
	batchMs: 5,
	graceMs: 5 * 60_000,
	slowClientMs: 30_000,
};
