import { describe, expect, it } from 'vitest';
import { CommandQueue, MAX_QUEUED, NO_MARK_MS } from './command-queue';
import type { RunStatus } from './lab-state';

function setup() {
	const typed: string[] = [];
	const statuses: string[] = [];
	const waiting: boolean[] = [];
	let timers: { fn: () => void; at: number; cancelled: boolean }[] = [];
	let now = 0;
	const queue = new CommandQueue({
		type: (command) => typed.push(command),
		setTimer: (fn, ms) => {
			const timer = { fn, at: now + ms, cancelled: false };
			timers.push(timer);
			return () => (timer.cancelled = true);
		},
		onWaiting: (w) => waiting.push(w),
	});
	const job = (command: string) => ({
		command,
		report: (status: RunStatus) =>
			statuses.push(
				`${command}:${status.state}${'why' in status ? `:${status.why}` : ''}${'exitCode' in status ? `:${status.exitCode}` : ''}`,
			),
	});
	const advance = (ms: number) => {
		now += ms;
		const due = timers.filter((t) => !t.cancelled && t.at <= now);
		timers = timers.filter((t) => !due.includes(t));
		for (const t of due) t.fn();
	};
	/** What the node's bash prints for one command at a prompt. */
	const shellRuns = (status: number) => {
		queue.mark('C');
		queue.mark(`D;${status}`);
		queue.mark('A');
		queue.mark('B');
	};
	return { queue, typed, statuses, waiting, job, advance, shellRuns };
}

describe('the command queue of a terminal', () => {
	it('types the next command only once the previous one has finished', () => {
		const { queue, typed, statuses, job, shellRuns } = setup();
		queue.setConnected(true);
		queue.mark('A');
		queue.mark('B');
		queue.push(job('enable'));
		queue.push(job('start'));
		expect(typed).toEqual(['enable']);
		expect(statuses).toEqual(['start:queued:busy']);
		queue.mark('C');
		expect(typed).toEqual(['enable']);
		queue.mark('D;0');
		queue.mark('A');
		expect(typed).toEqual(['enable']);
		queue.mark('B');
		expect(typed).toEqual(['enable', 'start']);
		shellRuns(3);
		expect(statuses).toEqual([
			'start:queued:busy',
			'enable:running',
			'enable:done:0',
			'start:running',
			'start:done:3',
		]);
	});

	it('waits while a pager runs, says so, and types after it ends; «Отправить сейчас» does not wait', () => {
		const { queue, typed, waiting, job } = setup();
		queue.setConnected(true);
		queue.mark('B');
		queue.push(job('sudo systemctl status keepalived'));
		queue.mark('C'); // less is open now
		queue.push(job('sudo systemctl start keepalived'));
		expect(typed).toEqual(['sudo systemctl status keepalived']);
		expect(waiting).toEqual([true]);
		queue.mark('D;0'); // q
		queue.mark('A');
		queue.mark('B');
		expect(typed.at(-1)).toBe('sudo systemctl start keepalived');
		expect(waiting).toEqual([true, false]);

		queue.mark('C');
		queue.push(job('forced'));
		queue.force();
		expect(typed.at(-1)).toBe('forced');
	});

	it('waits for the connection, and types at once in a shell that prints no marks', () => {
		const { queue, typed, statuses, job } = setup();
		queue.push(job('early'));
		expect(typed).toEqual([]);
		queue.setConnected(true);
		queue.push(job('second'));
		expect(typed).toEqual(['early', 'second']);
		expect(statuses).toEqual(['early:queued:connecting', 'early:sent', 'second:sent']);
	});

	it('after «Отправить сейчас» in a shell without marks (sudo -i), types at once until a prompt of ours', () => {
		const { queue, typed, job } = setup();
		queue.setConnected(true);
		queue.mark('B');
		queue.push(job('sudo -i'));
		queue.mark('C'); // a root shell without marks: no D, no B
		queue.push(job('whoami'));
		expect(typed).toEqual(['sudo -i']);
		queue.force();
		queue.push(job('id'));
		expect(typed).toEqual(['sudo -i', 'whoami', 'id']);
		// `exit`: the learner's own shell and its marks are back.
		queue.mark('D;0');
		queue.mark('A');
		queue.mark('B');
		queue.mark('C');
		queue.push(job('waits again'));
		expect(typed.at(-1)).toBe('id');
	});

	it('notices marks that went missing: typed at a prompt, no start mark within NO_MARK_MS', () => {
		const { queue, typed, statuses, job, advance } = setup();
		queue.setConnected(true);
		queue.mark('B');
		queue.push(job('first'));
		queue.push(job('second'));
		expect(typed).toEqual(['first']);
		advance(NO_MARK_MS);
		expect(typed).toEqual(['first', 'second']);
		expect(statuses).toEqual(['second:queued:busy', 'first:sent', 'second:sent']);
	});

	it('holds at most MAX_QUEUED commands', () => {
		const { queue, job } = setup();
		for (let i = 0; i < MAX_QUEUED; i++) expect(queue.push(job(`c${i}`))).toBe(true);
		expect(queue.push(job('one too many'))).toBe(false);
		expect(queue.length).toBe(MAX_QUEUED);
	});
});
