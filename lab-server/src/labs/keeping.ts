/**
 * Labs kept stopped for their learner: stopping one with its files (a drill under way undone,
 * terminals closed with 4018 and their scrollback saved, the nodes stopped, the disk they take
 * measured) and starting the same nodes again for «Продолжить». When — and whether there is room
 * — is the manager's and the reaper's business (manager.ts, reaping.ts, lifetime.ts); this
 * module does the change of state.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { LAB_NODES, type StopReason } from '../api';
import type { Config } from '../config/config';
import { startLabNodes, stopLabNodes } from '../docker/provision';
import { HttpError } from '../http/errors';
import type { Clock } from '../lib/clock';
import { initialStatus, type Lab } from './lab';

export interface KeepingContext {
	docker: Docker;
	clock: Clock;
	config: Pick<Config, 'labKeepMs' | 'labTtlMs'>;
	log: Logger;
	/** Before the nodes stop: undo a drill, save the terminals' scrollback. */
	onStop?: (lab: Lab) => Promise<void>;
	/** The lab runs (again): observe its nodes, tell the rest of the server. */
	activate: (lab: Lab) => void;
	/** The lab stops running: stop observing it, tell the rest of the server. */
	deactivate: (lab: Lab) => void;
	save: () => Promise<void>;
	/** Bytes the server keeps for the lab besides its nodes (its recordings): its disk too. */
	keptBytes?: (labId: string) => Promise<number>;
}

/** Stops a running lab with its files kept until `LAB_KEEP_DAYS` from now. */
export async function stopLab(ctx: KeepingContext, lab: Lab, reason: StopReason): Promise<void> {
	const { docker, clock, config, log } = ctx;
	const keptUntil = clock.now() + config.labKeepMs;
	lab.events.emit('stopped', { reason, keptUntil: new Date(keptUntil).toISOString() });
	await ctx.onStop?.(lab);
	ctx.deactivate(lab);
	lab.diskBytes =
		(await stopLabNodes(docker, lab.id, lab.containers)) + ((await ctx.keptBytes?.(lab.id)) ?? 0);
	Object.assign(lab, { status: 'stopped', stoppedAt: clock.now(), keptUntil });
	for (const node of LAB_NODES) {
		lab.nodes[node] = {
			...lab.nodes[node],
			state: 'stopped',
			keepalived: 'stopped',
			hasVip: false,
		};
	}
	await ctx.save();
	log.info({ labId: lab.id, reason, diskMb: Math.round(lab.diskBytes / 2 ** 20) }, 'lab stopped');
}

/**
 * Starts a stopped lab's nodes again (those not stopped over a limit: they wait for «Сбросить
 * узел») and waits until they have booted; the lab runs a new TTL from now. On failure the
 * nodes are stopped again and the lab stays stopped (500 `lab-resume-failed`).
 */
export async function resumeLab(ctx: KeepingContext, lab: Lab): Promise<void> {
	const { docker, clock, config, log } = ctx;
	lab.status = 'starting';
	let ms: number;
	try {
		ms = await startLabNodes(
			docker,
			lab.containers,
			LAB_NODES.filter((node) => !lab.halted[node]),
		);
	} catch (error) {
		log.error({ labId: lab.id, err: error }, 'lab resume failed');
		await stopLabNodes(docker, lab.id, lab.containers).catch(() => undefined);
		lab.status = 'stopped';
		throw new HttpError(
			500,
			'lab-resume-failed',
			'Не удалось запустить стенд снова. Попробуйте ещё раз или начните заново.',
			{ cause: error },
		);
	}
	const now = clock.now();
	Object.assign(lab, {
		status: 'running',
		startedAt: now,
		expiresAt: now + config.labTtlMs,
		idleSince: now,
		keptUntil: null,
		stoppedAt: null,
	});
	for (const node of LAB_NODES) {
		lab.nodes[node] = lab.halted[node]
			? { ...lab.nodes[node], state: 'stopped' }
			: initialStatus(node, lab.addresses[node]);
	}
	ctx.activate(lab);
	lab.events.emit('resumed', { expiresAt: new Date(lab.expiresAt).toISOString() });
	await ctx.save();
	log.info({ labId: lab.id, ms }, 'lab resumed');
}
