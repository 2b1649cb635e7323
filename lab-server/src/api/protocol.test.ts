import { describe, expect, it } from 'vitest';
import {
	CloseCode,
	MAX_FRAME_BYTES,
	MAX_HELLO_BYTES,
	MAX_INPUT_BYTES,
	ProtocolError,
	decodeClientFrame,
	decodeServerFrame,
	encodeClientFrame,
	encodeServerFrame,
	shouldReconnect,
	type ClientFrame,
	type ProtocolErrorCode,
	type ServerFrame,
} from './protocol';

const utf8 = new TextEncoder();

function bytes(...values: number[]): Uint8Array {
	return Uint8Array.from(values);
}

function jsonFrame(op: number, json: string): Uint8Array {
	return Uint8Array.from([op, ...utf8.encode(json)]);
}

function codeOf(run: () => unknown): ProtocolErrorCode {
	try {
		run();
	} catch (error) {
		if (error instanceof ProtocolError) return error.code;
		throw error;
	}
	throw new Error('expected a ProtocolError, nothing was thrown');
}

describe('client frames', () => {
	const frames: [string, ClientFrame, Uint8Array][] = [
		['input', { op: 'input', data: utf8.encode('ls -la\r') }, bytes(0, ...utf8.encode('ls -la\r'))],
		['empty input', { op: 'input', data: new Uint8Array(0) }, bytes(0)],
		['resize', { op: 'resize', cols: 300, rows: 2 }, bytes(1, 0x01, 0x2c, 0x00, 0x02)],
		['ack', { op: 'ack', bytes: 0x01020304 }, bytes(2, 1, 2, 3, 4)],
		[
			'hello',
			{ op: 'hello', v: 1, cols: 80, rows: 24 },
			jsonFrame(3, '{"v":1,"cols":80,"rows":24}'),
		],
		[
			'hello with resumeOffset past 2^32',
			{ op: 'hello', v: 1, cols: 1000, rows: 500, resumeOffset: 2 ** 40 },
			jsonFrame(3, `{"v":1,"cols":1000,"rows":500,"resumeOffset":${2 ** 40}}`),
		],
	];

	it.each(frames)('%s encodes to the documented bytes and decodes back', (_, frame, wire) => {
		const encoded = encodeClientFrame(frame);
		expect(encoded).toEqual(wire);
		expect(decodeClientFrame(encoded)).toEqual(frame);
	});

	it('reads fixed frames through a view at a non-zero offset (a pooled Buffer)', () => {
		const pool = new Uint8Array(64);
		pool.set(bytes(1, 0, 132, 0, 43), 7);
		expect(decodeClientFrame(pool.subarray(7, 12))).toEqual({ op: 'resize', cols: 132, rows: 43 });
	});

	it('keeps the largest ACK a u32 can say', () => {
		expect(decodeClientFrame(bytes(2, 0xff, 0xff, 0xff, 0xff))).toEqual({
			op: 'ack',
			bytes: 0xffff_ffff,
		});
	});

	it('accepts an INPUT of exactly the frame limit and drops unknown HELLO keys', () => {
		const input = new Uint8Array(MAX_FRAME_BYTES);
		expect(decodeClientFrame(input)).toMatchObject({ op: 'input' });
		expect(decodeClientFrame(jsonFrame(3, '{"v":1,"cols":2,"rows":3,"extra":true}'))).toEqual({
			op: 'hello',
			v: 1,
			cols: 2,
			rows: 3,
		});
	});

	const malformed: [string, Uint8Array, ProtocolErrorCode][] = [
		['empty', new Uint8Array(0), 'empty-frame'],
		['over MAX_FRAME_BYTES', new Uint8Array(MAX_FRAME_BYTES + 1), 'frame-too-large'],
		['unknown opcode', bytes(0x04, 1, 2), 'unknown-opcode'],
		['opcode 0xff', bytes(0xff), 'unknown-opcode'],
		['RESIZE too short', bytes(1, 0, 80, 0), 'bad-length'],
		['RESIZE too long', bytes(1, 0, 80, 0, 24, 0), 'bad-length'],
		['RESIZE zero cols', bytes(1, 0, 0, 0, 24), 'bad-size'],
		['RESIZE zero rows', bytes(1, 0, 80, 0, 0), 'bad-size'],
		['RESIZE 1001 cols', bytes(1, 0x03, 0xe9, 0, 24), 'bad-size'],
		['RESIZE 501 rows', bytes(1, 0, 80, 0x01, 0xf5), 'bad-size'],
		['ACK too short', bytes(2, 0, 0, 1), 'bad-length'],
		['ACK too long', bytes(2, 0, 0, 0, 1, 0), 'bad-length'],
		['ACK without payload', bytes(2), 'bad-length'],
		['HELLO not JSON', jsonFrame(3, '{"v":1,'), 'bad-json'],
		['HELLO empty', bytes(3), 'bad-json'],
		['HELLO broken UTF-8', bytes(3, 0x22, 0xc3, 0x28, 0x22), 'bad-json'],
		['HELLO an array', jsonFrame(3, '[1,80,24]'), 'bad-hello'],
		['HELLO null', jsonFrame(3, 'null'), 'bad-hello'],
		['HELLO a number', jsonFrame(3, '1'), 'bad-hello'],
		['HELLO without v', jsonFrame(3, '{"cols":80,"rows":24}'), 'bad-hello'],
		['HELLO v 2', jsonFrame(3, '{"v":2,"cols":80,"rows":24}'), 'unsupported-version'],
		['HELLO v "1"', jsonFrame(3, '{"v":"1","cols":80,"rows":24}'), 'unsupported-version'],
		['HELLO missing cols', jsonFrame(3, '{"v":1,"rows":24}'), 'bad-hello'],
		['HELLO string rows', jsonFrame(3, '{"v":1,"cols":80,"rows":"24"}'), 'bad-hello'],
		['HELLO zero cols', jsonFrame(3, '{"v":1,"cols":0,"rows":24}'), 'bad-size'],
		['HELLO fractional rows', jsonFrame(3, '{"v":1,"cols":80,"rows":24.5}'), 'bad-size'],
		['HELLO 501 rows', jsonFrame(3, '{"v":1,"cols":80,"rows":501}'), 'bad-size'],
		[
			'HELLO negative resumeOffset',
			jsonFrame(3, '{"v":1,"cols":80,"rows":24,"resumeOffset":-1}'),
			'bad-hello',
		],
		[
			'HELLO fractional resumeOffset',
			jsonFrame(3, '{"v":1,"cols":80,"rows":24,"resumeOffset":1.5}'),
			'bad-hello',
		],
		[
			'HELLO resumeOffset past 2^53',
			jsonFrame(3, '{"v":1,"cols":80,"rows":24,"resumeOffset":9007199254740993}'),
			'bad-hello',
		],
		[
			'HELLO null resumeOffset',
			jsonFrame(3, '{"v":1,"cols":80,"rows":24,"resumeOffset":null}'),
			'bad-hello',
		],
		[
			'HELLO over 1 KiB',
			jsonFrame(3, `{"v":1,"cols":80,"rows":24,"pad":"${'x'.repeat(MAX_HELLO_BYTES)}"}`),
			'bad-length',
		],
	];

	it.each(malformed)('rejects %s with %s', (_, frame, code) => {
		expect(codeOf(() => decodeClientFrame(frame))).toBe(code);
	});

	it('accepts a HELLO of exactly 1 KiB and not a byte more', () => {
		const hello = (bytes: number) => {
			const head = '{"v":1,"cols":80,"rows":24,"pad":"';
			return jsonFrame(3, head + 'x'.repeat(bytes - head.length - 2) + '"}');
		};
		expect(hello(MAX_HELLO_BYTES)).toHaveLength(1 + MAX_HELLO_BYTES);
		expect(decodeClientFrame(hello(MAX_HELLO_BYTES))).toMatchObject({ op: 'hello', cols: 80 });
		expect(codeOf(() => decodeClientFrame(hello(MAX_HELLO_BYTES + 1)))).toBe('bad-length');
	});

	it('explains the problem in the message', () => {
		expect(() => decodeClientFrame(jsonFrame(3, '{"v":7,"cols":80,"rows":24}'))).toThrow(
			'protocol version 7 is not supported: this server speaks 1',
		);
		expect(() => decodeClientFrame(bytes(1, 0, 0, 0, 24))).toThrow(
			'terminal size 0x24 is outside 1..1000 columns, 1..500 rows',
		);
	});

	it('refuses to encode what it would refuse to decode', () => {
		expect(codeOf(() => encodeClientFrame({ op: 'resize', cols: 0, rows: 24 }))).toBe('bad-size');
		expect(codeOf(() => encodeClientFrame({ op: 'hello', v: 1, cols: 80, rows: 0 }))).toBe(
			'bad-size',
		);
		expect(
			codeOf(() => encodeClientFrame({ op: 'hello', v: 1, cols: 80, rows: 24, resumeOffset: -5 })),
		).toBe('bad-hello');
		expect(codeOf(() => encodeClientFrame({ op: 'ack', bytes: 2 ** 32 }))).toBe('bad-payload');
		expect(codeOf(() => encodeClientFrame({ op: 'ack', bytes: -1 }))).toBe('bad-payload');
		expect(
			codeOf(() => encodeClientFrame({ op: 'input', data: new Uint8Array(MAX_INPUT_BYTES + 1) })),
		).toBe('frame-too-large');
		expect(encodeClientFrame({ op: 'input', data: new Uint8Array(MAX_INPUT_BYTES) })).toHaveLength(
			MAX_FRAME_BYTES,
		);
	});
});

describe('server frames', () => {
	const frames: [string, ServerFrame, Uint8Array][] = [
		['output', { op: 'output', data: bytes(27, 91, 72, 0, 255) }, bytes(0, 27, 91, 72, 0, 255)],
		[
			'ready',
			{ op: 'ready', offset: 2 ** 33 + 5, resumed: true },
			jsonFrame(1, `{"offset":${2 ** 33 + 5},"resumed":true}`),
		],
		[
			'ready with a replay',
			{
				op: 'ready',
				offset: 7,
				resumed: false,
				replay: {
					end: 90,
					sizes: [
						{ from: 0, cols: 120, rows: 30 },
						{ from: 40, cols: 60, rows: 30 },
					],
				},
			},
			jsonFrame(
				1,
				'{"offset":7,"resumed":false,"replay":{"end":90,"sizes":[{"from":0,"cols":120,"rows":30},{"from":40,"cols":60,"rows":30}]}}',
			),
		],
		['exit', { op: 'exit', code: 130 }, jsonFrame(2, '{"code":130}')],
		[
			'error',
			{ op: 'error', code: 'lab-ended', message: 'Лаборатория завершена' },
			jsonFrame(3, '{"code":"lab-ended","message":"Лаборатория завершена"}'),
		],
	];

	it.each(frames)('%s encodes to the documented bytes and decodes back', (_, frame, wire) => {
		const encoded = encodeServerFrame(frame);
		expect(encoded).toEqual(wire);
		expect(decodeServerFrame(encoded)).toEqual(frame);
	});

	it('allows OUTPUT larger than a client frame (the server batches)', () => {
		const data = new Uint8Array(MAX_FRAME_BYTES * 4).fill(121);
		expect(decodeServerFrame(encodeServerFrame({ op: 'output', data }))).toEqual({
			op: 'output',
			data,
		});
	});

	const malformed: [string, Uint8Array, ProtocolErrorCode][] = [
		['empty', new Uint8Array(0), 'empty-frame'],
		['unknown opcode', bytes(9), 'unknown-opcode'],
		['READY not JSON', jsonFrame(1, 'ready'), 'bad-json'],
		['READY without resumed', jsonFrame(1, '{"offset":0}'), 'bad-payload'],
		['READY negative offset', jsonFrame(1, '{"offset":-1,"resumed":false}'), 'bad-payload'],
		['READY replay ending at offset', readyFrame(5, []), 'bad-payload'],
		['READY replay without sizes', readyFrame(9, []), 'bad-payload'],
		['READY replay size without rows', readyFrame(9, ['{"from":0,"cols":80}']), 'bad-payload'],
		['READY replay 0 columns wide', readyFrame(9, ['{"from":0,"cols":0,"rows":9}']), 'bad-size'],
		[
			'READY replay sizes out of order',
			readyFrame(99, ['{"from":8,"cols":80,"rows":24}', '{"from":8,"cols":60,"rows":24}']),
			'bad-payload',
		],
		[
			'READY replay size past its end',
			readyFrame(9, ['{"from":9,"cols":80,"rows":24}']),
			'bad-payload',
		],
		[
			'READY replay a number',
			jsonFrame(1, '{"offset":5,"resumed":true,"replay":9}'),
			'bad-payload',
		],
		[
			'READY replay with too many sizes',
			readyFrame(
				999,
				Array.from({ length: 33 }, (_, i) => `{"from":${i},"cols":80,"rows":24}`),
			),
			'bad-payload',
		],
		['EXIT fractional code', jsonFrame(2, '{"code":1.5}'), 'bad-payload'],
		['EXIT an array', jsonFrame(2, '[0]'), 'bad-payload'],
		['ERROR numeric code', jsonFrame(3, '{"code":1,"message":"x"}'), 'bad-payload'],
	];

	it.each(malformed)('rejects %s with %s', (_, frame, code) => {
		expect(codeOf(() => decodeServerFrame(frame))).toBe(code);
	});
});

/** A READY frame at offset 5 whose replay ends at `end`, with these sizes (JSON texts). */
function readyFrame(end: number, sizes: string[]): Uint8Array {
	return jsonFrame(
		1,
		`{"offset":5,"resumed":true,"replay":{"end":${end},"sizes":[${sizes.join(',')}]}}`,
	);
}

describe('shouldReconnect', () => {
	it.each([1001, 1005, 1006, 1011, 1012, 1013, 1014, 4013, 4014])('reconnects after %i', (code) => {
		expect(shouldReconnect(code)).toBe(true);
	});

	it.each([1000, 1002, 1003, 1007, 1008, 1009, 1010, 1015, 3000, 4999])(
		'does not reconnect after %i',
		(code) => {
			expect(shouldReconnect(code)).toBe(false);
		},
	);

	it('does not reconnect after any of our other close codes', () => {
		const resumable: number[] = [
			CloseCode.SERVER_RESTARTING,
			CloseCode.NODE_RESET,
			CloseCode.CLIENT_TOO_SLOW,
		];
		expect(resumable.every(shouldReconnect)).toBe(true);
		const others = Object.values(CloseCode).filter((code) => !resumable.includes(code));
		expect(others).toHaveLength(11);
		expect(others.filter(shouldReconnect)).toEqual([]);
	});
});
