/**
 * How busy the host's CPUs are, from /proc/stat: the warm pool's refill waits while they are
 * (labs/warm-pool.ts), and the benchmarks report it.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface CpuTimes {
	idle: number;
	total: number;
}

/** Jiffies the CPUs spent idle and in total, from /proc/stat's first line; null if unreadable. */
export function parseProcStat(text: string): CpuTimes | null {
	const line = text.split('\n')[0] ?? '';
	if (!line.startsWith('cpu ')) return null;
	const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
	if (fields.length < 4 || fields.some((x) => !Number.isFinite(x))) return null;
	// user nice system idle iowait irq softirq steal: idle and iowait count as idle.
	const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
	return { idle, total: fields.reduce((sum, x) => sum + x, 0) };
}

/** The host's CPU times so far, or null without /proc/stat. */
export async function hostCpuTimes(): Promise<CpuTimes | null> {
	return parseProcStat(await readFile('/proc/stat', 'utf8').catch(() => ''));
}

/** Busy share of all cores between two readings, 0..1; null when no time passed. */
export function busyShare(before: CpuTimes, after: CpuTimes): number | null {
	const total = after.total - before.total;
	if (total <= 0) return null;
	return Math.min(1, Math.max(0, 1 - (after.idle - before.idle) / total));
}

/**
 * `busy()`: whether the CPUs were busier than `busyAbove` (share of all cores) over the last
 * second or so. Cheap to call often: /proc/stat is read at most once per `windowMs`.
 */
export function cpuLoad(options: { busyAbove: number; windowMs?: number }) {
	const windowMs = options.windowMs ?? 1_000;
	const read = () => parseProcStat(readFileSync('/proc/stat', 'utf8'));
	let last: { at: number; times: CpuTimes } | null = null;
	let share = 0;
	return {
		busy(): boolean {
			const now = performance.now();
			if (last && now - last.at < windowMs) return share > options.busyAbove;
			let times: CpuTimes | null = null;
			try {
				times = read();
			} catch {
				return false; // no /proc/stat: never busy as far as we can tell
			}
			if (!times) return false;
			if (last) share = busyShare(last.times, times) ?? share;
			last = { at: now, times };
			return share > options.busyAbove;
		},
	};
}
