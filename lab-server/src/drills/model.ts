/**
 * What the drills modules share: the drills' names, the public types of the API (re-exported by
 * index.ts), and the in-memory record of a drill with the steps that undo it.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock';
import { HttpError } from '../http/errors';
import type { Lab } from '../labs/lab';
import type { KeepalivedState } from '../api';
import type { LabNode } from '../api';

export const DRILLS = [
	'stop-haproxy',
	'kill-keepalived',
	'freeze-node',
	'cut-network',
	'block-vrrp',
	'vrid-conflict',
	'restore',
] as const;
export type DrillName = (typeof DRILLS)[number];
/** The drills that break something (everything but `restore`). */
export type FailureDrill = Exclude<DrillName, 'restore'>;

/** A refused drill: `status` and `code` for the HTTP answer, the message in Russian. */
export class DrillError extends HttpError {
	constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
		super(status, code, message, options);
		// HttpError pins its name; logs should say which kind of refusal this is.
		Object.defineProperty(this, 'name', { value: 'DrillError' });
	}
}

/** What drills use of a lab (labs.ts `Lab` has it all). */
export type DrillLab = Pick<Lab, 'id' | 'addresses' | 'containers' | 'events' | 'nodes'>;

export interface DrillContext {
	docker: Docker;
	lab: DrillLab;
	log: Logger;
	/** For timestamps and the waits between polls; the system clock by default. */
	clock?: Clock;
}

/** The data of a `drill` event on `lab.events`. */
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
	/** keepalived's state per node (`frozen` for a paused node). */
	states?: Partial<Record<LabNode, KeepalivedState | 'frozen' | 'unknown'>>;
	/** `vrid-conflict` outcome: the node that logged the guide's error, and the log line. */
	node?: LabNode;
	line?: string;
}

export interface DrillStarted {
	drill: DrillName;
	target: LabNode;
	startedAt: string;
}

/** What the page shows about drills on a lab. */
export interface DrillStateView {
	active: {
		drill: FailureDrill;
		target: LabNode;
		startedAt: string;
		phase: 'applying' | 'applied' | 'outcome' | 'failed';
		detail: string | null;
	} | null;
	/** A drill is being validated or applied, or `restore` is running. */
	busy: boolean;
}

export function isDrillName(name: string): name is DrillName {
	return (DRILLS as readonly string[]).includes(name);
}

export type Undo =
	| { kind: 'start-haproxy'; node: LabNode }
	| { kind: 'start-keepalived'; node: LabNode }
	| { kind: 'unpause'; node: LabNode }
	| { kind: 'reconnect'; node: LabNode }
	| { kind: 'remove-tc'; node: LabNode; qdiscCreated: boolean }
	| { kind: 'remove-intruder' };

export interface DrillRecord {
	drill: FailureDrill;
	target: LabNode;
	other: LabNode;
	startedAt: number;
	appliedAt: number;
	phase: 'applying' | 'applied' | 'outcome' | 'failed';
	detail: string | null;
	/** Undo steps in the order their actions succeeded; `restore` runs them in reverse. */
	undo: Undo[];
	/** Set by `restore`: background work of this drill stops and reports nothing more. */
	cancelled: boolean;
}

export interface LabDrills {
	active: DrillRecord | null;
	busy: boolean;
}

/** What an `outcome` (or `applied`) event carries besides the drill, phase, target and time. */
export type Outcome = Omit<DrillEvent, 'drill' | 'phase' | 'target' | 'at'>;
