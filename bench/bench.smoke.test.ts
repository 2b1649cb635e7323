/**
 * The benchmark cannot rot: `npm test` runs `npm run bench -- --quick --peer --recordings --json`
 * as a user would (a child process, real server, real labs) and requires every figure, the
 * opt-in ones included, to come out as a number.
 * It checks that the benchmark runs, not what it measures: figures are read by people, never
 * asserted against targets in a test.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('npm run bench -- --quick --peer --recordings', () => {
	it('runs every figure once and prints each as a number in its JSON line', async () => {
		const child = spawn(
			'npx',
			['tsx', 'bench/run.ts', '--quick', '--peer', '--recordings', '--json'],
			{
				stdio: ['ignore', 'pipe', 'pipe'],
				env: { ...process.env, LOG_LEVEL: 'warn' },
			},
		);
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
		expect(code, `bench exited ${code}\n${stderr.slice(-3000)}`).toBe(0);
		const figures = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
		expect(Object.keys(figures).sort()).toEqual([
			'ctrlcP95Ms',
			'diskQuotaReactionMs',
			'echoP50Ms',
			'echoP99Ms',
			'eventLoopP99Ms',
			'labReadyP50Ms',
			'labReadyP95Ms',
			'memPerLabMB',
			'noisyNeighbourBootMs',
			'noisyNeighbourEchoP99Ratio',
			'peerCtrlcP95Ratio',
			'peerEchoP50Ratio',
			'peerEchoP99Ratio',
			'peerThroughputRatio',
			'recordingKiBPerHour',
			'recordingsEchoP50Ratio',
			'recordingsEchoP99Ratio',
			'recordingsThroughputRatio',
			'resumeP50Ms',
			'resumeP95Ms',
			'stoppedLabDiskMiB',
			'throughputMBps',
			'warmBootUnderWayEchoP99Ratio',
			'warmReadyP50Ms',
			'warmReadyP95Ms',
			'warmRefillEchoP99Ratio',
		]);
		for (const [name, value] of Object.entries(figures)) {
			expect(Number.isFinite(value), `${name} = ${String(value)}`).toBe(true);
		}
		console.log(stdout.slice(stdout.indexOf('keepalived-lab benchmarks')));
	});
});

describe('npm run bench -- --cluster --quick', () => {
	it('measures lab ready and echo each way, and the hub’s memory', async () => {
		const { stdout } = await benchRun(['--cluster', '--quick', '--json']);
		const { cluster } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
			cluster: Record<string, Record<string, number | Record<string, number>>>;
		};
		const figures = {
			labReadyDirectP50: cluster.labReady?.direct,
			labReadyHubP50: cluster.labReady?.hub,
			echoDirectP99: cluster.echo?.direct,
			echoHubP99: cluster.echo?.hub,
		};
		for (const [name, summary] of Object.entries(figures)) {
			const value = (summary as Record<string, number> | undefined)?.[
				name.endsWith('P50') ? 'p50' : 'p99'
			];
			expect(Number.isFinite(value), `${name} = ${String(value)}`).toBe(true);
		}
		expect(Number.isFinite(cluster.hubRssKb?.per100Terminals)).toBe(true);
	});
});

/** `npm run bench -- <args>` as a child process; fails the test unless it exits 0. */
async function benchRun(args: string[]): Promise<{ stdout: string }> {
	const child = spawn('npx', ['tsx', 'bench/run.ts', ...args], {
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { ...process.env, LOG_LEVEL: 'warn' },
	});
	const out: Buffer[] = [];
	const err: Buffer[] = [];
	child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
	child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
	const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
	const stderr = Buffer.concat(err).toString();
	expect(code, `bench ${args.join(' ')} exited ${code}\n${stderr.slice(-3000)}`).toBe(0);
	return { stdout: Buffer.concat(out).toString() };
}
