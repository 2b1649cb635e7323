/**
 * What a restarted server makes of the labs it finds in Docker: its own whole labs are taken
 * back, its own broken or expired ones removed, other servers' left alone.
 */
import { LAB_NODES } from '../api';
import type { Config } from '../config/config';
import type { LabResources } from '../docker/lab-network';
import { LABELS } from '../docker/labels';
import type { LabFields } from './lab';
import { identityFromLabels } from './labels';
import type { SavedLabs } from './store';
import { labAddresses } from './subnets';

export type Adoption =
	{ kind: 'foreign' } | { kind: 'remove'; whole: boolean } | { kind: 'adopt'; fields: LabFields };

export function adoption(
	found: LabResources,
	saved: SavedLabs,
	context: { serverId: string; now: number; config: Pick<Config, 'labTtlMs' | 'labSubnetPool'> },
): Adoption {
	const { serverId, now, config } = context;
	const labels = found.containers[0]?.labels ?? found.labels;
	if ((labels[LABELS.server] ?? found.labels[LABELS.server]) !== serverId)
		return { kind: 'foreign' };
	const identity = identityFromLabels(labels);
	const containers = Object.fromEntries(found.containers.map((c) => [c.role, c]));
	const state = saved[found.labId] ?? {
		expiresAt: (identity?.createdAt ?? 0) + config.labTtlMs,
		idleSince: now,
		halted: {},
		lastActivity: null,
		creating: false,
	};
	const whole =
		identity !== null &&
		found.networkId !== null &&
		LAB_NODES.every((node) => {
			const container = containers[node]?.state ?? '';
			// A node frozen by the freeze-node drill is paused, not gone: `restore` thaws it; one
			// stopped over a limit waits for the learner's «Сбросить узел».
			return (
				['running', 'paused'].includes(container) ||
				(container === 'exited' && state.halted[node] !== undefined)
			);
		});
	// Being created when the previous server went: never handed to the learner who asked.
	if (!whole || state.creating) return { kind: 'remove', whole };
	if (state.expiresAt <= now) return { kind: 'remove', whole };
	return {
		kind: 'adopt',
		fields: {
			id: found.labId,
			addresses: labAddresses(config.labSubnetPool, identity.index),
			tokenHash: identity.tokenHash,
			ownerHash: identity.ownerHash,
			clientIp: null,
			workshop: identity.workshop,
			createdAt: identity.createdAt,
			expiresAt: state.expiresAt,
			// A restart is not the learner's idleness: their terminals reconnect in seconds.
			idleSince: Math.max(state.idleSince, now),
			halted: state.halted,
			containers: { hap1: containers.hap1!.id, hap2: containers.hap2!.id },
		},
	};
}
