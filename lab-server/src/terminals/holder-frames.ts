/**
 * The frames between the lab server and a terminal's holder in the node (docker/node/labterm):
 * one type byte, a 4-byte big-endian length, the payload. What the holder sends is parsed as
 * hostile input — root in the node can replace the holder — so every frame is bounded, and
 * anything malformed ends the parse with an error instead of being guessed at.
 */

/** The largest payload either side sends (the holder's output frames are at most this). */
export const MAX_HOLDER_FRAME = 64 * 1024;

export type HolderFrame =
	/** Output follows from `from` (the holder's byte count); `dropped` bytes before it are lost. */
	| { type: 'attached'; from: number; dropped: number }
	| { type: 'output'; data: Buffer }
	| { type: 'exit'; code: number };

export function helloFrame(offset: number): Buffer {
	const payload = Buffer.alloc(8);
	payload.writeBigUInt64BE(BigInt(offset));
	return frame('h', payload);
}

export function inputFrames(data: Uint8Array): Buffer[] {
	const frames: Buffer[] = [];
	for (let at = 0; at < data.byteLength; at += MAX_HOLDER_FRAME) {
		frames.push(frame('i', Buffer.from(data.subarray(at, at + MAX_HOLDER_FRAME))));
	}
	return frames;
}

export function resizeFrame(cols: number, rows: number): Buffer {
	const payload = Buffer.alloc(4);
	payload.writeUInt16BE(cols, 0);
	payload.writeUInt16BE(rows, 2);
	return frame('r', payload);
}

function frame(type: string, payload: Buffer): Buffer {
	const head = Buffer.alloc(5);
	head[0] = type.charCodeAt(0);
	head.writeUInt32BE(payload.byteLength, 1);
	return Buffer.concat([head, payload]);
}

export class HolderFrameError extends Error {
	override readonly name = 'HolderFrameError';
}

/** Splits what the holder sends into frames, however it is chunked. */
export class HolderFrameParser {
	#pending: Buffer[] = [];

	/** The frames completed by `chunk`; throws HolderFrameError on a malformed one. */
	push(chunk: Buffer): HolderFrame[] {
		this.#pending.push(chunk);
		const frames: HolderFrame[] = [];
		let buffer = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
		let at = 0;
		while (buffer.byteLength - at >= 5) {
			const type = String.fromCharCode(buffer[at]!);
			const length = buffer.readUInt32BE(at + 1);
			if (length > MAX_HOLDER_FRAME) {
				throw new HolderFrameError(`a frame of ${length} bytes (at most ${MAX_HOLDER_FRAME})`);
			}
			if (buffer.byteLength - at < 5 + length) break;
			const payload = buffer.subarray(at + 5, at + 5 + length);
			frames.push(decode(type, payload));
			at += 5 + length;
		}
		buffer = buffer.subarray(at);
		this.#pending = buffer.byteLength > 0 ? [buffer] : [];
		return frames;
	}
}

function decode(type: string, payload: Buffer): HolderFrame {
	switch (type) {
		case 'o':
			return { type: 'output', data: payload };
		case 'a': {
			if (payload.byteLength !== 16) throw new HolderFrameError('an attach frame not of 16 bytes');
			const from = payload.readBigUInt64BE(0);
			const dropped = payload.readBigUInt64BE(8);
			if (from > BigInt(Number.MAX_SAFE_INTEGER) || dropped > from) {
				throw new HolderFrameError('an attach frame with impossible offsets');
			}
			return { type: 'attached', from: Number(from), dropped: Number(dropped) };
		}
		case 'x':
			if (payload.byteLength !== 4) throw new HolderFrameError('an exit frame not of 4 bytes');
			return { type: 'exit', code: payload.readInt32BE(0) };
		default:
			throw new HolderFrameError(`an unknown frame type ${JSON.stringify(type)}`);
	}
}
