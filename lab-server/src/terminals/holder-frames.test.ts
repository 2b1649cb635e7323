import { describe, expect, it } from 'vitest';
import {
	HolderFrameError,
	HolderFrameParser,
	MAX_HOLDER_FRAME,
	helloFrame,
	inputFrames,
	resizeFrame,
} from './holder-frames';

const frame = (type: string, payload: Buffer) => {
	const head = Buffer.alloc(5);
	head[0] = type.charCodeAt(0);
	head.writeUInt32BE(payload.byteLength, 1);
	return Buffer.concat([head, payload]);
};
const attached = (from: bigint, dropped: bigint) => {
	const p = Buffer.alloc(16);
	p.writeBigUInt64BE(from, 0);
	p.writeBigUInt64BE(dropped, 8);
	return frame('a', p);
};

describe('holder frames', () => {
	it('encodes what the server sends as the holder reads it', () => {
		expect(helloFrame(258).toString('hex')).toBe('68000000080000000000000102');
		expect(resizeFrame(120, 40).toString('hex')).toBe('7200000004' + '0078' + '0028');
		const long = inputFrames(Buffer.alloc(MAX_HOLDER_FRAME + 3, 1));
		expect(long.map((f) => f.byteLength)).toEqual([MAX_HOLDER_FRAME + 5, 8]);
	});

	it('parses frames however the stream is cut', () => {
		const bytes = Buffer.concat([
			attached(100n, 20n),
			frame('o', Buffer.from('hello')),
			frame('x', Buffer.from([0, 0, 0, 7])),
		]);
		const parser = new HolderFrameParser();
		const frames = [...bytes].flatMap((byte) => parser.push(Buffer.from([byte])));
		expect(frames).toEqual([
			{ type: 'attached', from: 100, dropped: 20 },
			{ type: 'output', data: Buffer.from('hello') },
			{ type: 'exit', code: 7 },
		]);
	});

	it('refuses what a replaced holder might send', () => {
		const bad = [
			frame('o', Buffer.alloc(0)).fill(0xff, 1, 5),
			frame('?', Buffer.alloc(0)),
			frame('a', Buffer.alloc(3)),
			attached(5n, 6n),
			attached(1n << 60n, 0n),
			frame('x', Buffer.alloc(2)),
		];
		for (const bytes of bad) {
			expect(() => new HolderFrameParser().push(bytes), bytes.toString('hex')).toThrow(
				HolderFrameError,
			);
		}
	});
});
