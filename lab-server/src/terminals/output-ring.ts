/** Default capacity: the last 1 MiB of a terminal's output, several screens of scrollback. */
export const DEFAULT_RING_CAPACITY = 1024 * 1024;

/** What `snapshot()` returns and `restore()` takes: the kept bytes and the offset of the first. */
export interface OutputRingSnapshot {
	start: number;
	data: Uint8Array;
}

/**
 * The tail of one terminal's output, addressed by absolute offset (bytes since the shell started,
 * which may pass 2^32: offsets are plain numbers, exact up to 2^53). A client that reconnects with
 * `resumeOffset` gets `since(resumeOffset)`; if the returned `offset` is greater than it asked
 * for, the bytes in between have been overwritten and are lost.
 *
 * Storage is one circular `Uint8Array` allocated up front: an append copies only the chunk.
 */
export class OutputRing {
	readonly capacity: number;
	readonly #buffer: Uint8Array;
	#start: number;
	#end: number;

	constructor(capacity = DEFAULT_RING_CAPACITY, start = 0) {
		if (!Number.isSafeInteger(capacity) || capacity < 1) {
			throw new TypeError(`OutputRing: "capacity" must be a positive integer, got ${capacity}`);
		}
		if (!Number.isSafeInteger(start) || start < 0) {
			throw new TypeError(`OutputRing: "start" must be a non-negative integer, got ${start}`);
		}
		this.capacity = capacity;
		this.#buffer = new Uint8Array(capacity);
		this.#start = start;
		this.#end = start;
	}

	/** Offset of the oldest byte kept. */
	get start(): number {
		return this.#start;
	}

	/** Offset of the next byte to be appended: all bytes ever appended (plus a restored start). */
	get end(): number {
		return this.#end;
	}

	append(chunk: Uint8Array): void {
		// Of a chunk larger than the ring only its tail can survive; skip copying the rest.
		const kept =
			chunk.length > this.capacity ? chunk.subarray(chunk.length - this.capacity) : chunk;
		const end = this.#end + chunk.length;
		this.#write(end - kept.length, kept);
		this.#end = end;
		this.#start = Math.max(this.#start, end - this.capacity);
	}

	/**
	 * The bytes kept from `offset` (clamped to `start`..`end`) to `end`, as a copy the caller may
	 * keep; `offset` in the answer says where they begin.
	 */
	since(offset: number): { offset: number; data: Uint8Array } {
		if (!Number.isInteger(offset)) {
			throw new TypeError(`OutputRing.since: offset must be an integer, got ${offset}`);
		}
		const from = Math.min(Math.max(offset, this.#start), this.#end);
		return { offset: from, data: this.#read(from, this.#end) };
	}

	snapshot(): OutputRingSnapshot {
		const { offset, data } = this.since(this.#start);
		return { start: offset, data };
	}

	/** A ring holding `snapshot` (its newest `capacity` bytes if it holds more). */
	static restore(snapshot: OutputRingSnapshot, capacity = DEFAULT_RING_CAPACITY): OutputRing {
		const ring = new OutputRing(capacity, snapshot.start);
		ring.append(snapshot.data);
		return ring;
	}

	/** Writes `bytes` (at most `capacity` long) as the bytes at absolute `offset`, wrapping. */
	#write(offset: number, bytes: Uint8Array): void {
		const at = offset % this.capacity;
		const firstPart = Math.min(bytes.length, this.capacity - at);
		this.#buffer.set(bytes.subarray(0, firstPart), at);
		this.#buffer.set(bytes.subarray(firstPart), 0);
	}

	/** Copies out the kept bytes from absolute `from` to `to`, unwrapping. */
	#read(from: number, to: number): Uint8Array {
		const out = new Uint8Array(to - from);
		const at = from % this.capacity;
		const firstPart = Math.min(out.length, this.capacity - at);
		out.set(this.#buffer.subarray(at, at + firstPart), 0);
		out.set(this.#buffer.subarray(0, out.length - firstPart), firstPart);
		return out;
	}
}
