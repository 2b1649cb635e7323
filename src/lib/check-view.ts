/**
 * What a step's check box shows (step-check.ts), from the check's latest result and whether an
 * election is under way: right after «Выполнить шаг за меня» started keepalived, VRRP elects a
 * MASTER only after its master-down interval, and until then the VIP check fails with nothing
 * wrong. For that long (the server says how long, `CompletedStep.election`) a check that follows
 * the election shows a neutral «ждём выборов VRRP…», not «не пройдено»; a pass shows at once,
 * and a result still failing after it is a real failure. Without a running lab the box shows the
 * remembered lab's last results, or says that the step passed on an earlier lab.
 */
import type { CheckResult, CompletedStep } from '../../lab-server/src/api';

/**
 * `nolab`: no running lab; `earlier`: no lab, but the check passed on an earlier one
 * (passed-checks.ts); `unknown`: not checked yet; `waiting`: VRRP is electing.
 */
export type ShownStatus = 'nolab' | 'earlier' | 'unknown' | 'waiting' | CheckResult['status'];

/** Check id → until when (the page's clock, ms) its result waits for the election. */
export type ElectionWaits = ReadonlyMap<string, number>;

/** The waits an autopilot answer's `election` begins, counted from `now` (when it came). */
export function electionWaits(election: CompletedStep['election'], now: number): ElectionWaits {
	return new Map(election ? election.checks.map((id) => [id, now + election.ms]) : []);
}

export function shownStatus(
	result: CheckResult | null,
	running: boolean,
	waitUntil: number | undefined,
	now: number,
	passedEarlier = false,
): ShownStatus {
	// A lab that is not running (stopped, or none): its last results, else what this browser saw.
	if (!running) return result?.status ?? (passedEarlier ? 'earlier' : 'nolab');
	if (result?.status === 'pass') return 'pass';
	if (waitUntil !== undefined && now < waitUntil) return 'waiting';
	return result?.status ?? 'unknown';
}
