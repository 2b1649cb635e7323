/**
 * What Docker cannot limit for a node on this host, watched: its writable layer (where Docker's
 * storage has no quota, see docker/storage-quota.ts) and its inotify instances (every node's
 * root is the host's root, so they count against one kernel-wide counter of root's; the host's
 * limit is raised high enough — docker/host-limits.ts — and each node is held to its share here).
 *
 * Every WATCH_EVERY_MS each running node is measured — the writable layer with `du` on its
 * overlay upper directory, inotify by the `anon_inode:inotify` descriptors of its processes — one
 * node at a time, so a host with forty labs does not run eighty scans at once. A node over a
 * limit is stopped at once (its processes killed: whatever it wrote stays, but it writes and
 * holds nothing more), and the learner is told why in Russian; «Сбросить узел» brings it back.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { LAB_NODES, type LabNode, type NodeLimitEvent } from '../api';
import type { Lab } from './lab';

const run = promisify(execFile);
const WATCH_EVERY_MS = 5_000;
/** A node is not scanned past this many descriptors (it is stopped: no node needs that many). */
const MAX_FDS_SCANNED = 16_384;

export interface NodeLimitsOptions {
	docker: Docker;
	log: Logger;
	/** Whether Docker limits the writable layer itself (then `du` is not needed). */
	storageQuota: () => boolean;
	diskMb: number;
	inotifyInstances: number;
	/** The labs to watch now. */
	labs: () => Iterable<Lab>;
	/** Stops the node and records why (labs/running.ts). */
	halt: (lab: Lab, node: LabNode, event: Omit<NodeLimitEvent, 'at'>) => Promise<void>;
}

export interface NodeUsage {
	diskMb: number | null;
	inotify: number;
	/** Whether the scan stopped at MAX_FDS_SCANNED. */
	fdsOverflow: boolean;
}

export function watchNodeLimits(options: NodeLimitsOptions) {
	let timer: NodeJS.Timeout | null = null;
	let stopped = false;

	const round = async () => {
		for (const lab of [...options.labs()]) {
			for (const node of LAB_NODES) {
				if (stopped || lab.nodes[node].state !== 'running') continue;
				try {
					await check(lab, node);
				} catch (error) {
					// The node went away meanwhile (reset, end): the next round sees the new one.
					options.log.debug({ labId: lab.id, node, err: error }, 'node limits not measured');
				}
			}
		}
	};

	const check = async (lab: Lab, node: LabNode) => {
		const usage = await measureNode(options.docker, lab.containers[node], {
			disk: !options.storageQuota(),
		});
		const mb = (n: number) => Math.round(n);
		if (usage.diskMb !== null && usage.diskMb > options.diskMb) {
			await options.halt(lab, node, {
				node,
				kind: 'disk',
				used: mb(usage.diskMb),
				limit: options.diskMb,
				message: `Узел ${node} остановлен: на его диске записано ${mb(usage.diskMb)} МБ при пределе ${options.diskMb} МБ. Место на диске общее для всех стендов, поэтому узел больше не может писать. Нажмите «Сбросить узел», чтобы получить чистый узел ${node}.`,
			});
		} else if (usage.inotify > options.inotifyInstances || usage.fdsOverflow) {
			await options.halt(lab, node, {
				node,
				kind: 'inotify',
				used: usage.inotify,
				limit: options.inotifyInstances,
				message: `Узел ${node} остановлен: его процессы открыли ${usage.fdsOverflow ? 'слишком много файлов' : `${usage.inotify} экземпляров inotify (каждый tail -f — один) при пределе ${options.inotifyInstances}`}. Они общие для всех стендов на сервере. Нажмите «Сбросить узел», чтобы получить чистый узел ${node}.`,
			});
		}
	};

	const schedule = () => {
		if (stopped) return;
		timer = setTimeout(() => {
			void round().finally(schedule);
		}, WATCH_EVERY_MS);
		timer.unref();
	};
	schedule();
	return {
		/** Measures every running node now (tests and benchmarks; normally every 5 s). */
		checkNow: round,
		stop() {
			stopped = true;
			if (timer) clearTimeout(timer);
		},
	};
}

/** A node's writable layer (MiB, when `disk`) and its inotify instances. */
export async function measureNode(
	docker: Docker,
	containerId: string,
	options: { disk: boolean },
): Promise<NodeUsage> {
	const info = await docker.getContainer(containerId).inspect();
	const upper = (info.GraphDriver?.Data as Record<string, string> | undefined)?.UpperDir;
	let diskMb: number | null = null;
	if (options.disk && upper) {
		// -x: one filesystem; -B1: bytes, as allocated (fallocate counts).
		const { stdout } = await run('nice', ['-n', '10', 'du', '-sxB1', upper], { timeout: 30_000 });
		diskMb = Number(stdout.split(/\s/)[0]) / 1024 / 1024;
	}
	const { inotify, overflow } = await countInotify(info.State.Pid, info.Id);
	return { diskMb, inotify, fdsOverflow: overflow };
}

/**
 * inotify descriptors held by the processes of the node's cgroup (that of `pid`, its init, up to
 * the container's own directory: systemd in the node makes sub-cgroups of its own).
 */
async function countInotify(
	pid: number,
	containerId: string,
): Promise<{ inotify: number; overflow: boolean }> {
	if (!pid) return { inotify: 0, overflow: false };
	const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8');
	// cgroup v1: the pids controller's line; v2: the unified `0::` line.
	const v1 = /^\d+:pids:(.*)$/m.exec(cgroup)?.[1];
	const line = v1 ?? /^0::(.*)$/m.exec(cgroup)?.[1];
	if (line === undefined || !line.includes(containerId)) return { inotify: 0, overflow: false };
	const end = line.indexOf('/', line.indexOf(containerId));
	const base =
		(v1 !== undefined ? '/sys/fs/cgroup/pids' : '/sys/fs/cgroup') +
		(end < 0 ? line : line.slice(0, end));
	const pids = await cgroupProcs(base);
	let inotify = 0;
	let scanned = 0;
	for (const p of pids) {
		const fds = await readdir(`/proc/${p}/fd`).catch(() => [] as string[]);
		for (const fd of fds) {
			if (++scanned > MAX_FDS_SCANNED) return { inotify, overflow: true };
			const target = await readlink(`/proc/${p}/fd/${fd}`).catch(() => '');
			if (target === 'anon_inode:inotify') inotify++;
		}
	}
	return { inotify, overflow: false };
}

/** The processes of a cgroup and of every cgroup below it. */
async function cgroupProcs(dir: string): Promise<string[]> {
	const own = (await readFile(`${dir}/cgroup.procs`, 'utf8').catch(() => ''))
		.split('\n')
		.filter(Boolean);
	const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
	const below = await Promise.all(
		children
			.filter((entry) => entry.isDirectory())
			.map((entry) => cgroupProcs(`${dir}/${entry.name}`)),
	);
	return [...own, ...below.flat()];
}
