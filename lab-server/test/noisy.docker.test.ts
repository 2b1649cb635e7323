/**
 * Noisy neighbours: a learner is root in their nodes, and thirty labs share one host. In lab A
 * one hostile act at a time — a fork bomb, `yes` in eight shells, a 2 GiB fallocate, a thousand
 * `tail -f`, a memory balloon — while lab B runs the guide's cluster: a new lab still boots, B's
 * terminal still echoes, B's keepalived keeps its VIP, and once A is reset the host is as it was
 * (free disk, root's inotify instances, processes). Each act is bounded in time and undone.
 */
import { readdirSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreatedLab, NodeLimitEvent } from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { inotifyUsage } from '../src/docker/host-limits';
import { TerminalClient } from '../testing/terminal-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { sh, waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));

describe('a lab that runs wild leaves the others and the host as they were', () => {
	let t: TestServer;
	let a: CreatedLab;
	let b: CreatedLab;
	let bTerm: TerminalClient;
	let baseline: { diskFreeMb: number; inotify: number; processes: number };

	const container = (lab: CreatedLab, node: 'hap1' | 'hap2') =>
		t.server.labs.get(lab.id)!.containers[node];
	const root = (lab: CreatedLab, script: string) =>
		sh(docker, container(lab, 'hap1'), script, { timeoutMs: 30_000 });
	const host = async () => ({
		diskFreeMb: await (async () => {
			const info = (await docker.info()) as { DockerRootDir: string };
			const fs = await statfs(info.DockerRootDir);
			return (fs.bavail * fs.bsize) / 1024 / 1024;
		})(),
		inotify: (await inotifyUsage())!.used,
		processes: readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length,
	});

	/** B is fine: its terminal echoes (ms), and its VIP has not moved since `since`. */
	const bIsFine = async (marker: string, vipChangesBefore: number) => {
		const started = performance.now();
		const from = bTerm.output.length;
		bTerm.type(`echo ${marker}\r`);
		await bTerm.waitFor(new RegExp(`\\n${marker}`), 20_000, from);
		const echoMs = performance.now() - started;
		const lab = t.server.labs.get(b.id)!;
		expect(lab.vipHistory.length, 'the VIP of lab B moved').toBe(vipChangesBefore);
		return echoMs;
	};

	const resetA = async () => {
		const reset = await fetch(`${t.base}/api/labs/${a.id}/reset`, {
			method: 'POST',
			headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
			body: '{}',
		});
		expect(reset.status, await reset.clone().text()).toBe(200);
	};

	/** A hostile act in A, B checked while it runs, then A reset; the act's own check last. */
	const act = async (name: string, script: string, during?: () => Promise<void>) => {
		const vipChanges = t.server.labs.get(b.id)!.vipHistory.length;
		const started = performance.now();
		await root(a, `(${script}) >/dev/null 2>&1 & disown; true`);
		await new Promise((resolve) => setTimeout(resolve, 3_000));
		const echoMs = await bIsFine(`fine-${name}`, vipChanges);
		await during?.();
		console.log(
			`[measure] ${name} in lab A: lab B echoed in ${echoMs.toFixed(0)} ms (command → its output)`,
		);
		await resetA();
		console.log(
			`[measure] ${name}: act and reset took ${((performance.now() - started) / 1000).toFixed(1)} s`,
		);
	};

	beforeAll(async () => {
		t = await startTestServer({ docker, image: inject('nodeImage'), env: { MAX_LABS: '4' } });
		baseline = await host();
		b = await t.createLab();
		a = await t.createLab();
		// B runs the guide's cluster: keepalived installed, configured and started on both nodes.
		const done = await fetch(`${t.base}/api/labs/${b.id}/checks/service/complete`, {
			method: 'POST',
			headers: { authorization: `Bearer ${b.token}` },
		});
		expect(done.status, await done.clone().text()).toBe(200);
		await waitFor(
			'a VIP holder in lab B',
			async () => t.server.labs.get(b.id)!.vipHistory.at(-1)?.holder ?? undefined,
			30_000,
		);
		bTerm = new TerminalClient(`${t.wsBase}/api/labs/${b.id}/terminals/hap1`, { token: b.token });
		await bTerm.waitFor('ubuntu@hap1:~$', 15_000);
	});

	afterAll(async () => {
		bTerm?.ws.close(1000);
		await t?.stop();
	});

	it('a fork bomb: B echoes and a new lab still boots', async () => {
		await act('fork bomb', ':(){ :|:& };:', async () => {
			const booted = performance.now();
			const c = await t.createLab();
			console.log(
				`[measure] a new lab booted in ${((performance.now() - booted) / 1000).toFixed(1)} s beside the fork bomb`,
			);
			await t.server.labs.end(t.server.labs.get(c.id)!, 'deleted');
		});
	});

	it('`yes` in eight shells: the CPU ceiling holds it', async () => {
		await act('8 × yes', 'for i in 1 2 3 4 5 6 7 8; do yes >/dev/null & done; wait', async () => {
			// The ceiling as the kernel enforces it, read on the host (cgroup v1's CFS quota).
			const id = container(a, 'hap1');
			const dir = `/sys/fs/cgroup/cpu/docker/${id}`;
			const quota = await readFile(`${dir}/cpu.cfs_quota_us`, 'utf8').catch(() => null);
			const period = await readFile(`${dir}/cpu.cfs_period_us`, 'utf8').catch(() => null);
			if (quota && period) {
				console.log(`[measure] lab A's node CPU ceiling: ${Number(quota) / Number(period)} core`);
				expect(Number(quota) / Number(period)).toBe(0.5);
			}
		});
	});

	it('a 2 GiB fallocate: refused by the quota, or the node is stopped and the learner told', async () => {
		const limits: NodeLimitEvent[] = [];
		t.server.labs.get(a.id)!.events.on('limit', (event) => limits.push(event));
		const started = performance.now();
		const fill = await root(
			a,
			'fallocate -l 2G /fill; echo "exit $?"; ls -la /fill 2>&1 | head -1',
		);
		const quota =
			t.server.labs.get(a.id)!.halted.hap1 === undefined && /exit [1-9]/.test(fill.stdout);
		if (!quota) {
			await waitFor(
				'the node to be stopped',
				async () => (limits.length ? true : undefined),
				20_000,
				100,
			);
			expect(limits[0]).toMatchObject({ node: 'hap1', kind: 'disk', limit: 512 });
			expect(limits[0]!.message).toMatch(/Сбросить узел/);
			console.log(
				`[measure] 2 GiB fallocate: node stopped ${(performance.now() - started).toFixed(0)} ms after it`,
			);
		} else {
			console.log(
				`[measure] 2 GiB fallocate: refused by Docker's storage quota (${fill.stdout.trim().split('\n')[0]})`,
			);
		}
		const vipChanges = t.server.labs.get(b.id)!.vipHistory.length;
		await bIsFine('fine-fallocate', vipChanges);
		await resetA();
	});

	it('a thousand `tail -f`: the node is stopped over its inotify share', async () => {
		const limits: NodeLimitEvent[] = [];
		t.server.labs.get(a.id)!.events.on('limit', (event) => limits.push(event));
		await act(
			'1000 × tail -f',
			'for i in $(seq 1000); do tail -f /etc/hostname & done; wait',
			async () => {
				await waitFor(
					'the node to be stopped',
					async () => (limits.length ? true : undefined),
					20_000,
					100,
				);
				expect(limits[0]).toMatchObject({ node: 'hap1', kind: 'inotify', limit: 256 });
			},
		);
	});

	it('a memory balloon: stays inside the node', async () => {
		await act('memory balloon', 'tail /dev/zero');
	});

	it('after A is reset, the host is as it was', async () => {
		for (const lab of [a]) await t.server.labs.end(t.server.labs.get(lab.id)!, 'deleted');
		await t.server.labs.end(t.server.labs.get(b.id)!, 'deleted');
		await new Promise((resolve) => setTimeout(resolve, 2_000));
		const now = await host();
		console.log(
			`[measure] host before → after: free disk ${baseline.diskFreeMb.toFixed(0)} → ${now.diskFreeMb.toFixed(0)} MB, root's inotify ${baseline.inotify} → ${now.inotify}, processes ${baseline.processes} → ${now.processes}`,
		);
		expect(Math.abs(now.diskFreeMb - baseline.diskFreeMb)).toBeLessThan(200);
		expect(now.inotify).toBeLessThanOrEqual(baseline.inotify + 2);
		expect(now.processes).toBeLessThanOrEqual(baseline.processes + 10);
	});
});

describe('the disk watcher, where Docker has no quota of its own', () => {
	it('stops a node that writes more than NODE_DISK_MB, and says why', async () => {
		// Forced: on a host whose Docker storage has a quota, the case above never reaches it.
		const t = await startTestServer({
			docker,
			image: inject('nodeImage'),
			env: { NODE_DISK_QUOTA: 'watch', NODE_DISK_MB: '256' },
		});
		try {
			const lab = await t.createLab();
			const limits: NodeLimitEvent[] = [];
			t.server.labs.get(lab.id)!.events.on('limit', (event) => limits.push(event));
			const hap2 = t.server.labs.get(lab.id)!.containers.hap2;
			const wrote = performance.now();
			await sh(docker, hap2, 'fallocate -l 1G /fill');
			await waitFor(
				'the node to be stopped',
				async () => (limits.length ? true : undefined),
				20_000,
				100,
			);
			console.log(
				`[measure] watched disk quota: node stopped ${(performance.now() - wrote).toFixed(0)} ms after a 1 GiB fallocate`,
			);
			expect(limits[0]).toMatchObject({ node: 'hap2', kind: 'disk', limit: 256 });
			expect((await docker.getContainer(hap2).inspect()).State.Running).toBe(false);
			const view = (await (
				await fetch(`${t.base}/api/labs/${lab.id}`, {
					headers: { authorization: `Bearer ${lab.token}` },
				})
			).json()) as { nodes: { name: string; state: string; halted: { kind: string } | null }[] };
			expect(view.nodes.find((n) => n.name === 'hap2')).toMatchObject({
				state: 'stopped',
				halted: { kind: 'disk' },
			});
		} finally {
			await t.stop();
		}
	});
});
