/**
 * A workshop's dashboard, live: what `GET /api/workshops/:id/events` streams
 * (http/workshop-sse.ts). A watch follows every lab of the workshop (its learners' and those
 * waiting in its pool) on `lab.events`, every event name, and the workshop's own changes (joins,
 * leaves, its pool, its end) through `WorkshopSignals`. Any of them marks the view dirty; at most
 * one update per COALESCE_MS goes out, the first at once, holding only what changed since the
 * last one: the rows (`learner`) that differ, then the `head` if it or who is in changed.
 *
 * Rows rather than whole views: with 40 learners a view is about 13 KB and a row about 0.4 KB,
 * and a class at work changes a few rows a second, not every row. The view is rebuilt from what
 * is known (dashboard.ts runs nothing) and compared, so no event has to say what it changes —
 * fields added to `LearnerView` later are followed without touching this module.
 *
 * `lastActivity` (terminal input) raises no event and changes with every keystroke: a row is
 * sent for it alone only once it moved by ACTIVITY_STEP_MS, looked at every ACTIVITY_SWEEP_MS.
 * The dashboard shows it in minutes («сейчас», «3 мин назад»), so a learner typing all along is
 * never shown older than 45 s, which still reads «сейчас».
 */
import {
	LAB_EVENT_NAMES,
	type LearnerView,
	type WorkshopEventName,
	type WorkshopEvents,
	type WorkshopHead,
	type WorkshopView,
} from '../api';
import type { Lab } from '../labs/lab';
import type { Clock } from '../lib/clock';

/** At most one update per stream in this time; a lone change goes out at once. */
export const COALESCE_MS = 200;
/** A row goes out for its `lastActivity` alone once it moved this much… */
export const ACTIVITY_STEP_MS = 30_000;
/** …looked at this often. */
export const ACTIVITY_SWEEP_MS = 15_000;

/**
 * The workshop's own changes that no lab event tells of: a join or a leave, its pool (a lab
 * booting, ready, taken), its end. One listener set per workshop id, so that a stream hears only
 * its own workshop.
 */
export class WorkshopSignals {
	#listeners = new Map<string, Set<(ended: boolean) => void>>();

	/** Calls `listener` on each change of the workshop (`ended` true for its end); returns `off`. */
	on(workshopId: string, listener: (ended: boolean) => void): () => void {
		let set = this.#listeners.get(workshopId);
		if (!set) this.#listeners.set(workshopId, (set = new Set()));
		set.add(listener);
		return () => {
			set.delete(listener);
			if (set.size === 0 && this.#listeners.get(workshopId) === set) {
				this.#listeners.delete(workshopId);
			}
		};
	}

	changed(workshopId: string): void {
		for (const listener of [...(this.#listeners.get(workshopId) ?? [])]) listener(false);
	}

	ended(workshopId: string): void {
		for (const listener of [...(this.#listeners.get(workshopId) ?? [])]) listener(true);
	}

	/** Workshops with a listener (for tests: none is left behind). */
	get size(): number {
		return this.#listeners.size;
	}
}

export interface WorkshopSource {
	id: string;
	/** The dashboard's view now (dashboard.ts). */
	view: () => WorkshopView;
	/** The workshop's labs now: its learners' and its pool's. */
	labIds: () => Iterable<string>;
	lab: (labId: string) => Lab | undefined;
	signals: WorkshopSignals;
	clock: Clock;
}

export type WorkshopSend = <E extends WorkshopEventName>(
	event: E,
	data: WorkshopEvents[E][0],
) => void;

export interface WorkshopWatch {
	/** Stops following (the stream closed): every listener and timer goes. */
	close(): void;
}

/**
 * Sends the whole view at once, then what changes, until the workshop ends (`ended` is sent and
 * the watch closes itself) or `close()`.
 */
export function watchWorkshop(source: WorkshopSource, send: WorkshopSend): WorkshopWatch {
	const { clock } = source;
	/** Per lab: stops listening to it. */
	const labs = new Map<string, () => void>();
	/** The rows as last sent, and the key they were compared by. */
	let sent = new Map<string, { row: LearnerView; key: string }>();
	let headKey = '';
	let timer: unknown = null;
	let lastFlush = -Infinity;
	let closed = false;

	const flush = () => {
		timer = null;
		if (closed) return;
		lastFlush = clock.now();
		follow();
		const view = source.view();
		const next = new Map<string, { row: LearnerView; key: string }>();
		for (const row of view.learners) {
			const before = sent.get(row.labId);
			const key = rowKey(row);
			if (!before || before.key !== key || activityMoved(before.row, row)) {
				send('learner', row);
				next.set(row.labId, { row, key });
			} else {
				next.set(row.labId, before);
			}
		}
		sent = next;
		const head = headOf(view);
		const key = JSON.stringify(head);
		if (key !== headKey) {
			headKey = key;
			send('head', head);
		}
	};

	const mark = () => {
		if (closed || timer !== null) return;
		timer = clock.setTimeout(flush, Math.max(0, lastFlush + COALESCE_MS - clock.now()));
	};

	const unfollow = (labId: string) => {
		labs.get(labId)?.();
		labs.delete(labId);
	};

	/** Listens to the labs the workshop has now, and to none it no longer has. */
	const follow = () => {
		const wanted = new Set(source.labIds());
		for (const labId of [...labs.keys()]) if (!wanted.has(labId)) unfollow(labId);
		for (const labId of wanted) {
			// An ended lab is gone from the lab manager already: nothing to follow.
			const lab = labs.has(labId) ? undefined : source.lab(labId);
			if (!lab) continue;
			const offs = LAB_EVENT_NAMES.map((name) => {
				const listener =
					name === 'ended'
						? () => {
								unfollow(labId);
								mark();
							}
						: mark;
				lab.events.on(name, listener);
				return () => lab.events.off(name, listener);
			});
			labs.set(labId, () => {
				for (const off of offs) off();
			});
		}
	};

	const close = () => {
		if (closed) return;
		closed = true;
		if (timer !== null) clock.clearTimeout(timer);
		clock.clearTimeout(sweep);
		offSignals();
		for (const labId of [...labs.keys()]) unfollow(labId);
	};

	const offSignals = source.signals.on(source.id, (ended) => {
		if (!ended) return mark();
		close();
		send('ended', { at: new Date(clock.now()).toISOString() });
	});
	const sweepEvery = () =>
		clock.setTimeout(() => {
			mark();
			sweep = sweepEvery();
		}, ACTIVITY_SWEEP_MS);
	let sweep = sweepEvery();

	follow();
	const view = source.view();
	sent = new Map(view.learners.map((row) => [row.labId, { row, key: rowKey(row) }]));
	headKey = JSON.stringify(headOf(view));
	send('workshop', view);
	return { close };
}

/** The row as compared: everything but `lastActivity` (activityMoved looks at that). */
function rowKey(row: LearnerView): string {
	return JSON.stringify({ ...row, lastActivity: null });
}

function activityMoved(before: LearnerView, now: LearnerView): boolean {
	if (before.lastActivity === now.lastActivity) return false;
	if (before.lastActivity === null || now.lastActivity === null) return true;
	return (
		Math.abs(Date.parse(now.lastActivity) - Date.parse(before.lastActivity)) >= ACTIVITY_STEP_MS
	);
}

function headOf({ learners, ...head }: WorkshopView): WorkshopHead {
	return { ...head, labIds: learners.map((l) => l.labId) };
}
