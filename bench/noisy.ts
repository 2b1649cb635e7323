/**
 * Noisy neighbours: lab B's keystroke echo while lab A runs a fork bomb and `yes` in eight
 * shells, against B's quiet echo in the same run (the ratio of their p99s); a new lab's ready
 * time while A is at it; and how fast a node that writes past `NODE_DISK_MB` is stopped
 * (from its `fallocate` returning to the `limit` event), all on the bench's own server.
 */
import type { NodeLimitEvent } from '../lab-server/src/api';
import { execInNode } from '../lab-server/src/docker/engine';
import { measureEcho } from './echo';
import { progress, type BenchLab, type Harness } from './harness';
import { sleep } from './terminal';

export interface NoisyResult {
	quiet: number[];
	noisy: number[];
	/** A new lab, POST → both prompts, while A is hostile. */
	bootMs: number;
	/** Crossing the disk quota → the node stopped; null where Docker's own quota refused the write. */
	diskQuotaReactionMs: number | null;
}

const HOSTILE = ':(){ :|:& };: & for i in 1 2 3 4 5 6 7 8; do yes >/dev/null & done; wait';

export async function measureNoisy(
	harness: Harness,
	b: BenchLab,
	samples: number,
	deadline: number,
): Promise<NoisyResult> {
	const { lab: a } = await harness.createLab();
	const root = (node: 'hap1' | 'hap2', script: string) =>
		execInNode(harness.docker, harness.container(a, node), ['bash', '-c', script], {
			timeoutMs: 60_000,
		});
	progress(`noisy: lab B's echo, quiet (${samples} keystrokes)`);
	const quiet = (await measureEcho(harness, b, samples, 20, deadline)).times;
	progress('noisy: lab A runs a fork bomb and 8 × yes on both nodes');
	for (const node of ['hap1', 'hap2'] as const) {
		await root(node, `(${HOSTILE}) >/dev/null 2>&1 & disown; true`);
	}
	await sleep(3_000);
	const noisy = (await measureEcho(harness, b, samples, 20, deadline)).times;
	const booted = await harness.createLab();
	progress(`noisy: a new lab beside it in ${Math.round(booted.sample.totalMs)} ms`);
	await reset(harness, a);

	progress('noisy: a 1 GiB fallocate in lab A (NODE_DISK_MB 512)');
	const limit = new Promise<number>((resolve) =>
		harness.server.labs
			.get(a.id)!
			.events.once('limit', (_event: NodeLimitEvent) => resolve(performance.now())),
	);
	const fill = await root('hap2', 'fallocate -l 1G /fill; echo $?');
	const crossed = performance.now();
	const refused = fill.stdout.trim() !== '0';
	const stoppedAt = refused ? null : await Promise.race([limit, sleep(30_000).then(() => null)]);
	await reset(harness, a);
	return {
		quiet,
		noisy,
		bootMs: booted.sample.totalMs,
		diskQuotaReactionMs: stoppedAt === null ? null : stoppedAt - crossed,
	};
}

async function reset(harness: Harness, lab: BenchLab): Promise<void> {
	const res = await fetch(`${harness.base}/api/labs/${lab.id}/reset`, {
		method: 'POST',
		headers: { authorization: `Bearer ${lab.token}`, 'content-type': 'application/json' },
		body: '{}',
		signal: AbortSignal.timeout(60_000),
	});
	if (res.status !== 200) throw new Error(`reset of lab A answered ${res.status}`);
}
