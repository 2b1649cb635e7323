/**
 * A lab's immutable facts as Docker labels on its network and containers, and back: what a
 * restarted server adopts a lab from. The token itself is never stored, only its SHA-256.
 */
import path from 'node:path';
import { LABELS } from '../docker/labels';
import { sha256 } from '../lib/hash';

export interface LabIdentity {
	index: number;
	tokenHash: string;
	ownerHash: string;
	createdAt: number;
	workshop: string | null;
}

/** The labels a lab's resources carry (besides the lab id and node role, which docker/ adds). */
export function labLabels(lab: LabIdentity, serverId: string): Record<string, string> {
	return {
		[LABELS.index]: String(lab.index),
		[LABELS.tokenHash]: lab.tokenHash,
		[LABELS.owner]: lab.ownerHash,
		[LABELS.createdAt]: new Date(lab.createdAt).toISOString(),
		[LABELS.server]: serverId,
		...(lab.workshop ? { [LABELS.workshop]: lab.workshop } : {}),
	};
}

/** The identity read back from labels, or null when they are not a whole lab's. */
export function identityFromLabels(labels: Record<string, string>): LabIdentity | null {
	const index = Number(labels[LABELS.index]);
	const createdAt = Date.parse(labels[LABELS.createdAt] ?? '');
	const tokenHash = labels[LABELS.tokenHash] ?? '';
	if (
		!Number.isInteger(index) ||
		!Number.isFinite(createdAt) ||
		!/^[0-9a-f]{64}$/.test(tokenHash)
	) {
		return null;
	}
	return {
		index,
		tokenHash,
		ownerHash: labels[LABELS.owner] ?? '',
		createdAt,
		workshop: labels[LABELS.workshop] || null,
	};
}

/**
 * The id a lab server with this state directory puts on its labs (`LABELS.server`): a server
 * adopts or reaps only its own labs, never those of another server on the same Docker host.
 */
export function serverIdFor(stateDir: string): string {
	return sha256(path.resolve(stateDir)).slice(0, 16);
}
