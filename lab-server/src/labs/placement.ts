/**
 * Where a new lab goes on this host and what its nodes may take: the first free /24 of the
 * subnet pool, and the node limits from the configuration.
 */
import type Docker from 'dockerode';
import type { Config } from '../config/config';
import { usedSubnets } from '../docker/lab-network';
import type { NodeLimits } from '../docker/nodes';
import { HttpError } from '../http/errors';
import { firstFreeIndex, occupiedIndexes, type SubnetPool } from './subnets';

/** The first /24 of the pool that no Docker network uses, nor any of `taken`; 503 when none. */
export async function freeSubnetIndex(
	docker: Docker,
	pool: SubnetPool,
	taken: Iterable<number>,
): Promise<number> {
	const used = new Set([...occupiedIndexes(pool, await usedSubnets(docker)), ...taken]);
	const index = firstFreeIndex(pool, used);
	if (index === null) {
		throw new HttpError(
			503,
			'no-capacity',
			'Свободных адресов для нового стенда нет. Попробуйте позже.',
		);
	}
	return index;
}

/** What each node of a lab may take (docker/nodes.ts). */
export function nodeLimits(config: Config, storageQuota: boolean): NodeLimits {
	return {
		memoryMb: config.nodeMemoryMb,
		pidsLimit: config.nodePidsLimit,
		cpuShares: config.nodeCpuShares,
		cpus: config.nodeCpus,
		openFiles: config.nodeOpenFiles,
		diskMb: storageQuota ? config.nodeDiskMb : null,
	};
}
