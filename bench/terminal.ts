/**
 * A terminal for benchmarks: the tests' protocol v1 client (it ACKs every OUTPUT frame as it
 * arrives, as xterm's write callbacks would) plus what timing needs. The tests' client keeps all
 * output and re-scans it on every frame, which is fine for a prompt and quadratic for a 67 MB
 * stream, so this one keeps only a short tail and counts bytes, and `until` reports the moment
 * the frame that satisfied it arrived, not when a promise chain got round to it.
 */
import type { WebSocket } from 'ws';
import { TerminalClient, type ClientOptions } from '../lab-server/testing/terminal-client';
import { stripAnsi } from '../lab-server/testing/test-labs';

/** Enough tail to hold a prompt split over frames, small enough to scan on every frame. */
const TAIL_CHARS = 4096;
const OP_OUTPUT = 0x00;

/**
 * A terminal's output as timing needs it: a short tail, byte and frame counts, and `until`,
 * which resolves with the arrival time of the frame that satisfied it. Subclasses feed it
 * (`arrived`) from their wire: ours (protocol v1) or the peer's (bench/peer.ts).
 */
export abstract class TimedTerminal {
	/** OUTPUT bytes received since the socket opened. */
	received = 0;
	/** OUTPUT frames received since the socket opened. */
	frames = 0;
	#tail = '';
	#listeners = new Set<(at: number) => void>();

	/** The socket, for `until` to give up when it closes. */
	protected abstract readonly socket: WebSocket;

	abstract type(text: string): void;

	/** Closes cleanly: the shell ends. */
	abstract close(timeoutMs?: number): Promise<void>;

	/** A frame arrived at `at`: `text` is its output (null for other frames) of `bytes` bytes. */
	protected arrived(at: number, text: string | null, bytes: number): void {
		if (text !== null) {
			this.received += bytes;
			this.frames++;
			this.#tail = (this.#tail + text).slice(-TAIL_CHARS);
		}
		for (const listener of this.#listeners) listener(at);
	}

	/** The output tail with escape sequences removed. */
	get text(): string {
		return stripAnsi(this.#tail);
	}

	/** Forgets the tail, so the next `until` only sees output that arrives from now on. */
	mark(): void {
		this.#tail = '';
	}

	/**
	 * Resolves with the arrival time (performance.now()) of the frame after which `test` holds
	 * for the tail; rejects after `timeoutMs` or when the socket closes.
	 */
	until(test: (text: string) => boolean, timeoutMs: number, what: string): Promise<number> {
		if (test(this.text)) return Promise.resolve(performance.now());
		return new Promise((resolve, reject) => {
			const done = () => {
				clearTimeout(timer);
				this.#listeners.delete(check);
				this.socket.off('close', onClose);
			};
			const check = (at: number) => {
				if (!test(this.text)) return;
				done();
				resolve(at);
			};
			const onClose = (code: number, reason: Buffer) => {
				done();
				reject(new Error(`terminal closed (${code} ${reason.toString()}) waiting for ${what}`));
			};
			const timer = setTimeout(() => {
				done();
				reject(
					new Error(
						`timed out after ${timeoutMs} ms waiting for ${what}; tail: ${JSON.stringify(this.text.slice(-200))}`,
					),
				);
			}, timeoutMs);
			this.#listeners.add(check);
			this.socket.on('close', onClose);
		});
	}

	/** Waits for `ubuntu@<node>:~$` in the output. */
	prompt(node: string, timeoutMs: number): Promise<number> {
		const prompt = `ubuntu@${node}:~$`;
		return this.until((text) => text.includes(prompt), timeoutMs, `the prompt "${prompt}"`);
	}
}

/** Ours: the lab server's terminal protocol v1. */
export class BenchTerminal extends TimedTerminal {
	readonly client: TerminalClient;
	protected readonly socket: WebSocket;

	constructor(url: string, options: ClientOptions) {
		super();
		this.client = new TerminalClient(url, options);
		this.socket = this.client.ws;
		// Registered after the client's own handler, so `client.output` holds this frame's text.
		this.client.ws.on('message', (data: Buffer) => {
			const at = performance.now();
			const output = data[0] === OP_OUTPUT;
			this.arrived(at, output ? this.client.output : null, data.byteLength - 1);
			if (output) this.client.output = '';
		});
	}

	override mark(): void {
		super.mark();
		this.client.output = '';
	}

	type(text: string): void {
		this.client.type(text);
	}

	/** Drops the connection without a close frame: the server keeps the shell until the lab ends. */
	drop(): void {
		this.client.ws.terminate();
	}

	/** Closes cleanly (1000): the server ends the shell inside the node. */
	async close(timeoutMs = 5_000): Promise<void> {
		this.client.ws.close(1000);
		await Promise.race([this.client.closed, sleep(timeoutMs)]);
	}
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
