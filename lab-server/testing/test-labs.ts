/**
 * What the Docker tests, the browser tests and the benchmarks share: labs provisioned without a
 * server, commands in a node, waiting on a condition, and cleaning up a server's labs. No test
 * runner is imported here (the benchmarks run outside vitest).
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { execInNode, type ExecResult } from '../src/docker/engine';
import { LABELS } from '../src/docker/labels';
import { listLabResources, removeLab, usedSubnets } from '../src/docker/lab-network';
import { serverIdFor } from '../src/labs/labels';
import { deprovisionLab, provisionLab, type LabPlan } from '../src/docker/provision';
import { newLab, type Lab } from '../src/labs/lab';
import { firstFreeIndex, labAddresses, occupiedIndexes, parsePool } from '../src/labs/subnets';

const POOL = parsePool('10.129.0.0/16');

/**
 * A lab plan on the first /24 of the default pool that no Docker network uses (nor `taken`),
 * for tests that provision nodes without a lab server. No lab server adopts or reaps it: servers
 * touch only labs carrying their own server label.
 */
export async function planTestLab(
	docker: Docker,
	image: string,
	taken: ReadonlySet<number> = new Set(),
): Promise<LabPlan> {
	const used = new Set([...occupiedIndexes(POOL, await usedSubnets(docker)), ...taken]);
	const index = firstFreeIndex(POOL, used);
	if (index === null) throw new Error('subnet pool exhausted');
	return {
		labId: `t${randomBytes(4).toString('hex')}`,
		addresses: labAddresses(POOL, index),
		image,
		limits: {
			memoryMb: 256,
			pidsLimit: 512,
			cpuShares: 256,
			cpus: 0.5,
			openFiles: 1024,
			diskMb: null,
		},
		labels: { [LABELS.createdAt]: new Date().toISOString(), [LABELS.index]: String(index) },
		boot: 'now',
		linkRoot: null,
	};
}

/** Runs a bash script in a node, as root unless `user` says otherwise. */
export function sh(
	docker: Docker,
	containerId: string,
	script: string,
	options: { user?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
	return execInNode(docker, containerId, ['bash', '-c', script], options);
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
	what: string,
	probe: () => Promise<T | undefined>,
	timeoutMs: number,
	intervalMs = 200,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe();
		if (value !== undefined) return value;
		if (Date.now() > deadline)
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
	}
}

/** Terminal output as text: escape sequences (CSI, OSC) and carriage returns removed. */
export function stripAnsi(text: string): string {
	// eslint-disable-next-line no-control-regex
	return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g, '');
}

/**
 * Removes every lab in Docker that the lab server with this state directory owns, whatever that
 * server still knew about it (a pool lab still booting when it stopped, say): for test teardown.
 */
export async function removeServerLabs(docker: Docker, stateDir: string): Promise<void> {
	const id = serverIdFor(stateDir);
	for (const [labId, found] of await listLabResources(docker)) {
		const labels = found.containers[0]?.labels ?? found.labels;
		if (labels[LABELS.server] === id) await removeLab(docker, labId);
	}
}

/** A lab provisioned without a server, as the server keeps it in memory (its state not observed). */
export interface TestLab {
	lab: Lab;
	plan: LabPlan;
	remove(): Promise<void>;
}

/**
 * Provisions a lab on the first free /24 and wraps it as a `Lab` (labs/lab.ts). Another test
 * file may take the same free subnet at the same moment: then the next one is tried.
 */
export async function provisionTestLab(docker: Docker, image: string): Promise<TestLab> {
	const taken = new Set<number>();
	for (let attempt = 0; ; attempt++) {
		const plan = await planTestLab(docker, image, taken);
		try {
			const { containers } = await provisionLab(docker, plan);
			const now = Date.now();
			const lab = newLab({
				id: plan.labId,
				addresses: plan.addresses,
				tokenHash: '',
				ownerHash: '',
				clientIp: null,
				halted: {},
				workshop: null,
				createdAt: now,
				expiresAt: now + 3_600_000,
				idleSince: now,
				containers,
			});
			return { lab, plan, remove: () => deprovisionLab(docker, plan.labId) };
		} catch (error) {
			if (attempt >= 2 || !/overlap/i.test(String(error))) throw error;
			taken.add(plan.addresses.index);
		}
	}
}
