/**
 * What a restarted server makes of the labs it finds in Docker: its own whole labs are taken
 * back (running, or stopped with their files kept), its own broken, expired or half-created ones
 * removed, other servers' left alone. `adoption` decides for one lab; `adoptLabs` does it for
 * every lab Docker has.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { LAB_NODES } from '../api';
import { terminalLinkRoot, type Config } from '../config/config';
import { listLabResources, type LabResources } from '../docker/lab-network';
import { LABELS } from '../docker/labels';
import { removeStaleLinkDirs } from '../docker/node-links';
import { deprovisionLab, stopLabNodes } from '../docker/provision';
import type { Clock } from '../lib/clock';
import type { LabActivity } from './activity';
import type { Lab, LabFields } from './lab';
import { identityFromLabels } from './labels';
import { RUNNING, type SavedLab, type SavedLabs } from './store';
import { labAddresses } from './subnets';

export interface AdoptingContext {
	docker: Docker;
	clock: Clock;
	config: Pick<Config, 'labTtlMs' | 'labSubnetPool' | 'labKeepMs' | 'terminalLinkDir' | 'stateDir'>;
	log: Logger;
	/** This server's id on its labs' labels (labels.ts): other servers' labs are left alone. */
	serverId: string;
	/** What the previous server saved (store.ts). */
	saved: SavedLabs;
	/** Takes a lab back in: the manager's from now on. */
	register: (fields: LabFields) => Lab;
	/** When learners last typed, taken back too. */
	activity: Pick<LabActivity, 'restore'>;
}

/**
 * Takes back every lab of this server's that Docker has, running or stopped; removes whatever is
 * incomplete, expired or unlabelled.
 */
export async function adoptLabs(
	ctx: AdoptingContext,
): Promise<{ adopted: number; removed: number }> {
	const { docker, clock, config, log, saved } = ctx;
	let adopted = 0;
	let removed = 0;
	for (const [labId, found] of await listLabResources(docker)) {
		const next = adoption(found, saved, { serverId: ctx.serverId, now: clock.now(), config });
		if (next.kind === 'foreign') continue;
		if (next.kind === 'remove') {
			log.info({ labId, complete: next.whole }, 'removing orphaned or expired lab');
			await deprovisionLab(docker, labId);
			removed++;
			continue;
		}
		const lab = ctx.register(next.fields);
		if (next.stopNodes) await stopLabNodes(docker, labId, lab.containers);
		ctx.activity.restore(labId, saved[labId]?.lastActivity ?? null);
		adopted++;
	}
	// Link directories whose nodes are gone (a lab's go with it: lab-network.ts); before any new
	// lab makes its own.
	const linkRoot = terminalLinkRoot(config);
	if (linkRoot) {
		const stale = await removeStaleLinkDirs(docker, linkRoot);
		if (stale > 0) log.info({ stale }, 'removed terminal link directories of gone nodes');
	}
	return { adopted, removed };
}

export type Adoption =
	| { kind: 'foreign' }
	| { kind: 'remove'; whole: boolean }
	| {
			kind: 'adopt';
			fields: LabFields;
			/**
			 * Found running but not running as far as the lab goes (stopped before the restart, or
			 * one node of it gone down with the host): its nodes still up are to be stopped.
			 */
			stopNodes: boolean;
	  };

export function adoption(
	found: LabResources,
	saved: SavedLabs,
	context: {
		serverId: string;
		now: number;
		config: Pick<Config, 'labTtlMs' | 'labSubnetPool' | 'labKeepMs'>;
	},
): Adoption {
	const { serverId, now, config } = context;
	const labels = found.containers[0]?.labels ?? found.labels;
	if ((labels[LABELS.server] ?? found.labels[LABELS.server]) !== serverId)
		return { kind: 'foreign' };
	const identity = identityFromLabels(labels);
	const containers = Object.fromEntries(found.containers.map((c) => [c.role, c]));
	const state: SavedLab = saved[found.labId] ?? {
		...RUNNING,
		expiresAt: (identity?.createdAt ?? 0) + config.labTtlMs,
		idleSince: now,
	};
	const whole =
		identity !== null && found.networkId !== null && LAB_NODES.every((node) => containers[node]);
	// Being created when the previous server went: never handed to the learner who asked.
	if (!whole || state.creating) return { kind: 'remove', whole };
	const up = (node: (typeof LAB_NODES)[number]) =>
		['running', 'paused'].includes(containers[node]!.state);
	// A node stopped over a limit stays down in a running lab until «Сбросить узел».
	const running =
		state.status === 'running' && LAB_NODES.every((node) => up(node) || state.halted[node]);
	// Found stopped without having been stopped (the host or Docker restarted): kept as a
	// stopped lab, from now, when labs are kept at all.
	const keptUntil = running
		? null
		: (state.keptUntil ?? (config.labKeepMs > 0 ? now + config.labKeepMs : now));
	if (running ? state.expiresAt <= now : keptUntil! <= now) return { kind: 'remove', whole };
	return {
		kind: 'adopt',
		stopNodes: !running && LAB_NODES.some(up),
		fields: {
			id: found.labId,
			addresses: labAddresses(config.labSubnetPool, identity.index),
			tokenHash: state.tokenHash ?? identity.tokenHash,
			ownerHash: state.ownerHash ?? identity.ownerHash,
			clientIp: null,
			workshop: identity.workshop,
			createdAt: identity.createdAt,
			status: running ? 'running' : 'stopped',
			startedAt: state.startedAt ?? identity.createdAt,
			expiresAt: state.expiresAt,
			keptUntil,
			stoppedAt: running ? null : (state.stoppedAt ?? now),
			diskBytes: state.diskBytes,
			// A restart is not the learner's idleness: their terminals reconnect in seconds.
			idleSince: Math.max(state.idleSince, now),
			halted: state.halted,
			lastReset: state.lastReset,
			containers: { hap1: containers.hap1!.id, hap2: containers.hap2!.id },
		},
	};
}
