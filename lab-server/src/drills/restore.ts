/**
 * `restore`: undoes what the record of the active drill says was done, in reverse, then sweeps
 * what can be recognised without it, and reports `restored` once the cluster has converged.
 */
import { systemClock } from '../lib/clock';
import { removeNode } from '../docker/nodes';
import { networkName } from '../docker/labels';
import { DRILL_TITLES, LAB_NODES, type LabNode } from '../api';
import {
	DrillError,
	type DrillContext,
	type DrillStarted,
	type LabDrills,
	type Undo,
} from './model';
import {
	container,
	emit,
	mustRun,
	POLL_MS,
	shortError,
	sleep,
	snapshotAll,
	summary,
	type Snapshots,
} from './node-ops';
import { RECONNECT, TC_PREF, UNBLOCK_VRRP } from './scripts';

const RESTORE_TIMEOUT_MS = 20_000;

export async function restore(ctx: DrillContext, state: LabDrills): Promise<DrillStarted> {
	const clock = ctx.clock ?? systemClock;
	const record = state.active;
	const startedAt = clock.now();
	const log = ctx.log.child({ labId: ctx.lab.id, drill: 'restore' });
	state.busy = true;
	const target: LabNode = record?.target ?? 'hap1';
	try {
		if (record) record.cancelled = true;
		const recorded = [...(record?.undo ?? [])].reverse();
		const errors: unknown[] = [];
		const attempt = async (step: Undo) => {
			try {
				await undo(ctx, step);
			} catch (error) {
				log.warn({ err: error, step }, 'restore step failed');
				errors.push(error);
			}
		};
		for (const step of recorded) await attempt(step);
		// Then what the record may not know about, whoever did it (a drill before a server
		// restart, for instance): a paused or disconnected node first, so that the nodes can
		// run commands again, then leftover filters and the intruder.
		for (const node of LAB_NODES) {
			await attempt({ kind: 'unpause', node });
			await attempt({ kind: 'reconnect', node });
		}
		for (const step of sweepSteps(recorded)) await attempt(step);
		state.active = null;
		log.info({ undone: recorded.length, errors: errors.length }, 'drill restored');
		if (errors.length > 0) {
			throw new DrillError(
				500,
				'restore-failed',
				`Вернуть стенд удалось не полностью: ${shortError(errors[0])}. Попробуйте ещё раз или сбросьте стенд.`,
				{ cause: errors[0] },
			);
		}
	} finally {
		state.busy = false;
	}
	const drill = record?.drill ?? 'restore';
	void converge(ctx).then(
		(states) => {
			const holders = LAB_NODES.filter((node) => states?.[node].hasVip);
			const ok = holders.length === 1;
			emit(ctx, {
				drill: 'restore',
				phase: 'restored',
				target,
				detail: ok
					? `Стенд восстановлен${record ? ` после учений «${DRILL_TITLES[drill]}»` : ''}: VIP на ${holders[0]}.`
					: `Стенд восстановлен, но VIP сейчас ${holders.length === 0 ? 'ни на одном узле' : 'на обоих узлах'}: проверьте keepalived на обоих узлах.`,
				ok,
				...(states ? summary(states) : {}),
			});
		},
		(error: unknown) => log.error({ err: error }, 'restore convergence check failed'),
	);
	return { drill: 'restore', target, startedAt: new Date(startedAt).toISOString() };
}

/** Sweep steps for what the record may not know: filters and the intruder. */
function sweepSteps(recorded: Undo[]): Undo[] {
	const extra: Undo[] = [];
	for (const node of LAB_NODES) {
		if (!recorded.some((s) => s.kind === 'remove-tc' && s.node === node)) {
			extra.push({ kind: 'remove-tc', node, qdiscCreated: false });
		}
	}
	if (!recorded.some((s) => s.kind === 'remove-intruder')) extra.push({ kind: 'remove-intruder' });
	return extra;
}

async function undo(ctx: DrillContext, step: Undo): Promise<void> {
	const { docker, lab } = ctx;
	switch (step.kind) {
		case 'start-haproxy':
			await mustRun(ctx, step.node, 'systemctl start haproxy');
			return;
		case 'start-keepalived':
			// A SIGKILLed unit is `failed`; starting it again also removes the stale VIP.
			await mustRun(
				ctx,
				step.node,
				'systemctl reset-failed keepalived; systemctl start keepalived',
			);
			return;
		case 'unpause': {
			const info = await container(ctx, step.node).inspect();
			if (info.State.Paused) await container(ctx, step.node).unpause();
			lab.nodes[step.node].state = 'running';
			return;
		}
		case 'reconnect': {
			const info = await container(ctx, step.node).inspect();
			if (info.NetworkSettings.Networks[networkName(lab.id)]) return;
			await docker.getNetwork(networkName(lab.id)).connect({
				Container: lab.containers[step.node],
				EndpointConfig: {
					IPAMConfig: { IPv4Address: lab.addresses[step.node] },
					Aliases: [step.node],
				},
			});
			await mustRun(ctx, step.node, RECONNECT, [lab.addresses[step.node], lab.addresses.gateway]);
			// keepalived 2.2.7 follows eth0 going and coming back (a new interface, renamed) and
			// says BACKUP, but its VRRP socket stays on the old interface: it hears no advert and
			// its master-down timer never fires, so it could never take over again. A reload opens
			// the sockets afresh and keeps the VRRP state.
			await mustRun(
				ctx,
				step.node,
				'! systemctl is-active --quiet keepalived || systemctl reload keepalived',
			);
			return;
		}
		case 'remove-tc':
			await mustRun(ctx, step.node, UNBLOCK_VRRP, [String(TC_PREF), step.qdiscCreated ? '1' : '0']);
			return;
		case 'remove-intruder':
			await removeNode(docker, lab.id, 'intruder');
			return;
	}
}

/** Waits until exactly one node holds the VIP and both run keepalived as MASTER or BACKUP. */
async function converge(ctx: DrillContext): Promise<Snapshots | null> {
	const clock = ctx.clock ?? systemClock;
	const deadline = clock.now() + RESTORE_TIMEOUT_MS;
	let last: Snapshots | null = null;
	for (;;) {
		last = await snapshotAll(ctx);
		const holders = LAB_NODES.filter((node) => last![node].hasVip);
		const settled = LAB_NODES.every((node) =>
			['MASTER', 'BACKUP'].includes(last![node].keepalived),
		);
		if (holders.length === 1 && settled) return last;
		if (clock.now() >= deadline) return last;
		await sleep(clock, POLL_MS);
	}
}
