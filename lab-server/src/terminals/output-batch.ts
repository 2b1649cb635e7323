/**
 * A terminal's output on its way to the client, batched (the protocol's "a few ms"): bulk output
 * goes out in few frames, while a keystroke's echo is never held back.
 */
export class OutputBatch {
	#pending: Buffer[] = [];
	#timer: NodeJS.Timeout | null = null;
	readonly #batchMs: number;
	readonly #deliver: (data: Buffer) => void;

	/** `deliver` gets each batch as one buffer. */
	constructor(batchMs: number, deliver: (data: Buffer) => void) {
		this.#batchMs = batchMs;
		this.#deliver = deliver;
	}

	push(chunk: Buffer): void {
		if (chunk.byteLength === 0) return;
		this.#pending.push(chunk);
		// Leading edge: the first output after a quiet spell goes out at once (keystroke echo);
		// whatever follows within `batchMs` is folded into one frame (bulk output).
		if (this.#timer === null) {
			this.flush();
			this.#arm();
		}
	}

	/** Delivers whatever is pending now, without waiting for the batch to end. */
	flush(): void {
		if (this.#pending.length === 0) return;
		const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
		this.#pending = [];
		this.#deliver(data);
	}

	// Batching is I/O scheduling, not a policy timeout: it runs on real timers even when tests
	// drive lifetimes with a manual clock.
	#arm(): void {
		this.#timer = setTimeout(() => {
			this.#timer = null;
			if (this.#pending.length > 0) {
				this.flush();
				this.#arm();
			}
		}, this.#batchMs);
	}
}
