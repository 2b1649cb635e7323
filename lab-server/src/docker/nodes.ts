/**
 * A lab's node containers: started unprivileged with their limits, booted to systemd's
 * `running`, removed.
 *
 * Isolation (learners are root inside their nodes): never privileged; only the capabilities in
 * NODE_CAPABILITIES; memory, pids, a CPU ceiling, open files and the writable layer limited
 * (labs/node-limits.ts watches what Docker cannot limit here); the lab network (lab-network.ts)
 * is internal.
 */
import { existsSync } from 'node:fs';
import type Docker from 'dockerode';
import type { BootYield } from './boot-yield';
import { execInNode, ignoreGone, type ExecResult } from './engine';
import { containerName, LABELS, networkName } from './labels';
import { linkBind, nodeLinkDir, prepareLinkDir } from './node-links';

/** Whether the host runs the unified (v2) cgroup hierarchy only. */
const UNIFIED_CGROUPS = existsSync('/sys/fs/cgroup/cgroup.controllers');

export type NodeRole = 'hap1' | 'hap2' | 'client' | 'intruder';

/**
 * The capabilities a node keeps — all others, Docker's defaults included, are dropped. Found by
 * booting nodes without each one and running the course and every drill (README «Требования»):
 * - CHOWN, DAC_OVERRIDE, FOWNER: apt and dpkg setting up their files (without DAC_OVERRIDE
 *   haproxy cannot start);
 * - SETUID, SETGID: sudo, and services that run as their own users (haproxy, _apt);
 * - SETPCAP: systemd dropping capabilities for its services (journald fails without it);
 * - KILL: `systemctl stop` signalling services that run as other users (haproxy's workers);
 * - AUDIT_WRITE: sudo's audit message (without it every sudo prints an error);
 * - NET_ADMIN: the VIP, tc filters of the drills; NET_RAW: VRRP, ping, tcpdump.
 * Dropped from Docker's defaults: FSETID, MKNOD, NET_BIND_SERVICE (Docker lets a container's
 * root bind low ports anyway), SETFCAP, SYS_CHROOT.
 */
export const NODE_CAPABILITIES = [
	'AUDIT_WRITE',
	'CHOWN',
	'DAC_OVERRIDE',
	'FOWNER',
	'KILL',
	'NET_ADMIN',
	'NET_RAW',
	'SETGID',
	'SETPCAP',
	'SETUID',
] as const;

/** CFS period of a node's CPU ceiling, µs. */
const CPU_PERIOD_US = 10_000;

/**
 * How a fresh node from the image boots (`startNode`'s `boot`); it gets its own CPU ceiling
 * (`settleCpu`) before anyone has a shell in it, and only the image's units run before.
 * - `now`, someone is waiting for it: under at least one core — systemd's boot under half a
 *   core took about 300 ms longer (a lab ready in 1.05 s instead of 0.76 s);
 * - `background`, for a warm pool: under its own ceiling, as it will run; nobody waits for it.
 *   (A lowest CPU share while booting was tried as well: it changed nothing measurable for a
 *   learner's echo beside a refill, which is mostly Docker's own work.)
 */
export type BootPriority = 'now' | 'background';

const BOOT_CPUS = 1;

function bootCpus(limits: NodeLimits, boot: BootPriority | undefined): number {
	return boot === 'now' ? Math.max(limits.cpus, BOOT_CPUS) : limits.cpus;
}

export interface NodeLimits {
	memoryMb: number;
	pidsLimit: number;
	cpuShares: number;
	/** Hard CPU ceiling, cores. */
	cpus: number;
	/** Open files per process. */
	openFiles: number;
	/** Size of the writable layer, MiB, when Docker can enforce it (`StorageOpt`); else null. */
	diskMb: number | null;
}

export interface NodeSpec {
	labId: string;
	role: NodeRole;
	ip: string;
	image: string;
	limits: NodeLimits;
	labels: Record<string, string>;
	/**
	 * Where the node's terminal link directories are made (node-links.ts); null: the node gets
	 * none, and its terminals go through the exec's stdio.
	 */
	linkRoot?: string | null;
}

/** The limits a node was started with, read back from its HostConfig (for a sibling). */
export function limitsOf(host: Docker.HostConfig): NodeLimits {
	const mb = (bytes: number | undefined) => Math.round((bytes ?? 0) / 1024 / 1024);
	const size = /^(\d+)M$/.exec(host.StorageOpt?.size ?? '')?.[1];
	return {
		memoryMb: mb(host.Memory) || 256,
		pidsLimit: host.PidsLimit || 512,
		cpuShares: host.CpuShares || 256,
		cpus: host.CpuQuota && host.CpuPeriod ? host.CpuQuota / host.CpuPeriod : 0.5,
		openFiles: host.Ulimits?.find((u) => u.Name === 'nofile')?.Hard || 1024,
		diskMb: size ? Number(size) : null,
	};
}

/**
 * Creates and starts a node. With `boot` (a fresh node from the image only) it boots under that
 * CPU priority, and the caller must `settleCpu` it once booted.
 */
export async function startNode(
	docker: Docker,
	spec: NodeSpec,
	options: { boot?: BootPriority } = {},
): Promise<string> {
	const name = containerName(spec.labId, spec.role);
	const cpus = bootCpus(spec.limits, options.boot);
	const linkDir = spec.linkRoot ? nodeLinkDir(spec.linkRoot, name) : null;
	if (linkDir) await prepareLinkDir(linkDir);
	const binds = [
		...(UNIFIED_CGROUPS ? [] : ['/sys/fs/cgroup:/sys/fs/cgroup:ro']),
		// Below the /run tmpfs: Docker mounts by depth of destination, so it is still seen there.
		...(linkDir ? [linkBind(linkDir)] : []),
	];
	const container = await docker.createContainer({
		name,
		Image: spec.image,
		Hostname: spec.role,
		Labels: { ...spec.labels, [LABELS.lab]: spec.labId, [LABELS.node]: spec.role },
		Env: ['container=docker'],
		StopSignal: 'SIGRTMIN+3',
		HostConfig: {
			Privileged: false,
			CapDrop: ['ALL'],
			CapAdd: [...NODE_CAPABILITIES],
			// systemd as PID 1 in an unprivileged container: its runtime dirs on tmpfs (sized: a
			// tmpfs is memory), and the cgroup tree read-only (v1) or a private cgroup namespace (v2;
			// README «Требования»).
			Tmpfs: {
				'/run': 'rw,nosuid,nodev,mode=755,size=64m',
				'/run/lock': 'rw,nosuid,nodev,noexec,size=1m',
			},
			...(UNIFIED_CGROUPS ? { CgroupnsMode: 'private' as const } : {}),
			...(binds.length > 0 ? { Binds: binds } : {}),
			Memory: spec.limits.memoryMb * 1024 * 1024,
			MemorySwap: spec.limits.memoryMb * 1024 * 1024,
			PidsLimit: spec.limits.pidsLimit,
			CpuShares: spec.limits.cpuShares,
			// The ceiling over a short period: a node that uses up its quota waits at most 10 ms
			// for the next one, not 100 ms (the default), so its neighbours' wake-ups stay prompt.
			CpuPeriod: CPU_PERIOD_US,
			CpuQuota: cpuQuota(cpus),
			Ulimits: [{ Name: 'nofile', Soft: spec.limits.openFiles, Hard: spec.limits.openFiles }],
			ShmSize: 16 * 1024 * 1024,
			...(spec.limits.diskMb !== null ? { StorageOpt: { size: `${spec.limits.diskMb}M` } } : {}),
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

/** Gives a booted node its own CPU ceiling (after a boot under `BootPriority`). */
export async function settleCpu(
	docker: Docker,
	containerId: string,
	limits: NodeLimits,
): Promise<void> {
	await docker
		.getContainer(containerId)
		.update({ CpuPeriod: CPU_PERIOD_US, CpuQuota: cpuQuota(limits.cpus) });
}

function cpuQuota(cpus: number): number {
	return Math.round(cpus * CPU_PERIOD_US);
}

/**
 * Waits until systemd in the node has finished booting (`running`, or `degraded` when a unit
 * failed). Right after the container starts systemd's bus does not exist yet, so `systemctl
 * --wait` is retried until it can connect. A boot that gives way to typing (`yieldTo`) is frozen
 * while learners type and asked without `--wait`, only at pauses in typing (boot-yield.ts).
 */
export async function waitForBoot(
	docker: Docker,
	containerId: string,
	options: { timeoutMs?: number; yieldTo?: BootYield | null } = {},
) {
	const timeoutMs = options.timeoutMs ?? 30_000;
	const deadline = Date.now() + timeoutMs;
	const freeze = options.yieldTo?.freezeWhileTyping(docker.getContainer(containerId));
	const ask = (): Promise<ExecResult> =>
		freeze
			? freeze.exclusive(() =>
					execInNode(docker, containerId, ['systemctl', 'is-system-running'], {
						timeoutMs: 5_000,
					}),
				)
			: execInNode(docker, containerId, ['systemctl', 'is-system-running', '--wait'], {
					timeoutMs: Math.max(1_000, deadline - Date.now()),
				});
	let last = '';
	try {
		while (Date.now() < deadline) {
			await options.yieldTo?.pause();
			const result = await ask();
			const state = result.stdout.trim();
			if (state === 'running' || state === 'degraded') return state;
			last = state || result.stderr.trim();
			await new Promise((resolve) => setTimeout(resolve, freeze ? 100 : 50));
		}
	} finally {
		await freeze?.stop();
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
