/**
 * Which checks have passed in this browser, on any lab: the course's progress outlives its labs.
 * A lab ends or expires, and the steps list keeps its ✓; a step's check box, with no lab, says the
 * step passed on an earlier lab (check-view.ts). While a lab runs, its own results are the live
 * ones (progress.ts); this set only ever grows.
 *
 * Data: localStorage `keepalived-lab:passed` → JSON array of check ids, in the order they first
 * passed. Pure: progress.ts reads and writes the storage.
 */
import { isCheckId, type CheckId, type CheckResult } from '../../lab-server/src/api';

export const PASSED_KEY = 'keepalived-lab:passed';

/** The stored set; anything that is not a known check id (an old or damaged value) is dropped. */
export function parsePassed(raw: string | null): ReadonlySet<CheckId> {
	try {
		const stored: unknown = JSON.parse(raw ?? '[]');
		return new Set(Array.isArray(stored) ? stored.filter(isCheckId) : []);
	} catch {
		return new Set();
	}
}

/** `passed` plus the checks among `results` that pass; `passed` itself when none is new. */
export function withPassed(
	passed: ReadonlySet<CheckId>,
	results: Iterable<CheckResult>,
): ReadonlySet<CheckId> {
	const fresh = [...results].filter((r) => r.status === 'pass' && !passed.has(r.id));
	return fresh.length === 0 ? passed : new Set([...passed, ...fresh.map((r) => r.id)]);
}

export function serializePassed(passed: ReadonlySet<CheckId>): string {
	return JSON.stringify([...passed]);
}

/**
 * A step's mark in the steps list: `now` when its check passes on the learner's lab (the one
 * running, or the remembered one while it is stopped), `earlier` when it passed before (on an
 * ended lab, or earlier on this one), null when it never passed here.
 */
export function stepMark(
	result: CheckResult | undefined,
	passed: ReadonlySet<string>,
	id: string,
): 'now' | 'earlier' | null {
	if (result?.status === 'pass') return 'now';
	return passed.has(id) ? 'earlier' : null;
}
