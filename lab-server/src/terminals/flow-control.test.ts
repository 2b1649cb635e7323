import { describe, expect, it } from 'vitest';
import { FlowControl } from './flow-control';

function flow(high = 100, low = 20) {
	const events: string[] = [];
	const control = new FlowControl({
		high,
		low,
		onPause: () => events.push('pause'),
		onResume: () => events.push('resume'),
	});
	return { control, events };
}

describe('FlowControl', () => {
	it('pauses only once unacked goes above high', () => {
		const { control, events } = flow();
		control.sent(100);
		expect(control.paused).toBe(false);
		control.sent(1);
		expect(control.paused).toBe(true);
		expect(control.unacked).toBe(101);
		control.sent(500);
		expect(events).toEqual(['pause']);
	});

	it('resumes only once unacked falls below low', () => {
		const { control, events } = flow();
		control.sent(150);
		control.acked(130);
		expect(control.unacked).toBe(20);
		expect(control.paused).toBe(true);
		control.acked(1);
		expect(control.paused).toBe(false);
		expect(events).toEqual(['pause', 'resume']);
	});

	it('does not resume between the watermarks', () => {
		const { control, events } = flow();
		control.sent(101);
		control.acked(50);
		control.sent(10);
		control.acked(10);
		expect(control.paused).toBe(true);
		expect(events).toEqual(['pause']);
	});

	it('does not fire resume when acks arrive while not paused', () => {
		const { control, events } = flow();
		control.sent(50);
		control.acked(50);
		expect(events).toEqual([]);
	});

	it('clamps acks beyond what was sent', () => {
		const { control, events } = flow();
		control.sent(120);
		control.acked(1_000_000);
		expect(control.unacked).toBe(0);
		control.sent(101);
		expect(control.paused).toBe(true);
		expect(events).toEqual(['pause', 'resume', 'pause']);
	});

	it('reset forgets what is outstanding and resumes', () => {
		const { control, events } = flow();
		control.sent(200);
		control.reset();
		expect(control.unacked).toBe(0);
		expect(control.paused).toBe(false);
		control.reset();
		expect(events).toEqual(['pause', 'resume']);
	});

	it('throws a TypeError naming the options when low >= high', () => {
		expect(() => flow(100, 100)).toThrow(
			new TypeError('FlowControl: "low" (100) must be less than "high" (100)'),
		);
		expect(() => flow(10, 20)).toThrow(TypeError);
		expect(() => flow(-1, -5)).toThrow(/"high" and "low"/);
	});

	it('rejects negative or fractional byte counts', () => {
		const { control } = flow();
		expect(() => control.sent(-1)).toThrow(RangeError);
		expect(() => control.acked(1.5)).toThrow(RangeError);
	});
});
