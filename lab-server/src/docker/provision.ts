/**
 * Bringing a lab's nodes up and down: the lab network, hap1 and hap2 booted to `running`, and
 * nothing left behind when any part fails. labs.ts decides *when*; this module knows *how*.
 */
import type Docker from 'dockerode';
import { createLabNetwork, removeLab } from './lab-network';
import { removeNode, startNode, waitForBoot, type NodeLimits, type NodeRole } from './nodes';
import type { LabAddresses } from '../labs/subnets';

export const LAB_NODES = ['hap1', 'hap2'] as const;
export type LabNode = (typeof LAB_NODES)[number];

export interface LabPlan {
	labId: string;
	addresses: LabAddresses;
	image: string;
	limits: NodeLimits;
	/** Extra labels for the network and every container (token hash, owner, …). */
	labels: Record<string, string>;
}

export interface ProvisionedLab {
	containers: Record<LabNode, string>;
	/** Milliseconds from the first Docker call until both nodes' systemd reported `running`. */
	bootMs: number;
}

/** Creates the lab network and both nodes, and waits until both have booted. */
export async function provisionLab(docker: Docker, plan: LabPlan): Promise<ProvisionedLab> {
	const started = performance.now();
	try {
		await createLabNetwork(docker, {
			labId: plan.labId,
			subnet: plan.addresses.subnet,
			gateway: plan.addresses.gateway,
			labels: plan.labels,
		});
		const [hap1, hap2] = await Promise.all(LAB_NODES.map((role) => bootNode(docker, plan, role)));
		return {
			containers: { hap1: hap1 as string, hap2: hap2 as string },
			bootMs: Math.round(performance.now() - started),
		};
	} catch (error) {
		await removeLab(docker, plan.labId).catch(() => {
			// The original error is the one worth reporting; a later reap retries the cleanup.
		});
		throw error;
	}
}

/** Replaces one node with a fresh one from the image: the state at the start of the course. */
export async function resetLabNode(docker: Docker, plan: LabPlan, role: LabNode): Promise<string> {
	await removeNode(docker, plan.labId, role);
	return bootNode(docker, plan, role);
}

async function bootNode(docker: Docker, plan: LabPlan, role: NodeRole): Promise<string> {
	const id = await startNode(docker, {
		labId: plan.labId,
		role,
		ip: plan.addresses[role],
		image: plan.image,
		limits: plan.limits,
		labels: plan.labels,
	});
	await waitForBoot(docker, id);
	return id;
}

export { removeLab as deprovisionLab };
