/** Failure drills and the downtime meter as the API reports them. */
import type { KeepalivedState, LabNode } from './lab';

export const FAILURE_DRILLS = [
	'stop-haproxy',
	'kill-keepalived',
	'freeze-node',
	'cut-network',
	'block-vrrp',
	'vrid-conflict',
] as const;
/** The drills that break something. */
export type FailureDrill = (typeof FAILURE_DRILLS)[number];
/** Every name `POST /api/labs/:id/drills/:name` takes: the failures and `restore`. */
export const DRILLS = [...FAILURE_DRILLS, 'restore'] as const;
export type DrillName = (typeof DRILLS)[number];

/**
 * A drill's name as the learner sees it (its button, `drills.label.*` in the site's dictionary:
 * course-text.test.ts keeps the two the same). Server messages name drills by these, never by id.
 */
export const DRILL_TITLES: Record<DrillName, string> = {
	'stop-haproxy': 'Остановить haproxy',
	'kill-keepalived': 'Убить keepalived',
	'freeze-node': 'Заморозить узел',
	'cut-network': 'Отключить сеть',
	'block-vrrp': 'Заблокировать VRRP',
	'vrid-conflict': 'Чужой VRID',
	restore: 'Восстановить',
};

export function isDrillName(name: unknown): name is DrillName {
	return (DRILLS as readonly unknown[]).includes(name);
}

/** keepalived's state as a drill reports it: `frozen` for a paused node. */
export type DrillNodeState = KeepalivedState | 'frozen' | 'unknown';

/** `POST /api/labs/:id/drills/:name` → 202. */
export interface DrillStarted {
	drill: DrillName;
	target: LabNode;
	startedAt: string;
}

/** The data of a `drill` event. */
export interface DrillEvent {
	drill: DrillName;
	phase: 'applied' | 'outcome' | 'restored' | 'failed';
	target: LabNode;
	/** What happened, in Russian, for the learner. */
	detail: string;
	/** ISO time of the event. */
	at: string;
	/** `outcome` and `restored`: whether the cluster did what the drill is meant to show. */
	ok?: boolean;
	/** `outcome`: milliseconds from `applied` until the outcome was seen (polled every 250 ms). */
	ms?: number;
	/** Nodes that had the VIP on eth0 when the event was sent (a frozen node counts if it had it). */
	holders?: LabNode[];
	/** keepalived's state per node. */
	states?: Partial<Record<LabNode, DrillNodeState>>;
	/** `vrid-conflict` outcome: the node that logged the guide's error, and the log line. */
	node?: LabNode;
	line?: string;
}

/** The drill applied to a lab right now. */
export interface ActiveDrill {
	drill: FailureDrill;
	target: LabNode;
	startedAt: string;
	phase: 'applying' | 'applied' | 'outcome' | 'failed';
	detail: string | null;
}

export interface DrillStateView {
	active: ActiveDrill | null;
	/** A drill is being validated or applied, or `restore` is running. */
	busy: boolean;
}

/** One outage the downtime meter saw (an `outage` event). */
export interface Outage {
	/** ISO time the first failed probe was sent. */
	startedAt: string;
	/** ISO time the first successful probe after it got its answer. */
	endedAt: string;
	ms: number;
	/** The node that answered before the outage, and the one that answered after it. */
	before: string;
	after: string;
	failedProbes: number;
}

/** The outage theory predicts for a drill, from the learner's own config. */
export interface ExpectedOutage {
	/** The outage a client should see, in ms (typical worst case); 0 when none; null for restore. */
	ms: number | null;
	/** The range theory allows, [min, max] ms, when there is an outage. */
	range: [number, number] | null;
	/** A short explanation in Russian for the page. */
	explanation: string;
}

/** `GET /api/labs/:id/drills`. */
export interface DrillsView {
	state: DrillStateView;
	expected: Partial<Record<FailureDrill, ExpectedOutage>>;
	lastOutage: Outage | null;
	lastEvent: DrillEvent | null;
}
