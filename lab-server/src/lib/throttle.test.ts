import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock';
import { keyedThrottle } from './throttle';

describe('keyedThrottle', () => {
	it('calls at once, then once per interval with the latest call, per key', () => {
		const clock = new ManualClock(0);
		const throttle = keyedThrottle(clock, 250);
		const calls: string[] = [];
		throttle('a', () => calls.push('a1'));
		throttle('b', () => calls.push('b1'));
		for (let i = 2; i <= 1000; i++) throttle('a', () => calls.push(`a${i}`));
		expect(calls).toEqual(['a1', 'b1']);
		clock.advance(250);
		expect(calls).toEqual(['a1', 'b1', 'a1000']);
		clock.advance(10_000);
		expect(calls).toEqual(['a1', 'b1', 'a1000']);
		throttle('a', () => calls.push('again'));
		expect(calls.at(-1)).toBe('again');
	});
});
