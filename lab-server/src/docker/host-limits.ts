/**
 * root's inotify limits on the host, made to fit the labs.
 *
 * inotify instances and watches are counted per user, and without user namespaces a node's root
 * is the host's root: every node's systemd (5 instances) and the lab server's observer
 * (`journalctl -f`, 1) count against the same `fs.inotify.max_user_instances` as the host's own
 * daemons; Debian's default of 128 stops the tenth lab. And a learner's `tail -f` loop in one
 * node would take the rest from every other lab and from the host.
 *
 * So the kernel's counters are raised far above what labs need — they bound nothing else: an
 * instance costs about 1 KB of kernel memory, and that is charged to the node's memory cgroup,
 * so a node can never hold more than its memory limit allows (~250 000 in 256 MiB) — and each
 * node is held to its own share, `NODE_INOTIFY_INSTANCES`, by labs/node-limits.ts, which stops a
 * node that goes over. The counters must stay above what one runaway node can take before it is
 * stopped plus what everything else uses: MIN_INSTANCES and MIN_WATCHES.
 */
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';

/** root's inotify instances one lab takes (measured: systemd 5 + journalctl 1, two nodes). */
export const INOTIFY_PER_LAB = 12;
/** Above what one node can hold within its memory limit (about 1 KB each), with room for more. */
export const MIN_INSTANCES = 1 << 20;
/** Watches cost about as much and are charged the same way. */
export const MIN_WATCHES = 1 << 22;

const INSTANCES_FILE = '/proc/sys/fs/inotify/max_user_instances';
const WATCHES_FILE = '/proc/sys/fs/inotify/max_user_watches';

/** Throws, saying what to run, if `labs` more labs would not fit under root's inotify limit. */
export async function checkInotifyRoom(labs: number): Promise<void> {
	if (labs <= 0) return;
	const usage = await inotifyUsage();
	if (!usage) return;
	const needed = labs * INOTIFY_PER_LAB;
	if (usage.used + needed > usage.limit) {
		throw new Error(
			`${labs} more labs need about ${needed} inotify instances of root's, ${usage.used} are in use and "fs.inotify.max_user_instances" is ${usage.limit}: raise it ("sysctl -w fs.inotify.max_user_instances=${MIN_INSTANCES}", and in /etc/sysctl.d/ to keep it), or ask for fewer labs`,
		);
	}
}

/**
 * Raises root's inotify limits to MIN_INSTANCES and MIN_WATCHES when they are lower (never
 * lowers them), and to fit `maxLabs` labs beside what is in use. Returns the instance limit in
 * force; throws saying what to run when it is too low and cannot be raised (not root, or a
 * read-only /proc/sys in a container).
 */
export async function ensureInotifyLimit(maxLabs: number): Promise<number> {
	const usage = await inotifyUsage();
	if (!usage) return 0;
	const instances = Math.max(MIN_INSTANCES, usage.used + maxLabs * INOTIFY_PER_LAB + 1024);
	await raise(INSTANCES_FILE, instances, 'fs.inotify.max_user_instances');
	await raise(WATCHES_FILE, MIN_WATCHES, 'fs.inotify.max_user_watches');
	return Math.max(usage.limit, instances);
}

/** root's inotify instances in use host-wide, and the limit; null where /proc does not say. */
export async function inotifyUsage(): Promise<{ used: number; limit: number } | null> {
	const limit = await readNumber(INSTANCES_FILE);
	if (limit === null) return null;
	return { used: await rootInotifyInstances(), limit };
}

async function raise(file: string, wanted: number, name: string): Promise<void> {
	const current = await readNumber(file);
	if (current === null || current >= wanted) return;
	try {
		await writeFile(file, String(wanted));
	} catch (error) {
		throw new Error(
			`"${name}" is ${current} and the labs need at least ${wanted} (see lab-server/src/docker/host-limits.ts); it cannot be raised from here: run "sysctl -w ${name}=${wanted}" as root`,
			{ cause: error },
		);
	}
}

async function readNumber(file: string): Promise<number | null> {
	const value = Number((await readFile(file, 'utf8').catch(() => '')).trim());
	return Number.isFinite(value) && value > 0 ? value : null;
}

/** inotify instances held by processes running as uid 0, host-wide. */
async function rootInotifyInstances(): Promise<number> {
	let count = 0;
	for (const pid of await readdir('/proc')) {
		if (!/^\d+$/.test(pid)) continue;
		try {
			const status = await readFile(`/proc/${pid}/status`, 'utf8');
			if (!/^Uid:\s+0\s/m.test(status)) continue;
			for (const fd of await readdir(`/proc/${pid}/fd`)) {
				const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
				if (target === 'anon_inode:inotify') count++;
			}
		} catch {
			// The process ended while we looked.
		}
	}
	return count;
}
