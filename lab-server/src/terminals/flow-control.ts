export interface FlowControlOptions {
	/** Pause once more than this many output bytes are sent but not acknowledged. No default. */
	high: number;
	/** Resume once the unacknowledged bytes fall below this; must be less than `high`. No default. */
	low: number;
	/** Called once when output should stop (pause the pty). */
	onPause(): void;
	/** Called once when output may flow again (resume the pty). */
	onResume(): void;
}

/**
 * Watermark flow control between a pty and a terminal client, after butlerx/wetty's
 * `flowcontrol.ts`: the server counts OUTPUT bytes sent, the client ACKs bytes it has rendered,
 * and the pty is paused while the difference is above `high` until it drops below `low`. Without
 * it `yes` fills the socket buffers and Ctrl-C takes seconds to show.
 */
export class FlowControl {
	readonly #high: number;
	readonly #low: number;
	readonly #onPause: () => void;
	readonly #onResume: () => void;
	#unacked = 0;
	#paused = false;

	constructor({ high, low, onPause, onResume }: FlowControlOptions) {
		if (!isCount(high) || !isCount(low)) {
			throw new TypeError(
				`FlowControl: "high" and "low" must be non-negative integers, got high=${high}, low=${low}`,
			);
		}
		if (low >= high) {
			throw new TypeError(`FlowControl: "low" (${low}) must be less than "high" (${high})`);
		}
		this.#high = high;
		this.#low = low;
		this.#onPause = onPause;
		this.#onResume = onResume;
	}

	/** Bytes sent to the client and not yet acknowledged. */
	get unacked(): number {
		return this.#unacked;
	}

	get paused(): boolean {
		return this.#paused;
	}

	/** Records `bytes` of OUTPUT sent to the client. */
	sent(bytes: number): void {
		assertCount('sent', bytes);
		this.#unacked += bytes;
		if (!this.#paused && this.#unacked > this.#high) {
			this.#paused = true;
			this.#onPause();
		}
	}

	/**
	 * Records an ACK of `bytes` rendered. More than is outstanding is clamped: a buggy or hostile
	 * client must not bank credit that would let the next burst through unpaused.
	 */
	acked(bytes: number): void {
		assertCount('acked', bytes);
		this.#unacked -= Math.min(bytes, this.#unacked);
		if (this.#paused && this.#unacked < this.#low) {
			this.#paused = false;
			this.#onResume();
		}
	}

	/**
	 * Forgets everything outstanding, resuming if paused: a new client has attached and the old
	 * one's unacknowledged bytes will never be acknowledged.
	 */
	reset(): void {
		this.#unacked = 0;
		if (this.#paused) {
			this.#paused = false;
			this.#onResume();
		}
	}
}

function isCount(value: number): boolean {
	return Number.isSafeInteger(value) && value >= 0;
}

function assertCount(method: string, bytes: number): void {
	if (!isCount(bytes)) {
		throw new RangeError(
			`FlowControl.${method}: bytes must be a non-negative integer, got ${bytes}`,
		);
	}
}
