/**
 * The lab server's drills API and the events the drills panel reads (lab-server `drills.ts`,
 * `downtime-meter.ts`, `labs.ts`), each parsed once here: the panel works with typed values.
 * Loaded only with the drills panel, never before a lab runs.
 */
import { ApiError, isObject, labPath, request, type KeepalivedState } from './lab-api';
import type { NodeName } from './lab-state';
// Types only (DESIGN.md: the site imports nothing else from lab-server/).
import type { ExpectedOutage, Outage } from '../../lab-server/src/drills/downtime-meter';

export type { ExpectedOutage, Outage };

export const FAILURE_DRILLS = [
	'stop-haproxy',
	'kill-keepalived',
	'freeze-node',
	'cut-network',
	'block-vrrp',
	'vrid-conflict',
] as const;
export type FailureDrill = (typeof FAILURE_DRILLS)[number];
export type DrillName = FailureDrill | 'restore';

export type DrillPhase = 'applying' | 'applied' | 'outcome' | 'failed' | 'restored';
/** keepalived's state as the drills report it: `frozen` for a paused node. */
export type DrillNodeState = KeepalivedState | 'frozen' | 'unknown';

/** `POST /drills/:name` → 202. */
export interface DrillStarted {
	drill: DrillName;
	target: NodeName;
	startedAt: string;
}

/** A `drill` event. */
export interface DrillEvent {
	drill: DrillName;
	phase: Exclude<DrillPhase, 'applying'>;
	target: NodeName;
	/** Russian, for the learner. */
	detail: string;
	at: string;
	ok?: boolean;
	ms?: number;
	holders?: NodeName[];
	states?: Partial<Record<NodeName, DrillNodeState>>;
	node?: NodeName;
	line?: string;
}

export interface ActiveDrill {
	drill: FailureDrill;
	target: NodeName;
	startedAt: string;
	phase: Exclude<DrillPhase, 'restored'>;
	detail: string | null;
}

/** `GET /drills`. */
export interface DrillsView {
	active: ActiveDrill | null;
	busy: boolean;
	expected: Partial<Record<DrillName, ExpectedOutage>>;
}

/** A `node` event: a node's report. */
export interface NodeEvent {
	node: NodeName;
	keepalived: KeepalivedState | null;
	haproxy: string | null;
	hasVip: boolean | null;
	at: string;
}

/** A `vip` event: the VIP's single holder, or null (nobody, or both). */
export interface VipEvent {
	holder: NodeName | null;
	at: string;
}

export async function startDrill(labId: string, drill: DrillName): Promise<DrillStarted> {
	const json = await request('POST', `${labPath(labId)}/drills/${encodeURIComponent(drill)}`, {});
	if (isObject(json) && isNode(json.target) && typeof json.startedAt === 'string') {
		return { drill, target: json.target, startedAt: json.startedAt };
	}
	throw new ApiError(200, 'bad-response', null);
}

export async function getDrills(labId: string): Promise<DrillsView> {
	const json = await request('GET', `${labPath(labId)}/drills`);
	if (!isObject(json)) throw new ApiError(200, 'bad-response', null);
	const state = isObject(json.state) ? json.state : {};
	const expected: DrillsView['expected'] = {};
	if (isObject(json.expected)) {
		for (const [name, value] of Object.entries(json.expected)) {
			if (
				isDrill(name) &&
				isObject(value) &&
				(typeof value.ms === 'number' || value.ms === null) &&
				typeof value.explanation === 'string'
			) {
				expected[name] = {
					ms: value.ms,
					range: isRange(value.range) ? value.range : null,
					explanation: value.explanation,
				};
			}
		}
	}
	return { active: asActive(state.active), busy: state.busy === true, expected };
}

export function asDrillEvent(value: unknown): DrillEvent | null {
	if (
		!isObject(value) ||
		!isDrill(value.drill) ||
		!['applied', 'outcome', 'restored', 'failed'].includes(value.phase as string) ||
		!isNode(value.target) ||
		typeof value.detail !== 'string' ||
		typeof value.at !== 'string'
	) {
		return null;
	}
	const states: DrillEvent['states'] = {};
	if (isObject(value.states)) {
		for (const node of ['hap1', 'hap2'] as const) {
			const s = value.states[node];
			if (typeof s === 'string') states[node] = s as DrillNodeState;
		}
	}
	return {
		drill: value.drill,
		phase: value.phase as DrillEvent['phase'],
		target: value.target,
		detail: value.detail,
		at: value.at,
		...(typeof value.ok === 'boolean' ? { ok: value.ok } : {}),
		...(typeof value.ms === 'number' ? { ms: value.ms } : {}),
		...(Array.isArray(value.holders) ? { holders: value.holders.filter(isNode) } : {}),
		...(isObject(value.states) ? { states } : {}),
		...(isNode(value.node) ? { node: value.node } : {}),
		...(typeof value.line === 'string' ? { line: value.line } : {}),
	};
}

export function asOutage(value: unknown): Outage | null {
	return isObject(value) &&
		typeof value.startedAt === 'string' &&
		typeof value.endedAt === 'string' &&
		typeof value.ms === 'number' &&
		typeof value.before === 'string' &&
		typeof value.after === 'string' &&
		typeof value.failedProbes === 'number'
		? (value as unknown as Outage)
		: null;
}

export function asNodeEvent(value: unknown): NodeEvent | null {
	if (!isObject(value) || !isNode(value.node)) return null;
	return {
		node: value.node,
		keepalived: typeof value.keepalived === 'string' ? (value.keepalived as KeepalivedState) : null,
		haproxy: typeof value.haproxy === 'string' ? value.haproxy : null,
		hasVip: typeof value.hasVip === 'boolean' ? value.hasVip : null,
		at: typeof value.at === 'string' ? value.at : new Date().toISOString(),
	};
}

export function asVipEvent(value: unknown): VipEvent | null {
	if (!isObject(value) || !(value.holder === null || isNode(value.holder))) return null;
	return {
		holder: value.holder,
		at: typeof value.at === 'string' ? value.at : new Date().toISOString(),
	};
}

function asActive(value: unknown): ActiveDrill | null {
	return isObject(value) &&
		isDrill(value.drill) &&
		value.drill !== 'restore' &&
		isNode(value.target) &&
		typeof value.startedAt === 'string' &&
		['applying', 'applied', 'outcome', 'failed'].includes(value.phase as string)
		? {
				drill: value.drill,
				target: value.target,
				startedAt: value.startedAt,
				phase: value.phase as ActiveDrill['phase'],
				detail: typeof value.detail === 'string' ? value.detail : null,
			}
		: null;
}

function isDrill(value: unknown): value is DrillName {
	return value === 'restore' || (FAILURE_DRILLS as readonly unknown[]).includes(value);
}

function isNode(value: unknown): value is NodeName {
	return value === 'hap1' || value === 'hap2';
}

function isRange(value: unknown): value is [number, number] {
	return Array.isArray(value) && value.length === 2 && value.every((n) => typeof n === 'number');
}
