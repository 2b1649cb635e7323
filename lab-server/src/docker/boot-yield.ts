/**
 * A boot nobody waits for (the public warm pool's) gives way to learners typing. On two cores a
 * lab's boot (Docker's network and containers, then two systemd boots) keeps both cores busy for
 * about a second, and every keystroke's echo on the host waits behind it: in the kernel, in
 * dockerd and runc, and in systemd's units, which no CPU weight of ours reaches (measured: the
 * lab server's own thread, niced, still waited up to 14 ms for a CPU). So the boot's work moves
 * into the pauses between keystrokes instead:
 *
 * - each of its Docker steps (the network, a node's container) starts only at a pause in typing;
 * - while a node's systemd boots, the node is frozen (the cgroup freezer: `docker pause`) from a
 *   keystroke until the next pause, and thawed then; whether it has booted is asked only at
 *   pauses, with the node thawed (nodes.ts `waitForBoot`).
 *
 * A pause is TYPING_PAUSE_MS without a keystroke on the server. A boot gives way for at most
 * YIELD_BUDGET_MS in all, counted from the first time it does: learners who never stop typing
 * (or a script typing to hold the pool back) delay it by that much, never more.
 */
import type { Clock } from '../lib/clock';

/** No keystroke on the server for this long is a pause in typing. */
export const TYPING_PAUSE_MS = 500;
/** A boot gives way for at most this long in all. */
export const YIELD_BUDGET_MS = 10_000;

/** Keystrokes on this server (labs/activity.ts). */
export interface Typing {
	/** When a learner last typed into any lab (clock ms); null if never. */
	lastInput(): number | null;
	/** Calls `listener` on every keystroke, until the returned function is called. */
	onInput(listener: () => void): () => void;
}

/** What a freeze needs of a container (dockerode's `Container`). */
export interface Freezable {
	pause(): Promise<unknown>;
	unpause(): Promise<unknown>;
}

/** A node frozen while learners type, from its start until it has booted. */
export interface NodeFreeze {
	/**
	 * Runs `fn` (a `docker exec` in the node) with the node thawed and kept so until it is done:
	 * a freeze that lands while runc starts an exec hangs both the exec and Docker's unpause
	 * (runc's init is frozen half-way; seen here).
	 */
	exclusive<T>(fn: () => Promise<T>): Promise<T>;
	/** Thaws the node for good. */
	stop(): Promise<void>;
}

export class BootYield {
	#typing: Typing;
	#clock: Clock;
	/** Past this time the boot gives way no more; null until it first gives way. */
	#until: number | null = null;

	constructor(typing: Typing, clock: Clock) {
		this.#typing = typing;
		this.#clock = clock;
	}

	/** Milliseconds until the next pause in typing (0: there is one now), within the budget. */
	#wait(): number {
		const now = this.#clock.now();
		const last = this.#typing.lastInput();
		const left = last === null ? 0 : last + TYPING_PAUSE_MS - now;
		if (left <= 0) return 0;
		this.#until ??= now + YIELD_BUDGET_MS;
		return Math.max(0, Math.min(left, this.#until - now));
	}

	/** Resolves at the next pause in typing (at once if this is one), or when the budget is spent. */
	async pause(): Promise<void> {
		for (let wait = this.#wait(); wait > 0; wait = this.#wait()) {
			await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, wait));
		}
	}

	/**
	 * Freezes `container` at each keystroke and thaws it at the next pause, until `stop`; never
	 * while `exclusive` runs something on it.
	 */
	freezeWhileTyping(container: Freezable): NodeFreeze {
		let frozen = false;
		let stopped = false;
		let held = 0;
		let timer: unknown = null;
		// Pause and unpause in the order they were asked for (each is a call to Docker).
		let calls: Promise<unknown> = Promise.resolve();
		const call = (fn: () => Promise<unknown>) => {
			// The node may be gone (a failed boot is being removed): nothing is left to freeze.
			calls = calls.then(fn).catch(() => undefined);
			return calls.then(() => undefined);
		};
		const thaw = () => {
			if (timer !== null) this.#clock.clearTimeout(timer);
			timer = null;
			if (!frozen) return calls.then(() => undefined);
			frozen = false;
			return call(() => container.unpause());
		};
		const thawAtPause = () => {
			const wait = this.#wait();
			if (wait <= 0) void thaw();
			else timer = this.#clock.setTimeout(thawAtPause, wait);
		};
		const freeze = () => {
			if (stopped || frozen || held > 0 || this.#wait() <= 0) return;
			frozen = true;
			void call(() => container.pause());
			thawAtPause();
		};
		const unsubscribe = this.#typing.onInput(freeze);
		return {
			async exclusive<T>(fn: () => Promise<T>): Promise<T> {
				held++;
				try {
					await thaw();
					return await fn();
				} finally {
					held--;
					freeze();
				}
			},
			stop: () => {
				stopped = true;
				unsubscribe();
				return thaw();
			},
		};
	}
}
