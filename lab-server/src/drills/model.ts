/**
 * What the drills modules share: the drills' API types (from api/, re-exported for index.ts),
 * the context a drill runs in, and the in-memory record of a drill with the steps that undo it.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock';
import { HttpError } from '../http/errors';
import type { Lab } from '../labs/lab';
import type { ActiveDrill, DrillEvent, FailureDrill, LabNode } from '../api';

export {
	DRILLS,
	isDrillName,
	type DrillEvent,
	type DrillName,
	type DrillStarted,
	type DrillStateView,
	type FailureDrill,
} from '../api';

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
	phase: ActiveDrill['phase'];
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
