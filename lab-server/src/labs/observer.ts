/**
 * Live state of a lab's nodes, as the nodes themselves report it: one long-running exec per node
 * runs the image's `observe` script, which prints a JSON line whenever keepalived's VRRP state,
 * haproxy's unit state or eth0's addresses may have changed (event-driven; an idle lab costs
 * nothing). The observer is restarted if it ends while the node is up (a learner may kill it).
 *
 * Root in the node can replace the script with anything, so what it prints is hostile input:
 * lines are capped (lib/line-reader.ts) and parsed with a schema, reading stops for a while when
 * more than READ_BYTES_PER_SECOND arrive, reports are applied at most once per REPORT_EVERY_MS
 * (the latest wins; the same report twice is applied once), and a bad line is logged at most
 * once per LOG_EVERY_MS with the count since the last time.
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { z } from 'zod';
import { KEEPALIVED_STATES } from '../api';
import { systemClock, type Clock } from '../lib/clock';
import { lineReader } from '../lib/line-reader';
import { TokenBucket } from '../lib/rate-limit';

/** One line of `observe`: the only input parsed from inside a node, so it gets a schema too. */
const nodeReport = z.object({
	keepalived: z.enum(KEEPALIVED_STATES),
	haproxy: z.string().max(32),
	addresses: z.array(z.string().max(64)).max(64),
});
export type NodeReport = z.infer<typeof nodeReport>;

const OBSERVE = '/usr/local/lib/keepalived-lab/observe';
/** A real report is about 100 bytes. */
const MAX_LINE = 4096;
const REPORT_EVERY_MS = 100;
const READ_BYTES_PER_SECOND = 64 * 1024;
const LOG_EVERY_MS = 10_000;

export interface NodeObserver {
	stop(): void;
}

export function observeNode(
	docker: Docker,
	containerId: string,
	onReport: (report: NodeReport) => void,
	deps: { clock: Clock; log: Logger },
): NodeObserver {
	const { clock, log } = deps;
	// Pacing is I/O scheduling, not policy: it runs on real time even when tests drive the
	// lab's lifetime with a manual clock (which then only times the restarts).
	const pace = systemClock;
	let stopped = false;
	let stream: Duplex | null = null;
	let retryMs = 500;
	let timer: unknown = null;

	// Reports: the latest valid one, applied at most once per REPORT_EVERY_MS.
	let latest: { text: string; report: NodeReport } | null = null;
	let appliedText = '';
	let appliedAt = -Infinity;
	let reportTimer: unknown = null;
	const apply = () => {
		reportTimer = null;
		if (stopped || latest === null || latest.text === appliedText) return;
		appliedText = latest.text;
		appliedAt = pace.now();
		onReport(latest.report);
	};
	const offer = (text: string, report: NodeReport) => {
		latest = { text, report };
		if (reportTimer !== null) return;
		const wait = appliedAt + REPORT_EVERY_MS - pace.now();
		if (wait <= 0) apply();
		else reportTimer = pace.setTimeout(apply, wait);
	};

	// Bad lines: counted, logged now and then.
	let bad = 0;
	let loggedAt = -Infinity;
	const refuse = (line: string) => {
		bad++;
		if (pace.now() - loggedAt < LOG_EVERY_MS) return;
		log.warn({ containerId, line: line.slice(0, 200), count: bad }, 'bad node reports');
		loggedAt = pace.now();
		bad = 0;
	};

	const run = async () => {
		if (stopped) return;
		try {
			const exec = await docker.getContainer(containerId).exec({
				Cmd: [OBSERVE],
				AttachStdout: true,
				AttachStderr: false,
				Tty: true,
			});
			const attached = (await exec.start({ hijack: true, Tty: true })) as Duplex;
			stream = attached;
			const budget = new TokenBucket({
				ratePerSecond: READ_BYTES_PER_SECOND,
				burst: READ_BYTES_PER_SECOND,
				clock: pace,
			});
			const lines = lineReader({
				maxLine: MAX_LINE,
				onLine: (raw) => {
					const line = raw.trim();
					if (line === '') return;
					const report = safeParse(line);
					if (report) offer(line, report);
					else refuse(line);
				},
				onOverlong: () => refuse('(a line over 4 KiB)'),
			});
			attached.on('data', (chunk: Buffer) => {
				retryMs = 500;
				lines.push(chunk);
				// More than a node ever says: stop reading for a while (the writer blocks).
				if (!budget.take(chunk.byteLength)) {
					attached.pause();
					pace.setTimeout(() => attached.resume(), 1_000);
				}
			});
			attached.on('close', () => schedule());
			attached.on('error', () => schedule());
		} catch (error) {
			log.debug({ containerId, err: error }, 'observer could not start');
			schedule();
		}
	};

	const schedule = () => {
		stream = null;
		if (stopped || timer !== null) return;
		timer = clock.setTimeout(() => {
			timer = null;
			void run();
		}, retryMs);
		retryMs = Math.min(retryMs * 2, 10_000);
	};

	void run();
	return {
		stop() {
			stopped = true;
			if (timer !== null) clock.clearTimeout(timer);
			if (reportTimer !== null) pace.clearTimeout(reportTimer);
			stream?.destroy();
		},
	};
}

function safeParse(line: string): NodeReport | null {
	try {
		const result = nodeReport.safeParse(JSON.parse(line));
		return result.success ? result.data : null;
	} catch {
		return null;
	}
}
