/**
 * What a restarted server makes of the labs it finds in Docker: its own whole labs are taken
 * back (running, or stopped with their files kept), its own broken, expired or half-created ones
 * removed, other servers' left alone.
 */
import { LAB_NODES } from '../api';
import type { Config } from '../config/config';
import type { LabResources } from '../docker/lab-network';
import { LABELS } from '../docker/labels';
import type { LabFields } from './lab';
import { identityFromLabels } from './labels';
import { RUNNING, type SavedLab, type SavedLabs } from './store';
import { labAddresses } from './subnets';

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
			containers: { hap1: containers.hap1!.id, hap2: containers.hap2!.id },
		},
	};
}
