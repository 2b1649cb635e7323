/**
 * Live state of a lab's nodes, as the nodes themselves report it: one long-running exec per node
 * runs the image's `observe` script, which prints a JSON line whenever keepalived's VRRP state,
 * haproxy's unit state or eth0's addresses may have changed (event-driven; an idle lab costs
 * nothing). The observer is restarted if it ends while the node is up (a learner may kill it).
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { z } from 'zod';
import { KEEPALIVED_STATES } from '../api';
import type { Clock } from '../lib/clock';

/** One line of `observe`: the only input parsed from inside a node, so it gets a schema too. */
const nodeReport = z.object({
	keepalived: z.enum(KEEPALIVED_STATES),
	haproxy: z.string().max(32),
	addresses: z.array(z.string().max(64)).max(64),
});
export type NodeReport = z.infer<typeof nodeReport>;

const OBSERVE = '/usr/local/lib/keepalived-lab/observe';

export interface NodeObserver {
	stop(): void;
}

export function observeNode(
	docker: Docker,
	containerId: string,
	onReport: (report: NodeReport) => void,
	deps: { clock: Clock; log: Logger },
): NodeObserver {
	let stopped = false;
	let stream: Duplex | null = null;
	let retryMs = 500;
	let timer: unknown = null;

	const run = async () => {
		if (stopped) return;
		try {
			const exec = await docker.getContainer(containerId).exec({
				Cmd: [OBSERVE],
				AttachStdout: true,
				AttachStderr: false,
				Tty: true,
			});
			stream = (await exec.start({ hijack: true, Tty: true })) as Duplex;
			let buffered = '';
			stream.on('data', (chunk: Buffer) => {
				retryMs = 500;
				buffered += chunk.toString('utf8');
				// Reports are one short line each; anything longer is not the observer talking.
				if (buffered.length > 64 * 1024) buffered = '';
				let newline: number;
				while ((newline = buffered.indexOf('\n')) >= 0) {
					const line = buffered.slice(0, newline).trim();
					buffered = buffered.slice(newline + 1);
					const parsed = safeParse(line);
					if (parsed) onReport(parsed);
					else deps.log.warn({ containerId, line: line.slice(0, 200) }, 'bad node report');
				}
			});
			stream.on('close', () => schedule());
			stream.on('error', () => schedule());
		} catch (error) {
			deps.log.debug({ containerId, err: error }, 'observer could not start');
			schedule();
		}
	};

	const schedule = () => {
		stream = null;
		if (stopped || timer !== null) return;
		timer = deps.clock.setTimeout(() => {
			timer = null;
			void run();
		}, retryMs);
		retryMs = Math.min(retryMs * 2, 10_000);
	};

	void run();
	return {
		stop() {
			stopped = true;
			if (timer !== null) deps.clock.clearTimeout(timer);
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
