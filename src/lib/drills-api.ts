/**
 * The lab server's drills API and the events the drills panel reads (types: `lab-server/src/api/`),
 * each parsed once here: the panel works with typed values. Loaded only with the drills panel,
 * never before a lab runs.
 */
import {
	FAILURE_DRILLS,
	KEEPALIVED_STATES,
	LAB_NODES,
	isDrillName,
	isLabNode,
	type ActiveDrill,
	type DrillEvent,
	type DrillName,
	type DrillNodeState,
	type DrillStarted,
	type DrillsView,
	type FailureDrill,
	type NodeEvent,
	type Outage,
	type VipEvent,
} from '../../lab-server/src/api';
import { ApiError, isObject, labPath, request } from './lab-api';

export async function startDrill(labId: string, drill: DrillName): Promise<DrillStarted> {
	const json = await request('POST', `${labPath(labId)}/drills/${encodeURIComponent(drill)}`, {});
	if (isObject(json) && isLabNode(json.target) && typeof json.startedAt === 'string') {
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
				isFailureDrill(name) &&
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
	return {
		state: { active: asActive(state.active), busy: state.busy === true },
		expected,
		lastOutage: asOutage(json.lastOutage),
		lastEvent: asDrillEvent(json.lastEvent),
	};
}

export function asDrillEvent(value: unknown): DrillEvent | null {
	if (
		!isObject(value) ||
		!isDrillName(value.drill) ||
		!['applied', 'outcome', 'restored', 'failed'].includes(value.phase as string) ||
		!isLabNode(value.target) ||
		typeof value.detail !== 'string' ||
		typeof value.at !== 'string'
	) {
		return null;
	}
	const states: DrillEvent['states'] = {};
	if (isObject(value.states)) {
		for (const node of LAB_NODES) {
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
		...(Array.isArray(value.holders) ? { holders: value.holders.filter(isLabNode) } : {}),
		...(isObject(value.states) ? { states } : {}),
		...(isLabNode(value.node) ? { node: value.node } : {}),
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
	if (
		!isObject(value) ||
		!isLabNode(value.node) ||
		!(KEEPALIVED_STATES as readonly unknown[]).includes(value.keepalived) ||
		typeof value.haproxy !== 'string' ||
		typeof value.hasVip !== 'boolean' ||
		typeof value.at !== 'string'
	) {
		return null;
	}
	return value as unknown as NodeEvent;
}

export function asVipEvent(value: unknown): VipEvent | null {
	if (!isObject(value) || !(value.holder === null || isLabNode(value.holder))) return null;
	return {
		holder: value.holder,
		at: typeof value.at === 'string' ? value.at : new Date().toISOString(),
	};
}

function asActive(value: unknown): ActiveDrill | null {
	return isObject(value) &&
		isDrillName(value.drill) &&
		value.drill !== 'restore' &&
		isLabNode(value.target) &&
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

function isFailureDrill(value: unknown): value is FailureDrill {
	return (FAILURE_DRILLS as readonly unknown[]).includes(value);
}

function isRange(value: unknown): value is [number, number] {
	return Array.isArray(value) && value.length === 2 && value.every((n) => typeof n === 'number');
}
