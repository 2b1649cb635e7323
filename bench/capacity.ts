/**
 * Capacity: the pool grown to N labs, keepalived installed from the node's own package source
 * with the guide's keepalived.conf (`guideConfig(vip)`) and started with `systemctl enable
 * --now` in both nodes of every lab (through `docker exec`, as the check «Выполнить шаг за меня»
 * would), every lab's two terminals open and idle. Then, for a window:
 * - the lab server's event-loop delay (perf_hooks.monitorEventLoopDelay, this process),
 * - memory per lab: both nodes' cgroup memory minus page cache (Docker's stats API, as `docker
 *   stats` shows it) plus this process's RSS divided by the number of labs.
 */
import { readFile } from 'node:fs/promises';
import { execInNode } from '../lab-server/src/docker/engine';
import { guideConfig } from '../lab-server/src/course/guide-config';
import { LAB_NODES } from '../lab-server/src/api';
import { progress, type BenchLab, type Harness } from './harness';
import { watchHost, type HostSample } from './host-watch';
import { percentile } from './stats';
import { sleep } from './terminal';

const INSTALL_PARALLEL = 4;
const INSTALL_TIMEOUT_MS = 240_000;
const VIP_TIMEOUT_MS = 90_000;
const STATS_PARALLEL = 8;

// The config goes in first (stdin), so the package's own start already finds it; `enable --now`
// is then what the guide says to run, and makes sure of it either way.
const INSTALL_SCRIPT = `
set -eu
install -d -m 0755 /etc/keepalived
cat > /etc/keepalived/keepalived.conf
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq keepalived </dev/null >/dev/null
keepalived -t -f /etc/keepalived/keepalived.conf
systemctl enable --now keepalived 2>&1
systemctl is-active keepalived
`;

export interface CapacityResult {
	labs: number;
	labsWithVip: number;
	installMs: number;
	/** Event-loop delay, CPU and the host's own noise while the labs sat idle. */
	idle: HostSample;
	/** The same while labs were starting and keepalived installing (for comparison). */
	busy: HostSample;
	memory: {
		perLabMb: number;
		containersPerLabMb: number;
		maxLabContainersMb: number;
		serverRssMb: number;
		/** Host MemAvailable drop since the bench started, per lab (other tenants blur it). */
		hostPerLabMb: number | null;
	};
}

export async function measureCapacity(
	harness: Harness,
	count: number,
	windowMs: number,
	memAvailableAtStartKb: number | null,
	deadline: number,
): Promise<CapacityResult> {
	const busyWatch = await watchHost();
	let setup: Awaited<ReturnType<typeof prepare>>;
	try {
		setup = await prepare(harness, count, deadline);
	} catch (error) {
		await busyWatch.stop();
		throw error;
	}
	const busy = await busyWatch.stop();
	const { labs, installMs, labsWithVip } = setup;

	// Let the install's aftermath settle (journal flushes, observers' reports).
	await sleep(3_000);
	progress(
		`capacity: ${labs.length} labs idle with keepalived; measuring for ${windowMs / 1000} s`,
	);
	const watch = await watchHost();
	await sleep(windowMs);
	const idle = await watch.stop();

	const memory = await measureMemory(harness, labs, memAvailableAtStartKb);
	return {
		labs: labs.length,
		labsWithVip,
		installMs,
		idle,
		busy,
		memory,
	};
}

/** N labs up, keepalived running in every node, and each lab's VIP settled. */
async function prepare(harness: Harness, count: number, deadline: number) {
	await harness.fill(count, deadline);
	const labs = harness.labs.slice(0, count);
	const installStarted = performance.now();
	await installKeepalived(harness, labs, deadline);
	const installMs = performance.now() - installStarted;
	const labsWithVip = await waitForVips(harness, labs, deadline);
	return { labs, installMs, labsWithVip };
}

async function installKeepalived(harness: Harness, labs: BenchLab[], deadline: number) {
	const jobs = labs.flatMap((lab) => LAB_NODES.map((node) => ({ lab, node })));
	progress(
		`capacity: installing keepalived in ${jobs.length} nodes, ${INSTALL_PARALLEL} at a time`,
	);
	let next = 0;
	let done = 0;
	const worker = async () => {
		while (next < jobs.length) {
			if (Date.now() > deadline) throw new Error('capacity: out of time installing keepalived');
			const { lab, node } = jobs[next++]!;
			const result = await execInNode(
				harness.docker,
				harness.container(lab, node),
				['bash', '-c', INSTALL_SCRIPT],
				{ stdin: guideConfig(lab.vip), timeoutMs: INSTALL_TIMEOUT_MS },
			);
			if (result.exitCode !== 0 || result.stdout.trim().split('\n').at(-1) !== 'active') {
				throw new Error(
					`keepalived install in ${lab.id}/${node} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(-400)}`,
				);
			}
			if (++done % 10 === 0 || done === jobs.length) {
				progress(`  keepalived running in ${done}/${jobs.length} nodes`);
			}
		}
	};
	await Promise.all(Array.from({ length: INSTALL_PARALLEL }, worker));
}

/** Waits until each lab reports one VIP holder and both nodes MASTER/BACKUP; returns how many do. */
async function waitForVips(harness: Harness, labs: BenchLab[], deadline: number): Promise<number> {
	const until = Math.min(deadline, Date.now() + VIP_TIMEOUT_MS);
	let settled = 0;
	for (let attempt = 0; attempt < 200 && Date.now() < until; attempt++) {
		const states = await Promise.all(labs.map((lab) => harness.labState(lab)));
		settled = states.filter(
			(s) =>
				s.vipHolder !== null &&
				s.nodes.every((n) => n.keepalived === 'MASTER' || n.keepalived === 'BACKUP'),
		).length;
		if (settled === labs.length) break;
		await sleep(1_000);
	}
	progress(`capacity: ${settled}/${labs.length} labs have a VIP holder and MASTER/BACKUP nodes`);
	return settled;
}

async function measureMemory(
	harness: Harness,
	labs: BenchLab[],
	memAvailableAtStartKb: number | null,
): Promise<CapacityResult['memory']> {
	const jobs = labs.flatMap((lab) => LAB_NODES.map((node) => ({ lab, node })));
	const byLab = new Map<string, number>();
	let next = 0;
	const worker = async () => {
		while (next < jobs.length) {
			const { lab, node } = jobs[next++]!;
			const bytes = await containerMemory(harness, harness.container(lab, node));
			byLab.set(lab.id, (byLab.get(lab.id) ?? 0) + bytes);
		}
	};
	await Promise.all(Array.from({ length: STATS_PARALLEL }, worker));
	const mb = (bytes: number) => bytes / 1024 / 1024;
	const perLab = [...byLab.values()].map(mb);
	const containersPerLabMb = perLab.reduce((sum, x) => sum + x, 0) / perLab.length;
	const serverRssMb = mb(process.memoryUsage().rss);
	const available = await memAvailableKb();
	return {
		perLabMb: containersPerLabMb + serverRssMb / labs.length,
		containersPerLabMb,
		maxLabContainersMb: percentile(perLab, 100),
		serverRssMb,
		hostPerLabMb:
			available !== null && memAvailableAtStartKb !== null
				? (memAvailableAtStartKb - available) / 1024 / labs.length
				: null,
	};
}

/** A container's memory as `docker stats` counts it: usage minus page cache. */
async function containerMemory(harness: Harness, id: string): Promise<number> {
	const stats = (await harness.docker
		.getContainer(id)
		.stats({ stream: false, 'one-shot': true } as { stream: false })) as {
		memory_stats?: { usage?: number; stats?: Record<string, number> };
	};
	const usage = stats.memory_stats?.usage ?? 0;
	const detail = stats.memory_stats?.stats ?? {};
	// cgroup v1 reports `cache`; v2 has no such key and `inactive_file` is what Docker subtracts.
	const cache = detail.cache ?? detail.inactive_file ?? 0;
	return Math.max(0, usage - cache);
}

/** The host's MemAvailable in KiB, or null where /proc/meminfo is not readable. */
export async function memAvailableKb(): Promise<number | null> {
	try {
		const match = /^MemAvailable:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'));
		return match ? Number(match[1]) : null;
	} catch {
		return null;
	}
}
