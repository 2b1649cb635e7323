/**
 * At most one call per key every `ms`: the first at once, the rest folded into one trailing call
 * with the latest arguments. For signals whose source is the learner (a shell can print a
 * command-finished mark in a loop), so that a flood costs one call per interval.
 */
import type { Clock } from './clock';

export function keyedThrottle(clock: Clock, ms: number): (key: string, call: () => void) => void {
	const state = new Map<string, { last: number; trailing: (() => void) | null }>();
	return (key, call) => {
		const now = clock.now();
		const entry = state.get(key);
		if (!entry || now - entry.last >= ms) {
			state.set(key, { last: now, trailing: null });
			call();
			return;
		}
		const pending = entry.trailing !== null;
		entry.trailing = call;
		if (pending) return;
		clock.setTimeout(
			() => {
				const latest = entry.trailing;
				entry.trailing = null;
				entry.last = clock.now();
				latest?.();
				// Forget quiet keys: the next call goes through at once anyway.
				if (state.get(key) === entry && entry.trailing === null) state.delete(key);
			},
			entry.last + ms - now,
		);
	};
}
