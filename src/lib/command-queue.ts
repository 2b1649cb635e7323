/**
 * Commands the page's buttons send to one terminal, typed only when the shell is at its prompt.
 *
 * The node's bash prints shell-integration marks (OSC 133, docker/node/rootfs/etc/skel/.bashrc.lab):
 * `A`/`B` around the prompt, `C` when a command starts, `D;<status>` when it ends. From them the
 * queue knows whether the shell waits for a command; while a command or a pager (`systemctl
 * status` opens `less`) runs, a button's command waits instead of being typed into it, and each
 * command's status goes back to its button: queued, running, done with its exit status.
 *
 * Without marks (a root shell from `sudo -i`, a learner's own PROMPT_COMMAND) commands are typed
 * at once as before and reported `sent`; a command typed at a prompt whose `C` never comes within
 * NO_MARK_MS means the marks are gone. `force()` types the next command whatever the state (the
 * learner's «Отправить сейчас») and stops waiting until the next prompt of ours. Pure logic: the terminal element feeds it marks and connection
 * changes, and gives it a way to type and a timer.
 */
import type { RunStatus } from './lab-state';

export interface Job {
	command: string;
	report?: (status: RunStatus) => void;
}

export interface QueueDeps {
	type: (command: string) => void;
	setTimer: (fn: () => void, ms: number) => () => void;
	/** The next command waits for a busy shell (true), or no longer does (false). */
	onWaiting?: (waiting: boolean) => void;
}

/** At most this many commands wait per terminal; more are refused (a button pressed in a loop). */
export const MAX_QUEUED = 20;
/** A command typed at the prompt starts at once; without its `C` mark by then, marks are gone. */
export const NO_MARK_MS = 5_000;

type Shell = 'unknown' | 'prompt' | 'busy';

export class CommandQueue {
	#jobs: Job[] = [];
	/** Typed at the prompt; waiting for its `C` (started false), then its `D`. */
	#current: { job: Job; started: boolean; cancelTimer: () => void } | null = null;
	#shell: Shell = 'unknown';
	/** Marks have been seen in this terminal, and not found missing since. */
	#integrated = false;
	#connected = false;
	#waiting = false;
	#deps: QueueDeps;

	constructor(deps: QueueDeps) {
		this.#deps = deps;
	}

	/** Queues a command; false when the queue is full. */
	push(job: Job): boolean {
		if (this.#jobs.length >= MAX_QUEUED) return false;
		this.#jobs.push(job);
		if (!this.#connected) job.report?.({ state: 'queued', why: 'connecting' });
		this.#pump();
		return true;
	}

	/** The socket is up (READY) or down. */
	setConnected(connected: boolean): void {
		this.#connected = connected;
		this.#pump();
	}

	/** A new shell (node reset, the old one gone): what was typed into the old one is over. */
	newShell(): void {
		this.#finishCurrent(null);
		this.#shell = 'unknown';
	}

	/** An OSC 133 mark from the terminal's output: `A`, `B`, `C`, `D` or `D;<status>`. */
	mark(data: string): void {
		const [kind, status] = data.split(';');
		if (kind === 'C') {
			this.#shell = 'busy';
			if (this.#current && !this.#current.started) {
				this.#current.started = true;
				this.#current.cancelTimer();
				this.#current.job.report?.({ state: 'running' });
			}
		} else if (kind === 'D') {
			const code = status !== undefined && /^\d{1,3}$/.test(status) ? Number(status) : null;
			if (this.#current?.started) this.#finishCurrent(code);
		} else if (kind === 'B') {
			this.#integrated = true;
			this.#shell = 'prompt';
			// A prompt after a command whose end mark went missing: it is over all the same.
			if (this.#current?.started) this.#finishCurrent(null);
			this.#pump();
		}
	}

	/** Types the next command now, whatever the shell is doing («Отправить сейчас»). */
	force(): void {
		const job = this.#jobs.shift();
		if (!job || !this.#connected) {
			if (job) this.#jobs.unshift(job);
			return;
		}
		this.#finishCurrent(null);
		// The learner says the terminal takes input without a prompt of ours (a root shell, a
		// program that reads lines): stop waiting for marks until a prompt of ours is back.
		this.#integrated = false;
		this.#type(job, false);
		this.#pump();
	}

	/** Forgets every waiting command (the lab went away). */
	clear(): void {
		this.#current?.cancelTimer();
		this.#current = null;
		this.#jobs = [];
		this.#setWaiting(false);
	}

	get length(): number {
		return this.#jobs.length;
	}

	#pump(): void {
		while (this.#jobs.length > 0 && this.#connected) {
			if (this.#integrated && (this.#shell !== 'prompt' || this.#current)) {
				this.#jobs[0]!.report?.({ state: 'queued', why: 'busy' });
				this.#setWaiting(true);
				return;
			}
			this.#type(this.#jobs.shift()!, this.#integrated);
		}
		this.#setWaiting(false);
	}

	#type(job: Job, followed: boolean): void {
		this.#deps.type(job.command);
		if (!followed) {
			job.report?.({ state: 'sent' });
			return;
		}
		this.#shell = 'busy';
		const cancelTimer = this.#deps.setTimer(() => {
			// Typed at a prompt and no `C`: the marks are gone (another shell, a changed profile).
			if (this.#current?.job !== job || this.#current.started) return;
			this.#current = null;
			this.#integrated = false;
			job.report?.({ state: 'sent' });
			this.#pump();
		}, NO_MARK_MS);
		this.#current = { job, started: false, cancelTimer };
	}

	#finishCurrent(code: number | null): void {
		const current = this.#current;
		if (!current) return;
		current.cancelTimer();
		this.#current = null;
		current.job.report?.(current.started ? { state: 'done', exitCode: code } : { state: 'sent' });
	}

	#setWaiting(waiting: boolean): void {
		if (waiting === this.#waiting) return;
		this.#waiting = waiting;
		this.#deps.onWaiting?.(waiting);
	}
}
