import { describe, expect, it } from 'vitest';
import { DEFAULT_RING_CAPACITY, OutputRing } from './output-ring';

const text = new TextEncoder();
const ascii = (s: string) => text.encode(s);
const str = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('OutputRing', () => {
	it('defaults to 1 MiB', () => {
		expect(new OutputRing().capacity).toBe(DEFAULT_RING_CAPACITY);
		expect(DEFAULT_RING_CAPACITY).toBe(1024 * 1024);
	});

	it('keeps everything while under capacity', () => {
		const ring = new OutputRing(16);
		ring.append(ascii('hello '));
		ring.append(ascii('world'));
		expect([ring.start, ring.end]).toEqual([0, 11]);
		expect(str(ring.since(0).data)).toBe('hello world');
		expect(ring.since(6)).toEqual({ offset: 6, data: ascii('world') });
	});

	it('wraps around, keeping the newest capacity bytes in order', () => {
		const ring = new OutputRing(8);
		ring.append(ascii('abcdef'));
		ring.append(ascii('ghij'));
		expect([ring.start, ring.end]).toEqual([2, 10]);
		expect(str(ring.since(0).data)).toBe('cdefghij');
		ring.append(ascii('klm'));
		expect(ring.since(0)).toEqual({ offset: 5, data: ascii('fghijklm') });
		expect(str(ring.since(9).data)).toBe('jklm');
	});

	it('keeps only the tail of a chunk larger than the ring', () => {
		const ring = new OutputRing(4);
		ring.append(ascii('xy'));
		ring.append(ascii('0123456789'));
		expect([ring.start, ring.end]).toEqual([8, 12]);
		expect(str(ring.since(0).data)).toBe('6789');
		ring.append(ascii('ab'));
		expect(str(ring.since(0).data)).toBe('89ab');
	});

	it('handles a chunk of exactly the capacity at every alignment', () => {
		for (let shift = 0; shift < 5; shift++) {
			const ring = new OutputRing(5);
			ring.append(ascii('.'.repeat(shift)));
			ring.append(ascii('ABCDE'));
			expect(str(ring.since(0).data)).toBe('ABCDE');
		}
	});

	it('clamps offsets to what is kept', () => {
		const ring = new OutputRing(4);
		ring.append(ascii('abcdefgh'));
		expect(ring.since(1)).toEqual({ offset: 4, data: ascii('efgh') });
		expect(ring.since(8)).toEqual({ offset: 8, data: new Uint8Array(0) });
		expect(ring.since(1_000)).toEqual({ offset: 8, data: new Uint8Array(0) });
	});

	it('returns a copy that later appends do not change', () => {
		const ring = new OutputRing(4);
		ring.append(ascii('abcd'));
		const { data } = ring.since(0);
		ring.append(ascii('wxyz'));
		expect(str(data)).toBe('abcd');
	});

	it('matches a naive model under many random appends', () => {
		let seed = 42;
		const random = (n: number) => {
			seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
			return seed % n;
		};
		const ring = new OutputRing(97);
		const all: number[] = [];
		for (let i = 0; i < 500; i++) {
			const chunk = Uint8Array.from({ length: random(150) }, () => random(256));
			ring.append(chunk);
			all.push(...chunk);
			const ask = random(all.length + 10);
			const from = Math.min(Math.max(ask, all.length - 97, 0), all.length);
			expect(ring.since(ask)).toEqual({ offset: from, data: Uint8Array.from(all.slice(from)) });
		}
	});

	it('counts offsets past 2^32', () => {
		const ring = new OutputRing(8, 2 ** 32 - 3);
		ring.append(ascii('abcdef'));
		expect(ring.end).toBe(2 ** 32 + 3);
		expect(ring.since(2 ** 32)).toEqual({ offset: 2 ** 32, data: ascii('def') });
	});

	it('survives a snapshot and restore', () => {
		const ring = new OutputRing(8);
		ring.append(ascii('0123456789abc'));
		const snapshot = ring.snapshot();
		expect(snapshot).toEqual({ start: 5, data: ascii('56789abc') });

		const restored = OutputRing.restore(snapshot, 8);
		expect([restored.start, restored.end]).toEqual([5, 13]);
		restored.append(ascii('de'));
		expect(restored.since(0)).toEqual({ offset: 7, data: ascii('789abcde') });
	});

	it('restores into a smaller ring by keeping the newest bytes', () => {
		const restored = OutputRing.restore({ start: 100, data: ascii('abcdefgh') }, 3);
		expect(restored.since(0)).toEqual({ offset: 105, data: ascii('fgh') });
		expect(OutputRing.restore({ start: 0, data: ascii('x') }).capacity).toBe(DEFAULT_RING_CAPACITY);
	});

	it('rejects a bad capacity, start or offset', () => {
		expect(() => new OutputRing(0)).toThrow(/"capacity"/);
		expect(() => new OutputRing(1.5)).toThrow(TypeError);
		expect(() => OutputRing.restore({ start: -1, data: new Uint8Array() })).toThrow(/"start"/);
		expect(() => new OutputRing(4).since(Number.NaN)).toThrow(TypeError);
	});
});
