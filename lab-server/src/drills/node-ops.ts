/**
 * What the other drills modules do to and learn from the nodes: running scripts in them,
 * snapshots of their keepalived state and VIP, polling, and emitting `drill` events.
 *
 * Who holds the VIP and in which state keepalived is are read from the lab's live state
 * (labs/live-state.ts), the one source the API, the checks and the page's VRRP view read too:
 * a drill never reports a move that the page's timeline has not seen yet.
 */
import { systemClock, type Clock } from '../lib/clock';
import { execInNode, isNotFound, type ExecResult } from '../docker/engine';
import { LAB_NODES, type KeepalivedState, type LabNode } from '../api';
import type { DrillContext, DrillEvent, DrillRecord, Outcome } from './model';

/** Polling period while waiting for an outcome. */
export const POLL_MS = 250;

// ---------------------------------------------------------------------------------------------
// Node state

export interface Snapshot {
	node: LabNode;
	running: boolean;
	paused: boolean;
	keepalived: KeepalivedState | 'frozen' | 'unknown';
	hasVip: boolean;
}
export type Snapshots = Record<LabNode, Snapshot>;

export async function snapshot(
	ctx: DrillContext,
	node: LabNode,
	record?: DrillRecord,
): Promise<Snapshot> {
	const info = await container(ctx, node).inspect();
	if (info.State.Paused) {
		// A frozen node cannot be asked; it keeps whatever it had when it froze.
		const froze = record?.drill === 'freeze-node' && record.target === node;
		return { node, running: true, paused: true, keepalived: 'frozen', hasVip: froze };
	}
	if (!info.State.Running) {
		return { node, running: false, paused: false, keepalived: 'unknown', hasVip: false };
	}
	const { keepalived, hasVip } = ctx.lab.nodes[node];
	return { node, running: true, paused: false, keepalived, hasVip };
}

export async function snapshotAll(ctx: DrillContext, record?: DrillRecord): Promise<Snapshots> {
	const [hap1, hap2] = await Promise.all(LAB_NODES.map((node) => snapshot(ctx, node, record)));
	return { hap1: hap1!, hap2: hap2! };
}

export function summary(states: Snapshots): Pick<DrillEvent, 'holders' | 'states'> {
	return {
		holders: LAB_NODES.filter((node) => states[node].hasVip),
		states: { hap1: states.hap1.keepalived, hap2: states.hap2.keepalived },
	};
}

// ---------------------------------------------------------------------------------------------
// Helpers

export function report(
	ctx: DrillContext,
	record: DrillRecord,
	phase: 'applied' | 'outcome',
	detail: string,
	extra: Outcome = { detail },
): void {
	if (record.cancelled) return;
	record.phase = phase;
	record.detail = detail;
	emit(ctx, { ...extra, drill: record.drill, phase, target: record.target, detail });
}

export function fail(ctx: DrillContext, record: DrillRecord, error: unknown): void {
	if (record.cancelled) return;
	record.phase = 'failed';
	record.detail = `Учения прервались: ${shortError(error)}. Нажмите «Восстановить».`;
	emit(ctx, { drill: record.drill, phase: 'failed', target: record.target, detail: record.detail });
}

export function emit(ctx: DrillContext, event: Omit<DrillEvent, 'at'>): void {
	const at = new Date((ctx.clock ?? systemClock).now()).toISOString();
	ctx.lab.events.emit('drill', { ...event, at } satisfies DrillEvent);
}

/** Polls `probe` every POLL_MS until it yields a value, the drill is restored, or time is up. */
export async function poll<T>(
	ctx: DrillContext,
	record: DrillRecord,
	probe: () => Promise<T | undefined>,
	timeoutMs: number,
): Promise<T | undefined> {
	const clock = ctx.clock ?? systemClock;
	const deadline = clock.now() + timeoutMs;
	while (!record.cancelled) {
		const value = await probe().catch(() => undefined);
		if (value !== undefined) return value;
		if (clock.now() >= deadline) return undefined;
		await sleep(clock, POLL_MS);
	}
	return undefined;
}

export function sleep(clock: Clock, ms: number): Promise<void> {
	return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

export function container(ctx: DrillContext, node: LabNode) {
	return ctx.docker.getContainer(ctx.lab.containers[node]);
}

/** Runs a bash script as root in a node; null when the node cannot run it (paused, gone). */
export async function run(
	ctx: DrillContext,
	node: LabNode,
	script: string,
	args: string[] = [],
): Promise<ExecResult | null> {
	try {
		return await execInNode(ctx.docker, ctx.lab.containers[node], [
			'bash',
			'-c',
			script,
			node,
			...args,
		]);
	} catch (error) {
		if (isNotFound(error) || (error as { statusCode?: number }).statusCode === 409) return null;
		throw error;
	}
}

export async function mustRun(
	ctx: DrillContext,
	node: LabNode,
	script: string,
	args: string[] = [],
): Promise<ExecResult> {
	const result = await run(ctx, node, script, args);
	if (!result) throw new Error(`${node} is not running`);
	if (result.exitCode !== 0) {
		throw new Error(
			`${node}: ${JSON.stringify(script.split('\n')[0])} exited ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}`,
		);
	}
	return result;
}

export function shortError(error: unknown): string {
	return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}
