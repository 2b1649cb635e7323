import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock';
import { TokenBucket } from './rate-limit';

function bucket(ratePerSecond: number, burst: number) {
	const clock = new ManualClock(1_700_000_000_000);
	return { clock, bucket: new TokenBucket({ ratePerSecond, burst, clock }) };
}

describe('TokenBucket', () => {
	it('starts full and allows a burst, then refuses', () => {
		const { bucket: b } = bucket(1_000, 4_000);
		expect(b.take(3_000)).toBe(true);
		expect(b.take(1_000)).toBe(true);
		expect(b.take(1)).toBe(false);
	});

	it('refills at the rate, never above the burst', () => {
		const { clock, bucket: b } = bucket(1_000, 4_000);
		b.take(4_000);
		clock.advance(500);
		expect(b.available).toBe(500);
		expect(b.take(501)).toBe(false);
		expect(b.take(500)).toBe(true);
		clock.advance(60_000);
		expect(b.available).toBe(4_000);
	});

	it('takes nothing when it refuses', () => {
		const { clock, bucket: b } = bucket(100, 100);
		b.take(100);
		clock.advance(500);
		expect(b.take(80)).toBe(false);
		expect(b.take(50)).toBe(true);
	});

	it('never grants more than the burst at once', () => {
		const { clock, bucket: b } = bucket(1_000, 1_000);
		clock.advance(10_000);
		expect(b.take(1_001)).toBe(false);
		expect(b.take(1_000)).toBe(true);
	});

	it('sustains exactly the rate over time', () => {
		const { clock, bucket: b } = bucket(65_536, 65_536);
		b.take(65_536);
		let granted = 0;
		for (let ms = 0; ms < 10_000; ms += 10) {
			clock.advance(10);
			while (b.take(100)) granted += 100;
		}
		expect(granted).toBeGreaterThan(65_536 * 10 - 200);
		expect(granted).toBeLessThanOrEqual(65_536 * 10);
	});

	it('does not drain or refill when the clock steps backwards', () => {
		const clock = { now: () => t, setTimeout: () => 0, clearTimeout: () => {} };
		let t = 10_000;
		const b = new TokenBucket({ ratePerSecond: 10, burst: 10, clock });
		b.take(5);
		t = 5_000;
		expect(b.available).toBe(5);
		t = 5_100;
		expect(b.available).toBe(6);
	});

	it('rejects options that make no sense, naming them', () => {
		expect(() => new TokenBucket({ ratePerSecond: 0, burst: 10 })).toThrow(/"ratePerSecond"/);
		expect(() => new TokenBucket({ ratePerSecond: 10, burst: Number.NaN })).toThrow(/"burst"/);
		expect(() => new TokenBucket({ ratePerSecond: 10, burst: 10 }).take(-1)).toThrow(RangeError);
	});
});
