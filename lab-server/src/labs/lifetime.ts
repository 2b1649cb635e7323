/**
 * When a lab stops and when it goes, as pure rules the reaper applies (reaping.ts):
 * - a running lab whose time ran out, or with no terminal for `LAB_IDLE_MINUTES` (unless it waits
 *   in a workshop's pool), is stopped with its files kept — or removed when `LAB_KEEP_DAYS` is 0,
 *   or when it is a pool's lab past its time (nobody's work is on it);
 * - a stopped lab goes at `keptUntil`;
 * - stopped labs over the disk budget together go longest-stopped first.
 * Labs with an operation under way, and labs starting, are left for the next round.
 */
import type { EndReason, StopReason } from '../api';
import type { Lab } from './lab';

export type LifetimeAction =
	{ lab: Lab; action: 'stop'; reason: StopReason } | { lab: Lab; action: 'end'; reason: EndReason };

export interface LifetimeContext {
	now: number;
	idleMs: number;
	keepMs: number;
	keepDiskBytes: number;
	isAttached: (labId: string) => boolean;
	isPooled: (labId: string) => boolean;
	isBusy: (labId: string) => boolean;
}

export function dueActions(labs: readonly Lab[], ctx: LifetimeContext): LifetimeAction[] {
	const actions: LifetimeAction[] = [];
	const stopOrEnd = (lab: Lab, reason: 'idle' | 'expired'): LifetimeAction =>
		ctx.keepMs > 0 ? { lab, action: 'stop', reason } : { lab, action: 'end', reason };
	const kept: Lab[] = [];
	for (const lab of labs) {
		if (ctx.isBusy(lab.id)) continue;
		if (lab.status === 'running') {
			if (lab.expiresAt <= ctx.now) {
				// Nobody's work is on a lab still waiting in a workshop's pool: it goes (and the pool
				// boots a fresh one).
				actions.push(
					ctx.isPooled(lab.id)
						? { lab, action: 'end', reason: 'expired' }
						: stopOrEnd(lab, 'expired'),
				);
			} else if (
				!ctx.isAttached(lab.id) &&
				!ctx.isPooled(lab.id) &&
				ctx.now - lab.idleSince >= ctx.idleMs
			) {
				actions.push(stopOrEnd(lab, 'idle'));
			}
		} else if (lab.status === 'stopped') {
			if ((lab.keptUntil ?? 0) <= ctx.now) actions.push({ lab, action: 'end', reason: 'expired' });
			else kept.push(lab);
		}
	}
	let total = kept.reduce((sum, lab) => sum + lab.diskBytes, 0);
	for (const lab of longestStoppedFirst(kept)) {
		if (total <= ctx.keepDiskBytes) break;
		actions.push({ lab, action: 'end', reason: 'evicted' });
		total -= lab.diskBytes;
	}
	return actions;
}

/** Stopped labs, the one stopped longest ago first: the first to go when room is needed. */
export function longestStoppedFirst(labs: readonly Lab[]): Lab[] {
	return labs
		.filter((lab) => lab.status === 'stopped')
		.sort((a, b) => (a.stoppedAt ?? 0) - (b.stoppedAt ?? 0));
}
