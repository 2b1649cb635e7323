/**
 * Restarts that lose nothing, on real Docker: what a shell prints while the server is down is
 * kept by the terminal's holder inside the node and arrives on resume, in order, exactly once
 * (or after a line saying how many bytes the holder's bound let go); a drill under way when the
 * server stops is restored exactly by the next one; a server stopped (or killed) during a lab's
 * creation leaves either the whole lab or nothing.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LAB_NODES, type CreatedLab, type DrillsView, type LabView } from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { containerName, LABELS } from '../src/docker/labels';
import { listLabResources, removeLab, type LabResources } from '../src/docker/lab-network';
import { serverIdFor } from '../src/labs/labels';
import { TerminalClient } from '../testing/terminal-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { sh, stripAnsi, waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));
const image = inject('nodeImage');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The holder's bound on output kept while nobody is attached (docker/node/labterm). */
const HOLDER_RING_BYTES = 1024 * 1024;

/** This state directory's labs in Docker, whole or not. */
async function labsOf(stateDir: string): Promise<LabResources[]> {
	const serverId = serverIdFor(stateDir);
	return [...(await listLabResources(docker)).values()].filter(
		(lab) =>
			lab.labels[LABELS.server] === serverId ||
			lab.containers.some((c) => c.labels[LABELS.server] === serverId),
	);
}

describe('a lab server restart', () => {
	let stateDir: string;
	let current: TestServer;
	let lab: CreatedLab;
	const terminalUrl = () => `${current.wsBase}/api/labs/${lab.id}/terminals/hap1`;
	const auth = () => ({ authorization: `Bearer ${lab.token}` });

	/** SIGTERM's work, `downMs` of nothing, then the next server on the same state. */
	async function restart(downMs: number): Promise<void> {
		await current.halt();
		await sleep(downMs);
		current = await startTestServer({ docker, image, stateDir });
	}

	beforeAll(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-restart-'));
		current = await startTestServer({ docker, image, stateDir });
		lab = await current.createLab();
	});
	afterAll(async () => {
		await current?.stop();
	});

	it.each([1_000, 10_000])(
		'keeps what the shell prints while the server is down for %i ms: every line once, in order',
		async (downMs) => {
			const term = `count-${downMs}`;
			const before = new TerminalClient(terminalUrl(), { token: lab.token, term });
			await before.waitFor('ubuntu@hap1:~$');
			before.type('for i in $(seq 1 300); do echo line-$i; sleep 0.02; done; echo DONE\r');
			await before.waitFor(/^line-100\r?$/m);
			const typedAt = current.server.labs.lastActivity(lab.id);
			expect(typedAt).not.toBeNull();
			await restart(downMs);
			// The workshop dashboard's «last active» survives too.
			expect(current.server.labs.lastActivity(lab.id)).toBe(typedAt);
			expect((await before.closed).code).toBe(4013);

			const after = new TerminalClient(terminalUrl(), {
				token: lab.token,
				term,
				resumeOffset: before.offset,
			});
			await after.waitFor(/^DONE\r?$/m, 20_000);
			expect(after.ready).toMatchObject({ offset: before.offset, resumed: true });
			const lines = stripAnsi(before.output + after.output)
				.split('\n')
				.filter((line) => /^line-\d+$/.test(line));
			expect(lines).toEqual(Array.from({ length: 300 }, (_, i) => `line-${i + 1}`));
			expect(after.output).not.toContain('пропущено');
			after.ws.close(1000);
		},
	);

	it('says how many bytes were let go when the shell printed more than the holder keeps', async () => {
		const term = 'flood';
		const total = 3_000_000;
		const before = new TerminalClient(terminalUrl(), { token: lab.token, term });
		await before.waitFor('ubuntu@hap1:~$');
		// The flood starts once the server is gone, and ends before the next one attaches. Its
		// start line is awaited, so everything the shell printed before the flood (the command's
		// start mark, 8 bytes after the Enter) has arrived: the bytes let go are the flood's only.
		before.type(
			`echo FLOOD-START; sleep 4; head -c ${total} /dev/zero | tr '\\0' x; echo; echo FLOOD-END\r`,
		);
		await before.waitFor(/^FLOOD-START\r?$/m);
		await restart(8_000);

		const after = new TerminalClient(terminalUrl(), {
			token: lab.token,
			term,
			resumeOffset: before.offset,
		});
		await after.waitFor(/^FLOOD-END\r?$/m, 20_000);
		expect(before.output.slice(before.output.indexOf('FLOOD-END'))).not.toContain('xxx');
		const gap = /пропущено (\d+) байт/.exec(after.output);
		expect(gap, after.output.slice(0, 300)).not.toBeNull();
		const dropped = Number(gap![1]);
		const rest = after.output.slice(gap!.index);
		const received = (/x+/.exec(rest)?.[0] ?? '').length;
		// The holder kept its last MiB: what it let go and what arrived make the whole flood.
		expect(dropped).toBeGreaterThan(total - HOLDER_RING_BYTES);
		expect(dropped + received).toBe(total);
		after.ws.close(1000);
	});

	it('restores after a restart exactly what a drill started before it did', async () => {
		const api = (route: string, init: RequestInit = {}) =>
			fetch(`${current.base}/api/labs/${lab.id}${route}`, {
				...init,
				headers: { ...auth(), ...init.headers },
			});
		const complete = await api('/checks/service/complete', { method: 'POST' });
		expect(complete.status, await complete.clone().text()).toBe(200);
		/** What a drill may change and a restore must put back, per node (the VIP may move). */
		const fingerprint = async () => {
			const nodes: Record<string, unknown> = {};
			for (const node of LAB_NODES) {
				const ip = lab.nodes.find((n) => n.name === node)!.ip;
				const container = containerName(lab.id, node);
				const { stdout } = await sh(
					docker,
					container,
					`systemctl is-active haproxy keepalived; tc qdisc show dev eth0; tc filter show dev eth0 ingress; tc filter show dev eth0 egress; ip -4 -o addr show dev eth0 | grep -c ' ${ip}/'`,
				);
				const info = await docker.getContainer(container).inspect();
				nodes[node] = {
					shell: stdout,
					paused: info.State.Paused,
					networks: Object.keys(info.NetworkSettings.Networks),
				};
			}
			const intruder = await docker
				.getContainer(containerName(lab.id, 'intruder'))
				.inspect()
				.then(() => true)
				.catch(() => false);
			return { nodes, intruder };
		};
		const drills = async () => ((await (await api('/drills')).json()) as DrillsView).state;
		await waitFor(
			'keepalived running on both nodes and one VIP holder, as the server sees them',
			async () => {
				const view = (await (await api('')).json()) as LabView;
				const running = view.nodes.every((n) => ['MASTER', 'BACKUP'].includes(n.keepalived));
				return running && view.vipHolder !== null ? true : undefined;
			},
			30_000,
		);
		const before = await fingerprint();

		const started = await api('/drills/block-vrrp', { method: 'POST' });
		expect(started.status, await started.clone().text()).toBe(202);
		await waitFor(
			'block-vrrp applied',
			async () => ((await drills()).active?.phase !== 'applying' ? true : undefined),
			30_000,
		);
		expect(await fingerprint()).not.toEqual(before);

		await restart(500);
		expect((await drills()).active).toMatchObject({ drill: 'block-vrrp' });
		const restore = await api('/drills/restore', { method: 'POST' });
		expect(restore.status, await restore.clone().text()).toBe(202);
		await waitFor(
			'the restore to end',
			async () => {
				const state = await drills();
				return state.active === null && !state.busy ? true : undefined;
			},
			30_000,
		);
		expect(await fingerprint()).toEqual(before);
	});

	it('leaves a whole lab when the server is stopped during its creation', async () => {
		const known = new Set((await labsOf(stateDir)).map((l) => l.labId));
		const request = fetch(`${current.base}/api/labs`, { method: 'POST' }).then(
			async (res) => ({ status: res.status, body: (await res.json()) as CreatedLab }),
			(error: unknown) => ({ status: 0, error }),
		);
		const creating = await waitFor(
			'a container of the new lab',
			async () =>
				(await labsOf(stateDir)).find((l) => !known.has(l.labId) && l.containers.length > 0),
			30_000,
			50,
		);
		await restart(0);
		const answered = await request;

		const found = (await labsOf(stateDir)).find((l) => l.labId === creating.labId);
		expect(found?.containers.map((c) => c.state).sort()).toEqual(['running', 'running']);
		expect(current.server.labs.get(creating.labId)).toBeDefined();
		if (answered.status === 201 && 'body' in answered) {
			const res = await fetch(`${current.base}/api/labs/${creating.labId}`, {
				headers: { authorization: `Bearer ${answered.body.token}` },
			});
			expect(res.status).toBe(200);
		}
		await current.server.labs.end(current.server.labs.get(creating.labId)!, 'deleted');
	});

	it('leaves nothing of a lab whose creation a killed server never finished', async () => {
		const killedDir = await mkdtemp(path.join(tmpdir(), 'klab-killed-'));
		const child = spawn(
			process.execPath,
			['--import', 'tsx', path.resolve('lab-server/testing/server-process.ts')],
			{
				env: {
					...process.env,
					PORT: '0',
					HOST: '127.0.0.1',
					STATE_DIR: killedDir,
					WARM_LABS: '0',
					LAB_IMAGE: image,
					DOCKER_SOCKET: inject('dockerSocket'),
					LOG_LEVEL: 'warn',
				},
				stdio: ['ignore', 'pipe', 'inherit'],
			},
		);
		try {
			const [line] = await once(createInterface({ input: child.stdout! }), 'line');
			const { port } = JSON.parse(String(line)) as { port: number };
			const request = fetch(`http://127.0.0.1:${port}/api/labs`, { method: 'POST' }).catch(
				() => null,
			);
			const partial = await waitFor(
				'a container of the lab being created',
				async () => (await labsOf(killedDir)).find((l) => l.containers.length > 0),
				30_000,
				20,
			);
			child.kill('SIGKILL');
			expect(await request).toBeNull();
			expect((await labsOf(killedDir)).map((l) => l.labId)).toEqual([partial.labId]);

			const next = await startTestServer({ docker, image, stateDir: killedDir });
			expect(next.server.labs.size).toBe(0);
			expect(await labsOf(killedDir)).toEqual([]);
			await next.stop();
		} finally {
			child.kill('SIGKILL');
			for (const leftover of await labsOf(killedDir)) await removeLab(docker, leftover.labId);
			await rm(killedDir, { recursive: true, force: true });
		}
	});
});
