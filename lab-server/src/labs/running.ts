/**
 * Labs while they run: given more time («Продлить»), a node (or both) put back to the start of
 * the course («Сбросить узел»), a node halted over a limit (node-limits.ts) until it is reset.
 * The lab's observers (live-state.ts) let a node go while it is down and take it back after.
 * Stopped labs are keeping.ts's; which lab, and whether an operation may run now, the manager's.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { LabNode, NodeLimitEvent, ResetBy } from '../api';
import type { Config } from '../config/config';
import { resetLabNode, type LabPlan } from '../docker/provision';
import { HttpError } from '../http/errors';
import type { Clock } from '../lib/clock';
import { initialStatus, type Lab } from './lab';
import type { LabIdentity } from './labels';
import type { LabWatch } from './live-state';

export interface RunningContext {
	docker: Docker;
	clock: Clock;
	config: Pick<Config, 'labTtlMs' | 'labMaxLifetimeMs'>;
	log: Logger;
	/** Called before a node's container goes away, to let its terminals go. */
	onTeardown: (labId: string, node?: LabNode) => Promise<void>;
	/** The lab's observers, while it runs. */
	watch: (labId: string) => LabWatch | undefined;
	/** What Docker builds for a node (creation.ts). */
	plan: (labId: string, identity: LabIdentity) => LabPlan;
	save: () => Promise<void>;
}

/** 409 `lab-stopped` unless the lab runs (its nodes are up). */
export function requireRunning(lab: Lab): void {
	if (lab.status === 'running') return;
	throw new HttpError(
		409,
		'lab-stopped',
		lab.status === 'starting'
			? 'Стенд запускается: подождите несколько секунд.'
			: 'Стенд остановлен: нажмите «Продолжить», чтобы запустить его снова.',
	);
}

/** «Продлить»: the lab lives another TTL from now, up to its lifetime cap. */
export async function extendLab(ctx: RunningContext, lab: Lab): Promise<void> {
	requireRunning(lab);
	const { config, clock } = ctx;
	const cap = lab.startedAt + config.labMaxLifetimeMs;
	const next = Math.min(clock.now() + config.labTtlMs, cap);
	if (next <= lab.expiresAt) {
		throw new HttpError(
			409,
			'extend-limit',
			'Продлить стенд больше нельзя: он уже живёт максимальное время.',
		);
	}
	lab.expiresAt = next;
	lab.events.emit('lab', { expiresAt: new Date(next).toISOString() });
	await ctx.save();
}

/** «Сбросить стенд»: the nodes back to the state at the start of the course. */
export async function resetNodes(
	ctx: RunningContext,
	lab: Lab,
	nodes: LabNode[],
	by: ResetBy,
): Promise<void> {
	requireRunning(lab);
	const { docker, log } = ctx;
	const plan = ctx.plan(lab.id, {
		index: lab.addresses.index,
		tokenHash: lab.tokenHash,
		ownerHash: lab.ownerHash,
		createdAt: lab.createdAt,
		workshop: lab.workshop,
	});
	const watch = ctx.watch(lab.id);
	const started = performance.now();
	// Set before the terminals are closed: a client reconnecting at once waits for the new node.
	const done: (() => void)[] = [];
	for (const name of nodes) {
		lab.resetting[name] = new Promise<void>((resolve) => done.push(resolve));
	}
	// Kept with the lab: a page closed meanwhile learns of it when it comes back.
	lab.lastReset = { at: ctx.clock.now(), by, nodes: [...nodes] };
	const at = new Date(lab.lastReset.at).toISOString();
	try {
		for (const name of nodes) {
			await ctx.onTeardown(lab.id, name);
			lab.events.emit('reset', { node: name, nodes: [...nodes], by, at });
			watch?.unwatch(name);
			lab.nodes[name] = initialStatus(name, lab.addresses[name]);
			delete lab.halted[name];
		}
		await Promise.all(
			nodes.map(async (name) => {
				lab.containers[name] = await resetLabNode(docker, plan, name);
				watch?.watch(name);
			}),
		);
	} finally {
		for (const name of nodes) delete lab.resetting[name];
		for (const resolve of done) resolve();
	}
	log.info({ labId: lab.id, nodes, ms: Math.round(performance.now() - started) }, 'lab reset');
	await ctx.save();
}

/**
 * Stops a node over a limit: its processes are killed, the learner is told why (`limit` event),
 * and it stays stopped — across restarts too — until it is reset.
 */
export async function haltNode(
	ctx: RunningContext,
	lab: Lab,
	node: LabNode,
	event: Omit<NodeLimitEvent, 'at'>,
): Promise<void> {
	const { docker, clock, log } = ctx;
	const at = new Date(clock.now()).toISOString();
	lab.halted[node] = { ...event, at };
	await docker
		.getContainer(lab.containers[node])
		.kill()
		.catch((error: unknown) =>
			log.warn({ labId: lab.id, node, err: error }, 'could not stop node'),
		);
	ctx.watch(lab.id)?.unwatch(node);
	lab.nodes[node] = {
		...lab.nodes[node],
		state: 'stopped',
		keepalived: 'stopped',
		hasVip: false,
	};
	lab.events.emit('limit', { ...event, at });
	log.warn(
		{ labId: lab.id, node, kind: event.kind, used: event.used, limit: event.limit },
		'node stopped over a limit',
	);
	await ctx.save();
}
