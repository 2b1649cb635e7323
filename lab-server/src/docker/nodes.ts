/**
 * A lab's node containers: started unprivileged with their limits, booted to systemd's
 * `running`, removed.
 *
 * Isolation (learners are root inside their nodes): never privileged; Docker's default
 * capabilities plus NET_ADMIN (VIPs, routes) and NET_RAW (VRRP, ping, tcpdump), with memory,
 * pids and CPU limits; the lab network (lab-network.ts) is internal.
 */
import { existsSync } from 'node:fs';
import type Docker from 'dockerode';
import { execInNode, ignoreGone } from './engine';
import { containerName, LABELS, networkName } from './labels';

/** Whether the host runs the unified (v2) cgroup hierarchy only. */
const UNIFIED_CGROUPS = existsSync('/sys/fs/cgroup/cgroup.controllers');

export type NodeRole = 'hap1' | 'hap2' | 'client' | 'intruder';

export interface NodeLimits {
	memoryMb: number;
	pidsLimit: number;
	cpuShares: number;
}

export interface NodeSpec {
	labId: string;
	role: NodeRole;
	ip: string;
	image: string;
	limits: NodeLimits;
	labels: Record<string, string>;
}

export async function startNode(docker: Docker, spec: NodeSpec): Promise<string> {
	const name = containerName(spec.labId, spec.role);
	const container = await docker.createContainer({
		name,
		Image: spec.image,
		Hostname: spec.role,
		Labels: { ...spec.labels, [LABELS.lab]: spec.labId, [LABELS.node]: spec.role },
		Env: ['container=docker'],
		StopSignal: 'SIGRTMIN+3',
		HostConfig: {
			Privileged: false,
			CapAdd: ['NET_ADMIN', 'NET_RAW'],
			// systemd as PID 1 in an unprivileged container: its runtime dirs on tmpfs, and the
			// cgroup tree read-only (v1) or a private cgroup namespace (v2; README «Требования»).
			Tmpfs: { '/run': 'rw,nosuid,nodev,mode=755', '/run/lock': 'rw,nosuid,nodev,noexec' },
			...(UNIFIED_CGROUPS
				? { CgroupnsMode: 'private' as const }
				: { Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:ro'] }),
			Memory: spec.limits.memoryMb * 1024 * 1024,
			MemorySwap: spec.limits.memoryMb * 1024 * 1024,
			PidsLimit: spec.limits.pidsLimit,
			CpuShares: spec.limits.cpuShares,
			// External names must not resolve from a node: Docker's embedded DNS forwards to these
			// servers, and a loopback address inside the node's namespace answers nothing.
			Dns: ['127.0.0.1'],
			NetworkMode: networkName(spec.labId),
			RestartPolicy: { Name: 'no' },
			LogConfig: { Type: 'none', Config: {} },
		},
		NetworkingConfig: {
			EndpointsConfig: {
				[networkName(spec.labId)]: {
					IPAMConfig: { IPv4Address: spec.ip },
					Aliases: [spec.role],
				},
			},
		},
	});
	await container.start();
	return container.id;
}

/**
 * Waits until systemd in the node has finished booting (`running`, or `degraded` when a unit
 * failed). Right after the container starts systemd's bus does not exist yet, so `systemctl
 * --wait` is retried until it can connect.
 */
export async function waitForBoot(docker: Docker, containerId: string, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	let last = '';
	while (Date.now() < deadline) {
		const result = await execInNode(
			docker,
			containerId,
			['systemctl', 'is-system-running', '--wait'],
			{ timeoutMs: Math.max(1_000, deadline - Date.now()) },
		);
		const state = result.stdout.trim();
		if (state === 'running' || state === 'degraded') return state;
		last = state || result.stderr.trim();
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`node did not boot within ${timeoutMs} ms: systemd says "${last}"`);
}

/** Removes one node's container (for a reset); the lab's network stays. */
export async function removeNode(docker: Docker, labId: string, role: NodeRole): Promise<void> {
	await docker
		.getContainer(containerName(labId, role))
		.remove({ force: true, v: true })
		.catch(ignoreGone);
}
