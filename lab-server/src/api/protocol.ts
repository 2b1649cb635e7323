/**
 * Terminal protocol v1: binary WebSocket frames whose first byte is the opcode. The server and
 * the browser both import this module, so it uses only what both have (Uint8Array, DataView,
 * TextEncoder/TextDecoder) and validates by hand instead of pulling zod into the page.
 *
 * Decoders are the edge: anything they return is within the limits below, anything else throws a
 * `ProtocolError` whose `code` says what was wrong. Encoders check the same limits, so a frame
 * that encodes also decodes.
 *
 * An INPUT frame with no bytes is valid and means nothing: rejecting it would close a terminal
 * over a harmless no-op (an empty paste), and nothing downstream minds zero bytes.
 */

export const PROTOCOL_VERSION = 1;
/** Largest client frame, opcode included; the WebSocket server should use it as `maxPayload`. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Largest INPUT payload that fits in one frame; a client splits longer input. */
export const MAX_INPUT_BYTES = MAX_FRAME_BYTES - 1;
/** Largest HELLO JSON payload. */
export const MAX_HELLO_BYTES = 1024;
export const MAX_COLS = 1000;
export const MAX_ROWS = 500;

export type ClientFrame =
	| { op: 'input'; data: Uint8Array }
	| { op: 'resize'; cols: number; rows: number }
	/** Bytes of OUTPUT rendered since the previous ACK (a delta). */
	| { op: 'ack'; bytes: number }
	| { op: 'hello'; v: 1; cols: number; rows: number; resumeOffset?: number };

export type ServerFrame =
	| { op: 'output'; data: Uint8Array }
	/**
	 * `offset`: the offset of the next OUTPUT byte. `replay`, when the server sends earlier output
	 * right after: the sizes that output was written for, so that a client at another size can
	 * render it as it was, then reflow it to its own.
	 */
	| { op: 'ready'; offset: number; resumed: boolean; replay?: Replay }
	| { op: 'exit'; code: number }
	| { op: 'error'; code: string; message: string };

/**
 * The output replayed after READY, from its `offset` to `end`, was written for a terminal of
 * `sizes[0]`, then of each next size from its offset `from` on (the window was resized).
 */
export interface Replay {
	end: number;
	sizes: SizeFrom[];
}

export interface SizeFrom {
	from: number;
	cols: number;
	rows: number;
}

/** At most this many sizes in a READY's `replay` (older ones are dropped first). */
export const MAX_REPLAY_SIZES = 32;

export type ProtocolErrorCode =
	| 'empty-frame'
	| 'frame-too-large'
	| 'unknown-opcode'
	/** A fixed-size frame (RESIZE, ACK) of the wrong size, or a HELLO over `MAX_HELLO_BYTES`. */
	| 'bad-length'
	/** A JSON payload that is not UTF-8 or not JSON. */
	| 'bad-json'
	/** A HELLO that is not an object, lacks `v`, or has ill-typed fields. */
	| 'bad-hello'
	/** `cols` or `rows` outside 1..MAX_COLS / 1..MAX_ROWS. */
	| 'bad-size'
	/** A HELLO whose `v` is not `PROTOCOL_VERSION`. */
	| 'unsupported-version'
	/** A server frame's JSON of the wrong shape, or a value an encoder cannot represent. */
	| 'bad-payload';

export class ProtocolError extends Error {
	override readonly name = 'ProtocolError';
	readonly code: ProtocolErrorCode;

	constructor(code: ProtocolErrorCode, message: string) {
		super(message);
		this.code = code;
	}
}

export { CloseCode, shouldReconnect } from './close-codes';

const OP_INPUT = 0x00;
const OP_RESIZE = 0x01;
const OP_ACK = 0x02;
const OP_HELLO = 0x03;
const OP_OUTPUT = 0x00;
const OP_READY = 0x01;
const OP_EXIT = 0x02;
const OP_ERROR = 0x03;

const encoder = new TextEncoder();
// fatal: a HELLO with broken UTF-8 is a broken client, not something to guess at.
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeClientFrame(frame: ClientFrame): Uint8Array {
	switch (frame.op) {
		case 'input':
			if (frame.data.length > MAX_INPUT_BYTES) {
				throw new ProtocolError(
					'frame-too-large',
					`INPUT of ${frame.data.length} bytes does not fit in one frame: send at most ${MAX_INPUT_BYTES} bytes per frame`,
				);
			}
			return withOpcode(OP_INPUT, frame.data);
		case 'resize':
			checkSize(frame.cols, frame.rows);
			return fixedFrame(OP_RESIZE, (view) => {
				view.setUint16(0, frame.cols);
				view.setUint16(2, frame.rows);
			});
		case 'ack':
			if (!Number.isInteger(frame.bytes) || frame.bytes < 0 || frame.bytes > 0xffff_ffff) {
				throw new ProtocolError('bad-payload', `ACK bytes must be a u32, got ${frame.bytes}`);
			}
			return fixedFrame(OP_ACK, (view) => view.setUint32(0, frame.bytes));
		case 'hello':
			// Its few numeric fields cannot reach MAX_HELLO_BYTES, so only the decoder checks length.
			return jsonFrame(OP_HELLO, checkHello(frame));
	}
}

/** Decodes a frame from a client. An INPUT's `data` is a view into `bytes`, not a copy. */
export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
	if (bytes.length === 0) throw new ProtocolError('empty-frame', 'empty frame');
	if (bytes.length > MAX_FRAME_BYTES) {
		throw new ProtocolError(
			'frame-too-large',
			`frame of ${bytes.length} bytes is over the limit of ${MAX_FRAME_BYTES}`,
		);
	}
	const payload = bytes.subarray(1);
	switch (bytes[0]) {
		case OP_INPUT:
			return { op: 'input', data: payload };
		case OP_RESIZE: {
			const view = fixedPayload(payload, 'RESIZE');
			const cols = view.getUint16(0);
			const rows = view.getUint16(2);
			checkSize(cols, rows);
			return { op: 'resize', cols, rows };
		}
		case OP_ACK:
			return { op: 'ack', bytes: fixedPayload(payload, 'ACK').getUint32(0) };
		case OP_HELLO:
			if (payload.length > MAX_HELLO_BYTES) {
				throw new ProtocolError(
					'bad-length',
					`HELLO of ${payload.length} bytes is over the limit of ${MAX_HELLO_BYTES}`,
				);
			}
			return checkHello(parseJson(payload, 'HELLO'));
		default:
			throw new ProtocolError('unknown-opcode', `unknown client opcode ${hex(bytes[0])}`);
	}
}

export function encodeServerFrame(frame: ServerFrame): Uint8Array {
	switch (frame.op) {
		case 'output':
			return withOpcode(OP_OUTPUT, frame.data);
		case 'ready':
			return jsonFrame(OP_READY, checkReady(frame));
		case 'exit':
			return jsonFrame(OP_EXIT, checkExit(frame));
		case 'error':
			return jsonFrame(OP_ERROR, checkError(frame));
	}
}

/** Decodes a frame from the server. An OUTPUT's `data` is a view into `bytes`, not a copy. */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
	if (bytes.length === 0) throw new ProtocolError('empty-frame', 'empty frame');
	const payload = bytes.subarray(1);
	switch (bytes[0]) {
		case OP_OUTPUT:
			return { op: 'output', data: payload };
		case OP_READY:
			return checkReady(parseJson(payload, 'READY'));
		case OP_EXIT:
			return checkExit(parseJson(payload, 'EXIT'));
		case OP_ERROR:
			return checkError(parseJson(payload, 'ERROR'));
		default:
			throw new ProtocolError('unknown-opcode', `unknown server opcode ${hex(bytes[0])}`);
	}
}

// Field checks shared by the encoders and decoders. Each returns a fresh object holding only the
// known fields, so extra JSON keys from a newer peer never leak into typed values.

function checkHello(value: unknown): Extract<ClientFrame, { op: 'hello' }> {
	const hello = asRecord(value, 'bad-hello', 'HELLO');
	// Version first: a newer client may shape the rest differently, and deserves close code 4002.
	if (hello.v === undefined) throw new ProtocolError('bad-hello', 'HELLO has no "v"');
	if (hello.v !== PROTOCOL_VERSION) {
		throw new ProtocolError(
			'unsupported-version',
			`protocol version ${JSON.stringify(hello.v)} is not supported: this server speaks ${PROTOCOL_VERSION}`,
		);
	}
	const { cols, rows, resumeOffset } = hello;
	if (typeof cols !== 'number' || typeof rows !== 'number') {
		throw new ProtocolError('bad-hello', 'HELLO needs numeric "cols" and "rows"');
	}
	checkSize(cols, rows);
	if (resumeOffset === undefined) return { op: 'hello', v: PROTOCOL_VERSION, cols, rows };
	if (!isOffset(resumeOffset)) {
		throw new ProtocolError(
			'bad-hello',
			`HELLO "resumeOffset" must be a non-negative integer, got ${JSON.stringify(resumeOffset)}`,
		);
	}
	return { op: 'hello', v: PROTOCOL_VERSION, cols, rows, resumeOffset };
}

function checkSize(cols: number, rows: number): void {
	if (!inRange(cols, 1, MAX_COLS) || !inRange(rows, 1, MAX_ROWS)) {
		throw new ProtocolError(
			'bad-size',
			`terminal size ${cols}x${rows} is outside 1..${MAX_COLS} columns, 1..${MAX_ROWS} rows`,
		);
	}
}

function checkReady(value: unknown): Extract<ServerFrame, { op: 'ready' }> {
	const { offset, resumed, replay } = asRecord(value, 'bad-payload', 'READY');
	if (!isOffset(offset) || typeof resumed !== 'boolean') {
		throw new ProtocolError(
			'bad-payload',
			'READY needs an integer "offset" and a boolean "resumed"',
		);
	}
	if (replay === undefined) return { op: 'ready', offset, resumed };
	return { op: 'ready', offset, resumed, replay: checkReplay(replay, offset) };
}

function checkReplay(value: unknown, offset: number): Replay {
	const { end, sizes } = asRecord(value, 'bad-payload', 'READY "replay"');
	if (!isOffset(end) || end <= offset || !Array.isArray(sizes)) {
		throw new ProtocolError(
			'bad-payload',
			'READY "replay" needs an integer "end" past "offset" and an array "sizes"',
		);
	}
	if (sizes.length === 0 || sizes.length > MAX_REPLAY_SIZES) {
		throw new ProtocolError('bad-payload', `READY "replay" needs 1..${MAX_REPLAY_SIZES} sizes`);
	}
	let after = -1;
	const checked = sizes.map((size: unknown) => {
		const { from, cols, rows } = asRecord(size, 'bad-payload', 'READY "replay" size');
		if (!isOffset(from) || from <= after || from >= end) {
			throw new ProtocolError(
				'bad-payload',
				'READY "replay" sizes need increasing integer offsets "from" before "end"',
			);
		}
		if (!Number.isInteger(cols) || !Number.isInteger(rows)) {
			throw new ProtocolError('bad-payload', 'READY "replay" sizes need integer "cols" and "rows"');
		}
		checkSize(cols as number, rows as number);
		after = from;
		return { from, cols: cols as number, rows: rows as number };
	});
	return { end, sizes: checked };
}

function checkExit(value: unknown): Extract<ServerFrame, { op: 'exit' }> {
	const { code } = asRecord(value, 'bad-payload', 'EXIT');
	if (!Number.isInteger(code)) {
		throw new ProtocolError('bad-payload', 'EXIT needs an integer "code"');
	}
	return { op: 'exit', code: code as number };
}

function checkError(value: unknown): Extract<ServerFrame, { op: 'error' }> {
	const { code, message } = asRecord(value, 'bad-payload', 'ERROR');
	if (typeof code !== 'string' || typeof message !== 'string') {
		throw new ProtocolError('bad-payload', 'ERROR needs string "code" and "message"');
	}
	return { op: 'error', code, message };
}

function asRecord(value: unknown, code: ProtocolErrorCode, frame: string): Record<string, unknown> {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new ProtocolError(code, `${frame} must be a JSON object`);
	}
	return value as Record<string, unknown>;
}

function isOffset(value: unknown): value is number {
	return Number.isSafeInteger(value) && (value as number) >= 0;
}

function inRange(value: number, min: number, max: number): boolean {
	return Number.isInteger(value) && value >= min && value <= max;
}

function parseJson(payload: Uint8Array, frame: string): unknown {
	try {
		return JSON.parse(decoder.decode(payload));
	} catch {
		throw new ProtocolError('bad-json', `${frame} payload is not UTF-8 JSON`);
	}
}

/** The check* helpers return the frame with its `op`; on the wire the opcode says that. */
function jsonFrame(op: number, { op: _op, ...fields }: { op: string }): Uint8Array {
	return withOpcode(op, encoder.encode(JSON.stringify(fields)));
}

function withOpcode(op: number, payload: Uint8Array): Uint8Array {
	const frame = new Uint8Array(1 + payload.length);
	frame[0] = op;
	frame.set(payload, 1);
	return frame;
}

/** A 5-byte frame: the opcode and 4 payload bytes written big-endian by `write`. */
function fixedFrame(op: number, write: (view: DataView) => void): Uint8Array {
	const frame = new Uint8Array(5);
	frame[0] = op;
	write(new DataView(frame.buffer, 1, 4));
	return frame;
}

function fixedPayload(payload: Uint8Array, frame: string): DataView {
	if (payload.length !== 4) {
		throw new ProtocolError(
			'bad-length',
			`${frame} payload must be 4 bytes, got ${payload.length}`,
		);
	}
	// The payload may be a view into a larger buffer (Node's Buffer pool): honour its offset.
	return new DataView(payload.buffer, payload.byteOffset, 4);
}

function hex(byte: number | undefined): string {
	return `0x${(byte ?? 0).toString(16).padStart(2, '0')}`;
}
