/**
 * A lab's live events: what `GET /api/labs/:id/events` streams (server-sent events, JSON data)
 * and what the server's modules tell each other on a lab's `EventEmitter<LabEvents>`. The map is
 * the one list: the SSE names are derived from it.
 */
import type { CheckResult } from './checks';
import type { DrillEvent, Outage } from './drills';
import type { KeepalivedState, LabNode } from './lab';

/** A node's report: keepalived's state, haproxy's unit state, whether the VIP is on its eth0. */
export interface NodeEvent {
	node: LabNode;
	keepalived: KeepalivedState;
	haproxy: string;
	hasVip: boolean;
	at: string;
}

/** The VIP's single holder changed (null: nobody, or both). */
export interface VipEvent {
	holder: LabNode | null;
	at: string;
}

/**
 * Why a lab ended (its containers are gone): `deleted` by its learner or instructor, `expired`
 * (kept stopped for `LAB_KEEP_DAYS`, or past its time with nothing kept), `idle` (nothing kept),
 * `evicted` (a stopped lab removed for room: disk budget, addresses), `workshop-ended`.
 */
export type EndReason = 'deleted' | 'expired' | 'idle' | 'evicted' | 'workshop-ended';

/**
 * Why a lab was stopped (its files kept): `idle` (no terminal for `LAB_IDLE_MINUTES`), `expired`
 * (its time ran out), `host-restart` (its nodes were found stopped, e.g. after a reboot).
 */
export type StopReason = 'idle' | 'expired' | 'host-restart';

/**
 * Who reset a lab: its `learner` («Сбросить стенд» in the lab panel) or the workshop's
 * `instructor` (the dashboard), whom the learner's page names in a notice.
 */
export const RESET_BY = ['learner', 'instructor'] as const;
export type ResetBy = (typeof RESET_BY)[number];

/** A node went over a limit the host cannot enforce by itself and was stopped. */
export interface NodeLimitEvent {
	node: LabNode;
	/** `disk`: its writable layer; `inotify`: inotify instances (or far too many open files). */
	kind: 'disk' | 'inotify';
	/** MiB for `disk`, instances for `inotify`. */
	used: number;
	limit: number;
	/** What happened and what to do, in Russian. */
	message: string;
	at: string;
}

/** A raised hand: its optional message (≤ 200 characters, the learner's words) and when. */
export interface HelpEvent {
	raised: boolean;
	message: string | null;
	at: string;
}

/**
 * The takeover's states: the instructor `asked`; the learner `allowed` (the instructor's
 * terminals may type) or `refused`; `ended` by either side (or the lab's stop or end).
 */
export const TAKEOVER_STATES = ['asked', 'allowed', 'refused', 'ended'] as const;
export type TakeoverState = (typeof TAKEOVER_STATES)[number];
export interface TakeoverEvent {
	state: TakeoverState;
	/** Who caused this state. */
	by: 'learner' | 'instructor' | 'server';
	at: string;
}

/** Event name → its data. Each is one argument, so every listener takes `(data)`. */
export interface LabEvents {
	node: [NodeEvent];
	vip: [VipEvent];
	/** The lab's expiry moved («Продлить»). */
	lab: [{ expiresAt: string }];
	ended: [{ reason: EndReason }];
	/** The lab's nodes were stopped, their files kept until `keptUntil`; terminals closed (4018). */
	stopped: [{ reason: StopReason; keptUntil: string }];
	/** A stopped lab runs again («Продолжить»). */
	resumed: [{ expiresAt: string }];
	/**
	 * A node was replaced by a fresh one; its terminals closed with 4014. `nodes`: every node of
	 * the same reset (one event comes per node), so a page can tell of the whole reset at once.
	 * `at`: as the lab's `lastReset.at`, so a page that told of it live knows it as seen.
	 */
	reset: [{ node: LabNode; nodes: LabNode[]; by: ResetBy; at: string }];
	check: [CheckResult];
	drill: [DrillEvent];
	outage: [Outage];
	/** A node was stopped over a limit; «Сбросить узел» brings it back. */
	limit: [NodeLimitEvent];
	/**
	 * A command in one of the lab's terminals finished (the shell's mark; the learner can print
	 * one too, so it is a hint to look again, rate-limited per lab).
	 */
	command: [{ node: LabNode; status: number | null; at: string }];
	/** The step page the learner has open changed (`PUT …/viewing`); a recording's step marker. */
	viewing: [{ step: string; at: string }];
	/** A workshop learner raised (`raised`) or lowered their hand («Позвать преподавателя»). */
	help: [HelpEvent];
	/** The instructor's input rights in the lab's terminals: asked, allowed, refused or ended. */
	takeover: [TakeoverEvent];
}
export type LabEventName = keyof LabEvents;

const NAMES = {
	node: true,
	vip: true,
	lab: true,
	ended: true,
	stopped: true,
	resumed: true,
	reset: true,
	check: true,
	drill: true,
	outage: true,
	limit: true,
	command: true,
	viewing: true,
	help: true,
	takeover: true,
} as const satisfies Record<LabEventName, true>;

/** Every lab event name, in the order a new SSE stream subscribes to them. */
export const LAB_EVENT_NAMES = Object.keys(NAMES) as LabEventName[];
