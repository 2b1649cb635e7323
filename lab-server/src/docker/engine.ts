/**
 * The Docker driver: everything the lab server asks of the Docker engine, through its API
 * (dockerode), and nothing else. A lab is one internal bridge network plus its node containers,
 * all labelled with the lab's id so that a restarted server can find and adopt them.
 *
 * Isolation (learners are root inside their nodes):
 * - the network is `--internal`: no NAT, no route out;
 * - the host keeps no IPv4 address on the lab's bridge (`inhibit_ipv4`), and host-firewall.ts
 *   drops anything a node sends to the host itself;
 * - nodes are never privileged: Docker's default capabilities plus NET_ADMIN (VIPs, routes) and
 *   NET_RAW (VRRP, ping, tcpdump), with memory, pids and CPU limits.
 */
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';

/** Labels on every container and network the lab server creates. */
export const LABELS = {
	/** Present on everything the lab server owns; its value is the lab id. */
	lab: 'org.keepalived-lab.lab',
	/** The node's role in its lab: `hap1`, `hap2`, `client`, `intruder`. */
	node: 'org.keepalived-lab.node',
	/** Index of the lab's /24 in the subnet pool. */
	index: 'org.keepalived-lab.index',
	/** SHA-256 of the lab's token: the token itself is never stored. */
	tokenHash: 'org.keepalived-lab.token-sha256',
	/** SHA-256 of the browser session that created the lab (for per-client limits). */
	owner: 'org.keepalived-lab.owner',
	createdAt: 'org.keepalived-lab.created-at',
	/** The workshop the lab belongs to, if any. */
	workshop: 'org.keepalived-lab.workshop',
	/**
	 * The lab server that owns the lab (a hash of its state directory): a server adopts or reaps
	 * only its own labs, never those of another server on the same Docker host (a test run, a
	 * dev server).
	 */
	server: 'org.keepalived-lab.server',
} as const;

/** Whether the host runs the unified (v2) cgroup hierarchy only. */
const UNIFIED_CGROUPS = existsSync('/sys/fs/cgroup/cgroup.controllers');

export type NodeRole = 'hap1' | 'hap2' | 'client' | 'intruder';

export interface NodeLimits {
	memoryMb: number;
	pidsLimit: number;
	cpuShares: number;
}

export interface LabNetworkSpec {
	labId: string;
	subnet: string;
	gateway: string;
	labels: Record<string, string>;
}

export interface NodeSpec {
	labId: string;
	role: NodeRole;
	ip: string;
	image: string;
	limits: NodeLimits;
	labels: Record<string, string>;
}

export interface ExecResult {
	exitCode: number;
	stdout: string;
	stderr: string;
}

export class DockerUnavailableError extends Error {
	constructor(socketPath: string, cause: unknown) {
		super(
			`Docker engine not reachable at "${socketPath}": start it (sudo dockerd, or systemctl start docker) — see README, «Требования»`,
			{ cause },
		);
		this.name = 'DockerUnavailableError';
	}
}

export function connectDocker(socketPath: string): Docker {
	return new Docker({ socketPath });
}

/** Resolves when the engine answers; throws DockerUnavailableError saying what to do otherwise. */
export async function pingDocker(docker: Docker, socketPath: string): Promise<void> {
	try {
		await docker.ping();
	} catch (error) {
		throw new DockerUnavailableError(socketPath, error);
	}
}

export function networkName(labId: string): string {
	return `klab-${labId}`;
}

export function containerName(labId: string, role: NodeRole): string {
	return `klab-${labId}-${role}`;
}

/**
 * The Linux bridge device of a lab. Interface names are at most 15 characters, and every lab
 * bridge shares the `klab-` prefix so host-firewall.ts can match them all with `klab+`.
 */
export function bridgeName(labId: string): string {
	return `klab-${labId}`.slice(0, 15);
}

export async function createLabNetwork(docker: Docker, spec: LabNetworkSpec): Promise<string> {
	const network = await docker.createNetwork({
		Name: networkName(spec.labId),
		Driver: 'bridge',
		Internal: true,
		CheckDuplicate: true,
		IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet, Gateway: spec.gateway }] },
		Options: {
			'com.docker.network.bridge.name': bridgeName(spec.labId),
			// The host takes no address on the lab's bridge, so nodes have nothing of the host's
			// to talk to (the gateway address stays reserved but unused).
			'com.docker.network.bridge.inhibit_ipv4': 'true',
			'com.docker.network.bridge.enable_ip_masquerade': 'false',
		},
		Labels: { ...spec.labels, [LABELS.lab]: spec.labId },
	});
	return network.id;
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
 * Runs a command in a node and collects its output. Used for checks, readiness and resets; never
 * for the learner's terminals (terminal.ts streams those).
 */
export async function execInNode(
	docker: Docker,
	containerId: string,
	cmd: string[],
	options: { user?: string; timeoutMs?: number; stdin?: string; maxOutputBytes?: number } = {},
): Promise<ExecResult> {
	const container = docker.getContainer(containerId);
	const exec = await container.exec({
		Cmd: cmd,
		User: options.user ?? 'root',
		AttachStdout: true,
		AttachStderr: true,
		AttachStdin: options.stdin !== undefined,
		Tty: false,
	});
	const stream = await exec.start({ hijack: true, stdin: options.stdin !== undefined });
	const stdout = new PassThrough();
	const stderr = new PassThrough();
	const out: Buffer[] = [];
	const err: Buffer[] = [];
	// Learners are root in their nodes: what a command prints is bounded, or one `yes` in the
	// right place would stream into the server's memory until the timeout.
	const maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
	let size = 0;
	const collect = (into: Buffer[]) => (chunk: Buffer) => {
		size += chunk.byteLength;
		if (size > maxOutputBytes)
			stream.destroy(new Error(`command output over ${maxOutputBytes} bytes`));
		else into.push(chunk);
	};
	stdout.on('data', collect(out));
	stderr.on('data', collect(err));
	docker.modem.demuxStream(stream, stdout, stderr);
	if (options.stdin !== undefined) stream.end(options.stdin);

	const timeoutMs = options.timeoutMs ?? 15_000;
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => {
			stream.destroy();
			reject(new Error(`command ${JSON.stringify(cmd.join(' '))} timed out after ${timeoutMs} ms`));
		}, timeoutMs);
		stream.on('end', () => {
			clearTimeout(timer);
			resolve();
		});
		stream.on('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
	});
	const { ExitCode } = await exec.inspect();
	return {
		exitCode: ExitCode ?? -1,
		stdout: Buffer.concat(out).toString('utf8'),
		stderr: Buffer.concat(err).toString('utf8'),
	};
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

export interface LabResources {
	labId: string;
	labels: Record<string, string>;
	networkId: string | null;
	containers: { id: string; role: NodeRole; state: string; labels: Record<string, string> }[];
}

/** Everything the lab server owns in Docker, grouped by lab: what a restarted server adopts. */
export async function listLabResources(docker: Docker): Promise<Map<string, LabResources>> {
	const labs = new Map<string, LabResources>();
	const entry = (labId: string, labels: Record<string, string>) => {
		let lab = labs.get(labId);
		if (!lab) {
			lab = { labId, labels, networkId: null, containers: [] };
			labs.set(labId, lab);
		}
		return lab;
	};
	const filters = JSON.stringify({ label: [LABELS.lab] });
	const [networks, containers] = await Promise.all([
		docker.listNetworks({ filters }),
		docker.listContainers({ all: true, filters }),
	]);
	for (const network of networks) {
		const labels = network.Labels ?? {};
		const labId = labels[LABELS.lab];
		if (labId) entry(labId, labels).networkId = network.Id;
	}
	for (const container of containers) {
		const labels = container.Labels ?? {};
		const labId = labels[LABELS.lab];
		if (!labId) continue;
		entry(labId, labels).containers.push({
			id: container.Id,
			role: labels[LABELS.node] as NodeRole,
			state: container.State,
			labels,
		});
	}
	return labs;
}

/** Removes a lab's containers (forcibly: a lab's state is disposable) and then its network. */
export async function removeLab(docker: Docker, labId: string): Promise<void> {
	const filters = JSON.stringify({ label: [`${LABELS.lab}=${labId}`] });
	const containers = await docker.listContainers({ all: true, filters });
	await Promise.all(
		containers.map((c) =>
			docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone),
		),
	);
	const networks = await docker.listNetworks({ filters });
	// A removal already under way elsewhere (a reaper, a failed start cleaning up) may still hold
	// an endpoint for a moment: retry briefly instead of leaving the network behind.
	for (const network of networks) {
		for (let attempt = 0; ; attempt++) {
			try {
				await docker.getNetwork(network.Id).remove();
				break;
			} catch (error) {
				if (isNotFound(error)) break;
				if (attempt >= 50) throw error;
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
		}
	}
}

/** Removes one node's container (for a reset); the lab's network stays. */
export async function removeNode(docker: Docker, labId: string, role: NodeRole): Promise<void> {
	await docker
		.getContainer(containerName(labId, role))
		.remove({ force: true, v: true })
		.catch(ignoreGone);
}

/**
 * Every IPv4 subnet any Docker network uses, ours or not: Docker refuses overlapping subnets, so
 * a lab takes the first /24 of the pool that none of these covers.
 */
export async function usedSubnets(docker: Docker): Promise<string[]> {
	const networks = await docker.listNetworks();
	return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean));
}

export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
	try {
		await docker.getImage(tag).inspect();
		return true;
	} catch (error) {
		if (isNotFound(error)) return false;
		throw error;
	}
}

export function isNotFound(error: unknown): boolean {
	return (error as { statusCode?: number } | null)?.statusCode === 404;
}

// Removing something that is gone, or going, is success: two reapers, or a restart mid-removal.
function ignoreGone(error: unknown): void {
	if (isNotFound(error)) return;
	const { statusCode, message } = error as { statusCode?: number; message?: string };
	if (statusCode === 409 && /already in progress/.test(message ?? '')) return;
	throw error;
}
