/**
 * A terminal protocol v1 client for tests and benchmarks: what the browser's island does, in
 * Node. It ACKs everything it receives (like xterm's write callbacks would), keeps the byte
 * offset for resuming, and offers `waitFor(text)` on the output seen so far.
 */
import WebSocket from 'ws';
import {
	decodeServerFrame,
	encodeClientFrame,
	type ClientFrame,
	type ServerFrame,
} from '../src/api/protocol';
import { stripAnsi } from './test-labs';

export interface ClientOptions {
	token?: string;
	origin?: string;
	term?: string;
	cols?: number;
	rows?: number;
	resumeOffset?: number;
	/** ACK output as it arrives (default true). */
	ack?: boolean;
	/** Open as a read-only viewer (`view=1`, the instructor's token). */
	view?: boolean;
	/** More upgrade headers (the agent key, for a request straight to a cluster agent). */
	headers?: Record<string, string>;
}

export class TerminalClient {
	readonly ws: WebSocket;
	output = '';
	/** Offset of the next OUTPUT byte, as the server counts it. */
	offset = 0;
	ready: Extract<ServerFrame, { op: 'ready' }> | null = null;
	exit: number | null = null;
	errors: Extract<ServerFrame, { op: 'error' }>[] = [];
	closed: Promise<{ code: number; reason: string }>;
	#listeners = new Set<() => void>();
	/** Output as text; a character split across frames is decoded whole. */
	#decoder = new TextDecoder();

	constructor(url: string, options: ClientOptions = {}) {
		const headers: Record<string, string> = { ...options.headers };
		if (options.token) headers.authorization = `Bearer ${options.token}`;
		const view = options.view ? '&view=1' : '';
		this.ws = new WebSocket(`${url}?term=${options.term ?? 'main'}${view}`, {
			headers,
			...(options.origin ? { origin: options.origin } : {}),
		});
		this.ws.binaryType = 'nodebuffer';
		this.closed = new Promise((resolve) =>
			this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
		);
		this.ws.on('error', () => {
			// Refused upgrades surface as 'unexpected-response' / close; tests look at those.
		});
		this.ws.on('open', () =>
			this.send({
				op: 'hello',
				v: 1,
				cols: options.cols ?? 120,
				rows: options.rows ?? 40,
				...(options.resumeOffset !== undefined ? { resumeOffset: options.resumeOffset } : {}),
			}),
		);
		this.ws.on('message', (data: Buffer) => {
			const frame = decodeServerFrame(new Uint8Array(data));
			if (frame.op === 'output') {
				this.output += this.#decoder.decode(frame.data, { stream: true });
				this.offset += frame.data.byteLength;
				if (options.ack !== false) this.send({ op: 'ack', bytes: frame.data.byteLength });
			} else if (frame.op === 'ready') {
				this.ready = frame;
				this.offset = frame.offset;
			} else if (frame.op === 'exit') this.exit = frame.code;
			else this.errors.push(frame);
			for (const listener of this.#listeners) listener();
		});
	}

	send(frame: ClientFrame): void {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeClientFrame(frame));
	}

	type(text: string): void {
		this.send({ op: 'input', data: new TextEncoder().encode(text) });
	}

	/** Resolves when the (ANSI-stripped) output seen so far matches; rejects after `timeoutMs`. */
	waitFor(pattern: string | RegExp, timeoutMs = 10_000, from = 0): Promise<string> {
		const matches = () => {
			const text = stripAnsi(this.output.slice(from));
			return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
		};
		return new Promise((resolve, reject) => {
			if (matches()) return resolve(this.output);
			const timer = setTimeout(() => {
				this.#listeners.delete(check);
				reject(
					new Error(
						`timed out waiting for ${pattern}; output tail: ${JSON.stringify(stripAnsi(this.output).slice(-300))}`,
					),
				);
			}, timeoutMs);
			const check = () => {
				if (!matches()) return;
				clearTimeout(timer);
				this.#listeners.delete(check);
				resolve(this.output);
			};
			this.#listeners.add(check);
		});
	}

	/** Resolves with the HTTP status when the server refuses the upgrade. */
	refused(): Promise<number> {
		return new Promise((resolve, reject) => {
			this.ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
			this.ws.on('open', () => reject(new Error('the upgrade was accepted')));
		});
	}
}
