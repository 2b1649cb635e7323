/**
 * Host limits that cap how many labs can run. The lab server raises root's inotify limit at
 * start-up to fit MAX_LABS (it runs as root and already manages the host firewall); the
 * benchmark checks there is room before starting labs, so both fail with the fix instead of a
 * cascade of `lab-start-failed`.
 *
 * inotify instances are counted per user, and without user namespaces a node's root is the
 * host's root: every node takes 6 of root's `fs.inotify.max_user_instances` (systemd as PID 1
 * holds 5, the lab server's observer runs `journalctl -f`, 1), so 12 per lab. Debian's default of
 * 128 stops the 10th or 11th lab: systemd cannot start and the container exits at once.
 */
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';

/** root's inotify instances one lab takes (measured: systemd 5 + journalctl 1, two nodes). */
export const INOTIFY_PER_LAB = 12;
const LIMIT_FILE = '/proc/sys/fs/inotify/max_user_instances';

/** Throws, saying what to run, if `labs` more labs would not fit under root's inotify limit. */
export async function checkInotifyRoom(labs: number): Promise<void> {
	if (labs <= 0) return;
	const limit = Number((await readFile(LIMIT_FILE, 'utf8').catch(() => '')).trim());
	if (!Number.isFinite(limit) || limit <= 0) return;
	const used = await rootInotifyInstances();
	const needed = labs * INOTIFY_PER_LAB;
	if (used + needed > limit) {
		const suggested = Math.max(1024, 2 ** Math.ceil(Math.log2(used + needed + 128)));
		throw new Error(
			`${labs} more labs need about ${needed} inotify instances of root's, ${used} are in use and "fs.inotify.max_user_instances" is ${limit}: raise it ("sysctl -w fs.inotify.max_user_instances=${suggested}", and in /etc/sysctl.d/ to keep it), or ask for fewer labs`,
		);
	}
}

/**
 * Makes root's inotify limit fit `maxLabs` labs beside what is already in use, raising it when it
 * is lower (never lowering it). Returns the limit in force; throws saying what to run when the
 * limit is too low and cannot be raised (not root, or a read-only /proc/sys in a container).
 */
export async function ensureInotifyLimit(maxLabs: number): Promise<number> {
	const limit = Number((await readFile(LIMIT_FILE, 'utf8').catch(() => '')).trim());
	if (!Number.isFinite(limit) || limit <= 0) return limit;
	const wanted = (await rootInotifyInstances()) + maxLabs * INOTIFY_PER_LAB + 128;
	if (limit >= wanted) return limit;
	try {
		await writeFile(LIMIT_FILE, String(wanted));
		return wanted;
	} catch (error) {
		throw new Error(
			`MAX_LABS=${maxLabs} needs "fs.inotify.max_user_instances" of at least ${wanted} (it is ${limit}; each lab's systemd takes ${INOTIFY_PER_LAB}) and it cannot be raised from here: run "sysctl -w fs.inotify.max_user_instances=${wanted}" as root, or lower MAX_LABS`,
			{ cause: error },
		);
	}
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
