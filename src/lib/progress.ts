/**
 * The learner's progress: the latest result of every check, for the lab this browser runs. The
 * steps list marks passed steps from it, each step's check box shows its own result.
 *
 * Data: `{ labId, results, waiting, passed }`, `results` keyed by check id, kept in localStorage
 * as `keepalived-lab:progress:<labId>` → `CheckResult[]`, for the remembered lab only (writing one
 * lab's progress deletes every other lab's); `waiting`: the checks that wait for the VRRP
 * election «Выполнить шаг за меня» began (check-view.ts; not stored); `passed`: every check that
 * has passed in this browser, on any lab (passed-checks.ts), kept when the lab goes.
 *
 * Lifecycle (a singleton per page load; ClientRouter keeps it across steps):
 * - on load: the remembered lab's stored results, so the list is marked before the lab answers;
 * - the lab runs (`lab:state`), once per lab and page load: `GET /checks` — the server derives
 *   the results from the lab itself — replaces them; after a node reset too;
 * - `lab:check` (one result changed), «Проверить» and «Выполнить шаг за меня» merge theirs in;
 * - no lab remembered any more (it ended and the panel forgot it): empty, storage cleared;
 *   `passed` stays.
 * Every change dispatches `lab:progress` on `document` with the new `Progress`.
 */
import { electionWaits, type ElectionWaits } from './check-view';
import { asCheckResult, completeCheck, getChecks, type CheckResult } from './lab-api';
import { currentLab, LAB_ID_KEY, type LabSnapshot } from './lab-state';
import { PASSED_KEY, parsePassed, serializePassed, withPassed } from './passed-checks';
import { readStorage, removeStorage, storageKeys, writeStorage } from './storage';

export interface Progress {
	/** The lab the results belong to; null when no lab is known. */
	labId: string | null;
	results: ReadonlyMap<string, CheckResult>;
	waiting: ElectionWaits;
	/** Checks that passed in this browser on any lab, this one included. */
	passed: ReadonlySet<string>;
}

declare global {
	interface DocumentEventMap {
		'lab:progress': CustomEvent<Progress>;
	}
}

const KEY_PREFIX = 'keepalived-lab:progress:';

let passed = parsePassed(readStorage(localStorage, PASSED_KEY));
let progress: Progress = load(readStorage(localStorage, LAB_ID_KEY));
/** The lab whose results came from the server on this page load. */
let derivedFor: string | null = null;
let inFlight: Promise<CheckResult[]> | null = null;

export function currentProgress(): Progress {
	return progress;
}

/** Runs every check now (`GET /checks`), merges the results in, and returns them. */
export function refreshChecks(): Promise<CheckResult[]> {
	const labId = runningLabId();
	if (!labId) return Promise.reject(new Error('progress: no lab is running'));
	// One request at a time: a second caller gets the answer of the first.
	inFlight ??= getChecks(labId)
		.then((results) => {
			if (runningLabId() === labId) merge(labId, results);
			return results;
		})
		.finally(() => (inFlight = null));
	return inFlight;
}

/** «Выполнить шаг за меня» for the step `checkId` verifies; merges the checks that come back. */
export async function completeStep(checkId: string): Promise<string[]> {
	const labId = runningLabId();
	if (!labId) throw new Error('progress: no lab is running');
	const { commands, checks, election } = await completeCheck(labId, checkId);
	// The waits go in with the results, in one change: no box shows a failed election meanwhile.
	if (runningLabId() === labId) merge(labId, checks, electionWaits(election, Date.now()));
	return commands;
}

// ── following the lab ───────────────────────────────────────────────────────

document.addEventListener('lab:state', (event) => follow(event.detail));
document.addEventListener('lab:check', (event) => {
	const result = asCheckResult(event.detail);
	const labId = runningLabId();
	if (result && labId) merge(labId, [result]);
});
document.addEventListener('lab:reset', () => {
	if (runningLabId()) void refreshChecks().catch(ignore);
});
follow(currentLab());

function follow(state: LabSnapshot): void {
	if (state.status === 'running' && state.lab) {
		const { id } = state.lab;
		if (progress.labId !== id) set(load(id));
		if (derivedFor !== id) {
			derivedFor = id;
			void refreshChecks().catch(() => {
				// Not now (the server is busy, the lab is going): `check` events still come.
				if (derivedFor === id) derivedFor = null;
			});
		}
	} else if (state.status === 'idle' || state.status === 'error') {
		// The panel forgets an ended lab's id before it says so; a lab it only failed to reach
		// stays remembered, and so does its progress.
		const remembered = readStorage(localStorage, LAB_ID_KEY);
		if (remembered !== progress.labId) {
			if (progress.labId) removeStorage(localStorage, KEY_PREFIX + progress.labId);
			set(load(remembered));
		}
	}
}

function runningLabId(): string | null {
	const { status, lab } = currentLab();
	return status === 'running' && lab ? lab.id : null;
}

function merge(labId: string, results: CheckResult[], waiting?: ElectionWaits): void {
	const same = progress.labId === labId;
	const next = new Map(same ? progress.results : []);
	for (const result of results) next.set(result.id, result);
	for (const key of storageKeys(localStorage, KEY_PREFIX)) {
		if (key !== KEY_PREFIX + labId) removeStorage(localStorage, key);
	}
	writeStorage(localStorage, KEY_PREFIX + labId, JSON.stringify([...next.values()]));
	remember(results);
	set({ labId, results: next, waiting: waiting ?? (same ? progress.waiting : new Map()), passed });
}

/** Adds the passing `results` to the checks this browser has seen pass, and stores them. */
function remember(results: Iterable<CheckResult>): void {
	const next = withPassed(passed, results);
	if (next === passed) return;
	passed = next;
	writeStorage(localStorage, PASSED_KEY, serializePassed(passed));
}

function set(next: Progress): void {
	progress = next;
	document.dispatchEvent(new CustomEvent('lab:progress', { detail: next }));
}

function load(labId: string | null): Progress {
	const results = new Map<string, CheckResult>();
	const waiting: ElectionWaits = new Map();
	if (!labId) return { labId, results, waiting, passed };
	try {
		const stored: unknown = JSON.parse(readStorage(localStorage, KEY_PREFIX + labId) ?? '[]');
		for (const item of Array.isArray(stored) ? stored : []) {
			const result = asCheckResult(item);
			if (result) results.set(result.id, result);
		}
	} catch {
		// Not ours or damaged: the server's answer replaces it soon.
	}
	// Results stored before the passed set existed count too.
	remember(results.values());
	return { labId, results, waiting, passed };
}

function ignore(): void {}
