import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from './clock';

describe('ManualClock', () => {
	it('stands still until advanced', () => {
		const clock = new ManualClock(1_000);
		expect(clock.now()).toBe(1_000);
		clock.advance(250);
		expect(clock.now()).toBe(1_250);
	});

	it('fires due timers in due order, ties in the order they were set, at their due time', () => {
		const clock = new ManualClock();
		const fired: string[] = [];
		const at = (name: string) => () => fired.push(`${name}@${clock.now()}`);
		clock.setTimeout(at('c'), 30);
		clock.setTimeout(at('a1'), 10);
		clock.setTimeout(at('a2'), 10);
		clock.setTimeout(at('later'), 31);
		clock.advance(30);
		expect(fired).toEqual(['a1@10', 'a2@10', 'c@30']);
		expect(clock.pendingTimers).toBe(1);
		clock.advance(1);
		expect(fired.at(-1)).toBe('later@31');
	});

	it('fires timers set by a timer when they fall due within the same advance', () => {
		const clock = new ManualClock();
		const fired: number[] = [];
		const tick = () => {
			fired.push(clock.now());
			clock.setTimeout(tick, 100);
		};
		clock.setTimeout(tick, 100);
		clock.advance(350);
		expect(fired).toEqual([100, 200, 300]);
		expect(clock.now()).toBe(350);
	});

	it('does not fire cleared timers and treats a negative delay as zero', () => {
		const clock = new ManualClock();
		const fired: string[] = [];
		const handle = clock.setTimeout(() => fired.push('cleared'), 5);
		clock.setTimeout(() => fired.push('soon'), -10);
		clock.clearTimeout(handle);
		clock.advance(0);
		expect(fired).toEqual(['soon']);
		clock.advance(10);
		expect(fired).toEqual(['soon']);
		expect(clock.pendingTimers).toBe(0);
	});

	it('refuses to go back in time', () => {
		expect(() => new ManualClock().advance(-1)).toThrow(RangeError);
	});
});

describe('systemClock', () => {
	it('runs and cancels real timers', async () => {
		const fired: string[] = [];
		const cancelled = systemClock.setTimeout(() => fired.push('cancelled'), 1);
		systemClock.clearTimeout(cancelled);
		await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
		expect(fired).toEqual([]);
		expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1_000);
	});
});
