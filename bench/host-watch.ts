/**
 * What the machine was doing while a figure was measured, so a bad tail can be told apart from
 * a busy host: the lab server's event-loop delay (this process: server and bench clients share
 * it), the same delay in an empty Node process started alongside (the host's own scheduling
 * noise, which no server change removes), and CPU use of this process and of the whole host.
 */
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { busyShare, hostCpuTimes } from '../lab-server/src/lib/cpu-load';

/** Event-loop delay in ms: how late the sampling timer fired, its own interval subtracted. */
export interface LoopDelay {
	p50: number;
	p99: number;
	max: number;
	mean: number;
}

export interface HostSample {
	ms: number;
	loop: LoopDelay;
	/** The empty process's delay; null if it could not run. */
	control: LoopDelay | null;
	/** CPU this process used, % of one core. */
	serverCpuPercent: number;
	/** CPU the whole host used, % of all its cores; null without /proc/stat. */
	hostCpuPercent: number | null;
}

// perf_hooks records the time between the sampling timer's runs, i.e. resolution + delay (an idle
// loop shows p50 ≈ 10 ms at resolution 10), so the resolution is subtracted, as fastify's
// under-pressure does.
export const LOOP_RESOLUTION_MS = 10;

const CONTROL_SCRIPT = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: ${LOOP_RESOLUTION_MS} });
h.enable();
process.stdin.resume();
process.stdin.on('end', () => {
	h.disable();
	console.log(JSON.stringify({ p50: h.percentile(50), p99: h.percentile(99), max: h.max, mean: h.mean }));
	process.exit(0);
});
setTimeout(() => process.exit(1), 15 * 60_000).unref();`;

/** An event-loop histogram for this process, already enabled. */
function loopHistogram(): IntervalHistogram {
	const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
	histogram.enable();
	return histogram;
}

function delays(histogram: IntervalHistogram): LoopDelay {
	return {
		p50: fromNs(histogram.percentile(50)),
		p99: fromNs(histogram.percentile(99)),
		max: fromNs(histogram.max),
		mean: fromNs(histogram.mean),
	};
}

/** Starts watching; `stop()` ends it and says what was seen. */
export async function watchHost(): Promise<{ stop(): Promise<HostSample> }> {
	const control = spawn(process.execPath, ['-e', CONTROL_SCRIPT], {
		stdio: ['pipe', 'pipe', 'ignore'],
	});
	let controlOut = '';
	control.stdout.on('data', (chunk: Buffer) => (controlOut += chunk.toString()));
	const controlDone = new Promise<LoopDelay | null>((resolve) => {
		control.on('error', () => resolve(null));
		control.on('close', (code) => {
			try {
				const raw = JSON.parse(controlOut) as Record<keyof LoopDelay, number>;
				resolve(
					code === 0
						? {
								p50: fromNs(raw.p50),
								p99: fromNs(raw.p99),
								max: fromNs(raw.max),
								mean: fromNs(raw.mean),
							}
						: null,
				);
			} catch {
				resolve(null);
			}
		});
	});
	const histogram = loopHistogram();
	const cpuBefore = process.cpuUsage();
	const hostBefore = await hostCpuTimes();
	const started = performance.now();
	return {
		async stop() {
			histogram.disable();
			const ms = performance.now() - started;
			const cpu = process.cpuUsage(cpuBefore);
			const hostAfter = await hostCpuTimes();
			control.stdin.end();
			const timeout = setTimeout(() => control.kill(), 5_000);
			const controlDelay = await controlDone;
			clearTimeout(timeout);
			return {
				ms,
				loop: delays(histogram),
				control: controlDelay,
				serverCpuPercent: ((cpu.user + cpu.system) / 1000 / ms) * 100,
				hostCpuPercent:
					hostBefore && hostAfter ? (busyShare(hostBefore, hostAfter) ?? 0) * 100 : null,
			};
		},
	};
}

function fromNs(ns: number): number {
	return Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
}
