import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock';
import { LabActivity } from '../labs/activity';
import { BootYield, TYPING_PAUSE_MS, YIELD_BUDGET_MS, type Freezable } from './boot-yield';

/** Keystrokes on a manual clock, and a container that records what it was asked. */
function setup() {
	const clock = new ManualClock(1_000_000);
	const activity = new LabActivity(clock, async () => {});
	const calls: string[] = [];
	const container: Freezable = {
		pause: async () => void calls.push('pause'),
		unpause: async () => void calls.push('unpause'),
	};
	const by = new BootYield(activity, clock);
	/** A keystroke every `every` ms for `forMs`, the clock moved on meanwhile. */
	const type = (forMs: number, every = 50) => {
		for (let t = 0; t < forMs; t += every) {
			activity.note('lab-a');
			clock.advance(every);
		}
	};
	const settle = () => new Promise((resolve) => setImmediate(resolve));
	return { clock, activity, calls, container, by, type, settle };
}

describe('a boot that gives way to typing', () => {
	it('goes on at once when nobody has typed, or nobody typed for a pause', async () => {
		const { clock, activity, by } = setup();
		await by.pause();
		activity.note('lab-a');
		clock.advance(TYPING_PAUSE_MS);
		await by.pause();
	});

	it('waits for the pause in typing', async () => {
		const { clock, activity, by, settle } = setup();
		activity.note('lab-a');
		let done = false;
		void by.pause().then(() => (done = true));
		clock.advance(TYPING_PAUSE_MS - 1);
		await settle();
		expect(done).toBe(false);
		clock.advance(1);
		await settle();
		expect(done).toBe(true);
	});

	it('gives way for no longer than its budget to typing that never stops', async () => {
		const { by, type, settle } = setup();
		let done = false;
		type(100);
		void by.pause().then(() => (done = true));
		type(YIELD_BUDGET_MS - 200);
		await settle();
		expect(done).toBe(false);
		type(200);
		await settle();
		expect(done).toBe(true);
		// Spent: the next step does not wait either.
		type(100);
		await by.pause();
	});

	it('freezes a booting node at a keystroke and thaws it at the next pause', async () => {
		const { clock, activity, calls, container, by, settle } = setup();
		const freeze = by.freezeWhileTyping(container);
		activity.note('lab-a');
		activity.note('lab-b');
		await settle();
		expect(calls).toEqual(['pause']);
		clock.advance(TYPING_PAUSE_MS);
		await settle();
		expect(calls).toEqual(['pause', 'unpause']);
		activity.note('lab-a');
		await freeze.stop();
		expect(calls).toEqual(['pause', 'unpause', 'pause', 'unpause']);
		// Stopped: keystrokes freeze it no more.
		activity.note('lab-a');
		clock.advance(TYPING_PAUSE_MS);
		await settle();
		expect(calls).toHaveLength(4);
	});

	it('never freezes a node while something runs in it, and freezes it after if typing goes on', async () => {
		const { clock, activity, calls, container, by, settle } = setup();
		const freeze = by.freezeWhileTyping(container);
		activity.note('lab-a');
		await settle();
		expect(calls).toEqual(['pause']);
		let finish = () => {};
		const running = freeze.exclusive(async () => {
			calls.push('exec');
			await new Promise<void>((resolve) => (finish = resolve));
			return 'done';
		});
		await settle();
		activity.note('lab-a');
		await settle();
		expect(calls).toEqual(['pause', 'unpause', 'exec']);
		finish();
		await expect(running).resolves.toBe('done');
		await settle();
		expect(calls).toEqual(['pause', 'unpause', 'exec', 'pause']);
		clock.advance(TYPING_PAUSE_MS);
		await settle();
		expect(calls).toEqual(['pause', 'unpause', 'exec', 'pause', 'unpause']);
		await freeze.stop();
	});

	it('thaws a node for good once the budget is spent, however the typing goes on', async () => {
		const { calls, container, by, type, settle } = setup();
		const freeze = by.freezeWhileTyping(container);
		type(YIELD_BUDGET_MS + 1_000);
		await settle();
		expect(calls).toEqual(['pause', 'unpause']);
		await freeze.stop();
		expect(calls).toEqual(['pause', 'unpause']);
	});

	it('keeps going when the node is gone meanwhile', async () => {
		const { activity, by } = setup();
		const gone: Freezable = {
			pause: () => Promise.reject(new Error('no such container')),
			unpause: () => Promise.reject(new Error('no such container')),
		};
		const freeze = by.freezeWhileTyping(gone);
		activity.note('lab-a');
		await expect(freeze.stop()).resolves.toBeUndefined();
	});
});
