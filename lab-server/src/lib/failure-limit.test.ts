import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock';
import { FailureLimit } from './failure-limit';

function limit(maxKeys = 100) {
	const clock = new ManualClock(1_700_000_000_000);
	return { clock, limit: new FailureLimit({ maxFailures: 3, windowMs: 60_000, maxKeys, clock }) };
}

describe('FailureLimit', () => {
	it('refuses a key after its failures, until the window from its first failure ends', () => {
		const { clock, limit: l } = limit();
		l.fail('a');
		clock.advance(10_000);
		l.fail('a');
		expect(l.retryAfterMs('a')).toBe(0);
		l.fail('a');
		expect(l.retryAfterMs('a')).toBe(50_000);
		expect(l.retryAfterMs('b')).toBe(0);
		clock.advance(49_999);
		expect(l.retryAfterMs('a')).toBe(1);
		clock.advance(1);
		expect(l.retryAfterMs('a')).toBe(0);
		l.fail('a');
		expect(l.retryAfterMs('a')).toBe(0);
	});

	it('forgets a key that succeeded', () => {
		const { limit: l } = limit();
		for (let i = 0; i < 3; i++) l.fail('a');
		l.clear('a');
		expect(l.retryAfterMs('a')).toBe(0);
	});

	it('remembers at most maxKeys keys, forgetting the oldest', () => {
		const { limit: l } = limit(10);
		for (let i = 0; i < 1000; i++) l.fail(`k${i}`);
		expect(l.size).toBe(10);
		for (let i = 0; i < 3; i++) l.fail('last');
		expect(l.retryAfterMs('last')).toBe(60_000);
	});

	it('names a bad option', () => {
		expect(
			() => new FailureLimit({ maxFailures: 0, windowMs: 1, maxKeys: 1 }),
		).toThrowErrorMatchingInlineSnapshot(
			`[TypeError: FailureLimit: "maxFailures" must be a positive number, got 0]`,
		);
	});
});
