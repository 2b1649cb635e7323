/**
 * The lab server end to end, on real Docker and a real WebSocket server on port 0: labs per
 * learner, live terminals, refusals, resume after a reconnect and after a server restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ManualClock } from '../src/lib/clock';
import { testConfig } from '../testing/test-config';
import { connectDocker } from '../src/docker/engine';
import { listLabResources, usedSubnets } from '../src/docker/lab-network';
import { createLabServer, type LabServer } from '../src/server';
import { occupiedIndexes, parsePool } from '../src/labs/subnets';
import { sh, stripAnsi } from './helpers';
import { TerminalClient } from '../testing/terminal-client';
import { errorOf } from '../testing/http';
import { CloseCode } from '../src/api/protocol';
import type { LabView } from '../src/api';

const docker = connectDocker(inject('dockerSocket'));
const log = pino({ level: process.env.TEST_LOG ?? 'silent' });

interface LabJson {
	id: string;
	token: string;
	vip: string;
	subnet: string;
	nodes: { name: string; ip: string; state: string }[];
	expiresAt: string;
}

function server(
	stateDir: string,
	env: Record<string, string> = {},
	clock?: ManualClock,
): LabServer {
	return createLabServer({
		config: testConfig({ STATE_DIR: stateDir, ...env }),
		log,
		image: inject('nodeImage'),
		siteDir: null,
		docker,
		clock,
	});
}

async function createLab(base: string): Promise<LabJson> {
	const res = await fetch(`${base}/api/labs`, { method: 'POST' });
	expect(res.status, await res.clone().text()).toBe(201);
	return (await res.json()) as LabJson;
}

describe('lab server', () => {
	let stateDir: string;
	let lab: LabServer;
	let base: string;
	let ws: string;
	let first: LabJson;

	beforeAll(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-state-'));
		lab = server(stateDir);
		const { port } = await lab.start();
		base = `http://127.0.0.1:${port}`;
		ws = `ws://127.0.0.1:${port}`;
	});
	afterAll(async () => {
		for (const l of lab.labs.list()) await lab.labs.end(l, 'deleted');
		await lab.stop();
		await rm(stateDir, { recursive: true, force: true });
	});

	it('creates a lab with the guide addresses when its /24 is free, and a cookie', async () => {
		const free = !occupiedIndexes(parsePool('10.129.0.0/16'), await usedSubnets(docker)).has(0);
		const res = await fetch(`${base}/api/labs`, { method: 'POST' });
		expect(res.status).toBe(201);
		expect(res.headers.get('set-cookie')).toMatch(/klab_lab_[a-z0-9]{10}=.*HttpOnly/);
		first = (await res.json()) as LabJson;
		expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(Date.parse(first.expiresAt)).toBeGreaterThan(Date.now());
		expect(first.nodes.map((n) => [n.name, n.state])).toEqual([
			['hap1', 'running'],
			['hap2', 'running'],
		]);
		if (free) {
			expect(first.vip).toBe('10.129.0.10');
			expect(first.nodes.map((n) => n.ip)).toEqual(['10.129.0.11', '10.129.0.12']);
		}
		const got = await fetch(`${base}/api/labs/${first.id}`, {
			headers: { authorization: `Bearer ${first.token}` },
		});
		expect(got.status).toBe(200);
		expect(await got.json()).toMatchObject({ id: first.id, vip: first.vip, vipHolder: null });
	});

	it('streams both terminals: prompt, a command, a resize', async () => {
		const hap1 = new TerminalClient(`${ws}/api/labs/${first.id}/terminals/hap1`, {
			token: first.token,
		});
		const hap2 = new TerminalClient(`${ws}/api/labs/${first.id}/terminals/hap2`, {
			token: first.token,
		});
		await Promise.all([hap1.waitFor('ubuntu@hap1:~$'), hap2.waitFor('ubuntu@hap2:~$')]);
		expect(hap1.ready).toEqual({ op: 'ready', offset: 0, resumed: false });

		hap1.type('echo "answer=$((6*7))"\r');
		await hap1.waitFor('answer=42');
		hap1.send({ op: 'resize', cols: 97, rows: 31 });
		hap1.type('stty size\r');
		await hap1.waitFor('31 97');
		hap1.ws.close(1000);
		hap2.ws.close(1000);
		await Promise.all([hap1.closed, hap2.closed]);
	});

	it('tells a client the sizes its replay was written at', async () => {
		const url = `${ws}/api/labs/${first.id}/terminals/hap2`;
		const wide = new TerminalClient(url, { token: first.token, term: 'sizes', cols: 150 });
		await wide.waitFor('ubuntu@hap2:~$');
		wide.type('echo wide-$((1+1))\r');
		await wide.waitFor('wide-2');
		wide.send({ op: 'resize', cols: 70, rows: 20 });
		wide.type('echo narrow-$((2+2))\r');
		await wide.waitFor('narrow-4');
		const narrowFrom = wide.output.indexOf('narrow-4');
		wide.ws.terminate();
		await wide.closed;

		const again = new TerminalClient(url, { token: first.token, term: 'sizes', resumeOffset: 0 });
		await again.waitFor('narrow-4');
		const { replay } = again.ready!;
		expect(replay?.sizes.map(({ cols, rows }) => [cols, rows])).toEqual([
			[150, 40],
			[70, 20],
		]);
		// The new size holds from output after the resize, and before the command it ran then.
		const [, narrow] = replay!.sizes;
		expect(narrow!.from).toBeGreaterThan(wide.output.indexOf('wide-2'));
		expect(narrow!.from).toBeLessThan(narrowFrom);
		again.ws.close(1000);
		await again.closed;
	});

	it('ends the shell inside the node when a terminal is closed cleanly', async () => {
		const client = new TerminalClient(`${ws}/api/labs/${first.id}/terminals/hap2`, {
			token: first.token,
			term: 'closing',
		});
		await client.waitFor('ubuntu@hap2:~$');
		const container = lab.labs.get(first.id)!.containers.hap2;
		// The terminal's holder (and the shell under it), by the socket it owns.
		// (started with `--dial`: the holder is a fork of `labterm open` and keeps its arguments).
		const holder =
			'pgrep -af "^labterm open (--dial [^ ]+ )?/run/lab-terminals/closing( |$)" || true';
		expect((await sh(docker, container, holder)).stdout).toContain('labterm open');
		client.ws.close(1000);
		await client.closed;
		let left = '';
		for (let i = 0; i < 20; i++) {
			left = (await sh(docker, container, holder)).stdout.trim();
			if (!left) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		const ps = left ? (await sh(docker, container, 'ps -eo pid,ppid,args')).stdout : '';
		expect(left, ps).toBe('');
	});

	it('resumes after a dropped connection without losing a byte', async () => {
		const url = `${ws}/api/labs/${first.id}/terminals/hap1`;
		const before = new TerminalClient(url, { token: first.token, term: 'resume' });
		await before.waitFor('ubuntu@hap1:~$');
		before.type('for i in $(seq 1 300); do echo "line-$i"; sleep 0.005; done; echo DONE\r');
		await before.waitFor('line-5');
		before.ws.terminate(); // no close frame: what a network drop looks like
		await before.closed;
		await new Promise((r) => setTimeout(r, 2_500)); // output keeps coming meanwhile

		const after = new TerminalClient(url, {
			token: first.token,
			term: 'resume',
			resumeOffset: before.offset,
		});
		await after.waitFor(/^DONE\r?$/m);
		expect(after.ready).toEqual({
			op: 'ready',
			offset: before.offset,
			resumed: true,
			// What it missed was written at the size the first client gave.
			replay: { end: expect.any(Number), sizes: [{ from: before.offset, cols: 120, rows: 40 }] },
		});
		const text = stripAnsi(before.output + after.output);
		const lines = text.split('\n').filter((l) => /^line-\d+\r?$/.test(l));
		expect(lines.map((l) => l.trim())).toEqual(
			Array.from({ length: 300 }, (_, i) => `line-${i + 1}`),
		);
		after.ws.close(1000);
	});

	it('refuses what it should, with the right status', async () => {
		const second = await createLab(base);
		const url = (id: string, node = 'hap1') => `${ws}/api/labs/${id}/terminals/${node}`;
		const cases: [string, TerminalClient, number][] = [
			['no token', new TerminalClient(url(first.id)), 401],
			['another lab’s token', new TerminalClient(url(first.id), { token: second.token }), 403],
			['wrong token', new TerminalClient(url(first.id), { token: 'x'.repeat(43) }), 403],
			[
				'foreign origin',
				new TerminalClient(url(first.id), { token: first.token, origin: 'https://evil.example' }),
				403,
			],
			['unknown lab', new TerminalClient(url('zzzzzzzzzz'), { token: first.token }), 404],
			['unknown node', new TerminalClient(url(first.id, 'hap3'), { token: first.token }), 404],
		];
		for (const [what, client, status] of cases) {
			expect(await client.refused(), what).toBe(status);
		}
		const http = await fetch(`${base}/api/labs/${first.id}`, {
			headers: { authorization: `Bearer ${second.token}` },
		});
		expect(http.status).toBe(403);
		expect(await http.json()).toEqual({
			error: { code: 'forbidden', message: 'Этот ключ не открывает этот стенд.' },
		});
		const bad = await fetch(`${base}/api/labs/${first.id}/reset`, {
			method: 'POST',
			headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
			body: '{"node":"hap3"}',
		});
		expect(bad.status).toBe(400);
		expect((await errorOf(bad)).code).toBe('bad-request');
		await fetch(`${base}/api/labs/${second.id}`, {
			method: 'DELETE',
			headers: { authorization: `Bearer ${second.token}` },
		});
	});

	it('opens a terminal that reconnects at once after «Сбросить» on the new node', async () => {
		const url = `${ws}/api/labs/${first.id}/terminals/hap2`;
		const before = new TerminalClient(url, { token: first.token, term: 'reset' });
		await before.waitFor('ubuntu@hap2:~$');
		before.type('touch /tmp/old-node; echo TOUCHED\r');
		await before.waitFor(/^TOUCHED/m);
		const reset = fetch(`${base}/api/labs/${first.id}/reset`, {
			method: 'POST',
			headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
			body: '{"node":"hap2"}',
		});
		expect(await before.closed).toMatchObject({ code: CloseCode.NODE_RESET });
		// As the page does, but at once: the old node is still there while the new one boots.
		const after = new TerminalClient(url, { token: first.token, term: 'reset' });
		await after.waitFor('ubuntu@hap2:~$', 30_000);
		const answer = await reset;
		expect(answer.status).toBe(200);
		// The lab says when it was last reset and by whom (a page closed meanwhile tells of it).
		const { lastReset } = (await answer.json()) as LabView;
		expect(lastReset).toEqual({ at: expect.any(String), by: 'learner', nodes: ['hap2'] });
		expect(Date.now() - Date.parse(lastReset!.at)).toBeLessThan(60_000);
		after.type('ls /tmp/old-node 2>&1 | tail -1; echo END\r');
		await after.waitFor(/No such file[\s\S]*^END/m);
		after.ws.close(1000);
		await after.closed;
	});

	it('closes only the offending socket on garbage and oversized frames', async () => {
		const url = `${ws}/api/labs/${first.id}/terminals/hap1`;
		const healthy = new TerminalClient(url, { token: first.token, term: 'healthy' });
		await healthy.waitFor('ubuntu@hap1:~$');

		const garbage = new TerminalClient(url, { token: first.token, term: 'garbage' });
		await garbage.waitFor('$');
		garbage.ws.send(Buffer.from([0x7f, 1, 2, 3]));
		expect(await garbage.closed).toMatchObject({
			code: 4000,
			reason: expect.stringContaining('unknown-opcode'),
		});

		const text = new TerminalClient(url, { token: first.token, term: 'text' });
		await new Promise((r) => text.ws.once('open', r));
		text.ws.send('hello');
		expect((await text.closed).code).toBe(4000);

		const noHello = new TerminalClient(url, { token: first.token, term: 'nohello' });
		noHello.ws.removeAllListeners('open');
		await new Promise((r) => noHello.ws.once('open', r));
		noHello.type('ls\r');
		noHello.ws.send(Buffer.from([0x00, 0x6c, 0x73]));
		expect((await noHello.closed).code).toBe(4001);

		const big = new TerminalClient(url, { token: first.token, term: 'big' });
		await big.waitFor('$');
		big.ws.send(Buffer.alloc(70 * 1024, 0x61));
		expect((await big.closed).code).toBe(1009);

		healthy.type('echo still-here\r');
		await healthy.waitFor('still-here');
		expect((await fetch(`${base}/api/health`)).status).toBe(200);
		healthy.ws.close(1000);
	});

	it('survives a restart: the lab is adopted and the terminal resumes the same shell', async () => {
		const url = `${ws}/api/labs/${first.id}/terminals/hap1`;
		const client = new TerminalClient(url, { token: first.token, term: 'restart' });
		await client.waitFor('ubuntu@hap1:~$');
		client.type('echo "pid=$$"\r');
		const pid = /pid=(\d+)/.exec(stripAnsi(await client.waitFor(/pid=\d+/)))![1];

		await lab.stop();
		expect((await client.closed).code).toBe(4013);

		lab = server(stateDir, { PORT: new URL(base).port });
		await lab.start();
		expect(lab.labs.get(first.id)).toBeDefined();
		// «Сбросить» before the restart is still the lab's last reset after it (labs.json).
		expect(lab.labs.get(first.id)?.lastReset).toMatchObject({ by: 'learner', nodes: ['hap2'] });
		const again = new TerminalClient(url, {
			token: first.token,
			term: 'restart',
			resumeOffset: client.offset,
		});
		await vi.waitFor(() => expect(again.ready).not.toBeNull(), { timeout: 10_000 });
		expect(again.ready).toMatchObject({ offset: client.offset, resumed: true });
		again.type('echo "pid=$$"\r');
		await again.waitFor(`pid=${pid}`);

		// A reload (no resumeOffset) gets the scrollback saved across the restart.
		const reload = new TerminalClient(url, { token: first.token, term: 'restart' });
		await reload.waitFor(`pid=${pid}`);
		expect(reload.ready?.offset).toBe(0);
		reload.ws.close(1000);
	});

	it("leaves another server's labs alone", async () => {
		const otherDir = await mkdtemp(path.join(tmpdir(), 'klab-other-'));
		const other = server(otherDir);
		await other.start();
		try {
			expect(other.labs.get(first.id)).toBeUndefined();
			expect(await other.labs.reap()).toEqual([]);
			expect((await listLabResources(docker)).get(first.id)?.containers).toHaveLength(2);
		} finally {
			await other.stop();
			await rm(otherDir, { recursive: true, force: true });
		}
	});

	it('removes everything on DELETE', async () => {
		const res = await fetch(`${base}/api/labs/${first.id}`, {
			method: 'DELETE',
			headers: { authorization: `Bearer ${first.token}` },
		});
		expect(res.status).toBe(204);
		expect((await listLabResources(docker)).has(first.id)).toBe(false);
		const gone = await fetch(`${base}/api/labs/${first.id}`, {
			headers: { authorization: `Bearer ${first.token}` },
		});
		expect(gone.status).toBe(404);
	});
});

describe('lab lifetime on an injected clock', () => {
	it('with LAB_KEEP_DAYS=0, ends a lab idle past LAB_IDLE_MINUTES, and one past its TTL', async () => {
		const stateDir = await mkdtemp(path.join(tmpdir(), 'klab-state-'));
		const clock = new ManualClock(Date.now());
		const lab = server(
			stateDir,
			{ LAB_IDLE_MINUTES: '5', LAB_TTL_MINUTES: '30', LAB_KEEP_DAYS: '0' },
			clock,
		);
		const { port } = await lab.start();
		try {
			const idle = await createLab(`http://127.0.0.1:${port}`);
			clock.advance(4 * 60_000);
			expect(await lab.labs.reap()).toEqual([]);
			clock.advance(2 * 60_000);
			expect(await lab.labs.reap()).toEqual([idle.id]);
			expect((await listLabResources(docker)).has(idle.id)).toBe(false);

			const busy = await createLab(`http://127.0.0.1:${port}`);
			const client = new TerminalClient(
				`ws://127.0.0.1:${port}/api/labs/${busy.id}/terminals/hap1`,
				{
					token: busy.token,
				},
			);
			await client.waitFor('$');
			clock.advance(29 * 60_000);
			expect(await lab.labs.reap()).toEqual([]); // attached: never idle
			clock.advance(2 * 60_000);
			expect(await lab.labs.reap()).toEqual([busy.id]);
			expect((await client.closed).code).toBe(4010);
		} finally {
			for (const l of lab.labs.list()) await lab.labs.end(l, 'deleted');
			await lab.stop();
			await rm(stateDir, { recursive: true, force: true });
		}
	});
});
