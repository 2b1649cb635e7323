/**
 * The benchmark cannot rot: `npm test` runs `npm run bench -- --quick --peer --json` as a user would
 * (a child process, real server, real labs) and requires every figure to come out as a number.
 * It checks that the benchmark runs, not what it measures: figures are read by people, never
 * asserted against targets in a test.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('npm run bench -- --quick --peer', () => {
	it('runs every figure once and prints each as a number in its JSON line', async () => {
		const child = spawn('npx', ['tsx', 'bench/run.ts', '--quick', '--peer', '--json'], {
			stdio: ['ignore', 'pipe', 'pipe'],
			env: { ...process.env, LOG_LEVEL: 'warn' },
		});
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
			'resumeP50Ms',
			'resumeP95Ms',
			'stoppedLabDiskMiB',
			'throughputMBps',
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
