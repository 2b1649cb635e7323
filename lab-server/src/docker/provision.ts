/**
 * Bringing a lab's nodes up and down: the lab network, hap1 and hap2 booted to `running`, and
 * nothing left behind when any part fails; a lab stopped with its files kept, and started again.
 * labs/ decides *when*; this module knows *how*.
 */
import type Docker from 'dockerode';
import type { BootYield } from './boot-yield';
import { ignoreGone } from './engine';
import { createLabNetwork, removeLab } from './lab-network';
import {
	removeNode,
	settleCpu,
	startNode,
	waitForBoot,
	type BootPriority,
	type NodeLimits,
	type NodeRole,
} from './nodes';
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
	/** How its fresh nodes boot: for a learner waiting (`now`) or for a warm pool. */
	boot: BootPriority;
	/** Set when nobody waits for the boot: it gives way to learners typing (boot-yield.ts). */
	yieldTo?: BootYield | null;
	/** Where its nodes' terminal link directories go (node-links.ts); null: none. */
	linkRoot: string | null;
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
		await plan.yieldTo?.pause();
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

/**
 * A fresh node from the image, booted under the plan's priority and then held to its own CPU
 * share and ceiling: nothing of the learner's runs before that (a stopped lab's nodes start under
 * their own).
 */
async function bootNode(docker: Docker, plan: LabPlan, role: NodeRole): Promise<string> {
	await plan.yieldTo?.pause();
	const id = await startNode(
		docker,
		{
			labId: plan.labId,
			role,
			ip: plan.addresses[role],
			image: plan.image,
			limits: plan.limits,
			labels: plan.labels,
			linkRoot: plan.linkRoot,
		},
		{ boot: plan.boot },
	);
	await waitForBoot(docker, id, { yieldTo: plan.yieldTo ?? null });
	await settleCpu(docker, id, plan.limits);
	return id;
}

/** systemd's shutdown inside a node takes about a second; after this Docker kills what is left. */
const STOP_TIMEOUT_S = 10;

/**
 * Stops a lab's nodes, their files kept (the network stays, so their addresses do), and removes
 * its helper containers (the downtime meter's client, a drill's intruder: made again on demand).
 * Returns the nodes' writable layers' size in bytes: what the stopped lab takes on disk.
 */
export async function stopLabNodes(
	docker: Docker,
	labId: string,
	containers: Record<LabNode, string>,
): Promise<number> {
	await Promise.all(
		(['client', 'intruder'] as const).map((role) => removeNode(docker, labId, role)),
	);
	const sizes = await Promise.all(
		LAB_NODES.map(async (node) => {
			const container = docker.getContainer(containers[node]);
			// A frozen node (a drill that could not be undone) cannot take a stop signal.
			await container.unpause().catch(() => undefined);
			await container.stop({ t: STOP_TIMEOUT_S }).catch(ignoreStopped);
			// `size` is a query parameter of the Engine API that dockerode's types leave out.
			const info = await container.inspect({ size: true } as Docker.ContainerInspectOptions);
			return (info as { SizeRw?: number }).SizeRw ?? 0;
		}),
	);
	return sizes.reduce((sum, size) => sum + size, 0);
}

/**
 * Starts a stopped lab's nodes again (`nodes`: those to start) and waits until they have booted.
 * Returns the milliseconds it took.
 */
export async function startLabNodes(
	docker: Docker,
	containers: Record<LabNode, string>,
	nodes: readonly LabNode[],
): Promise<number> {
	const started = performance.now();
	await Promise.all(
		nodes.map(async (node) => {
			await docker.getContainer(containers[node]).start().catch(ignoreStarted);
			await waitForBoot(docker, containers[node]);
		}),
	);
	return Math.round(performance.now() - started);
}

/** Docker's 304: the container was stopped already. */
function ignoreStopped(error: unknown): void {
	if ((error as { statusCode?: number }).statusCode === 304) return;
	ignoreGone(error);
}

/** Docker's 304: the container was running already. */
function ignoreStarted(error: unknown): void {
	if ((error as { statusCode?: number }).statusCode === 304) return;
	throw error;
}

export { removeLab as deprovisionLab };
