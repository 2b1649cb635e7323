/**
 * Labs that wait until tomorrow, on real Docker and a manual clock: a learner installs keepalived
 * and writes the config, goes idle, and the lab stops with its files; the server restarts; the
 * learner comes back, «Продолжить» starts the same nodes — same files, keepalived active, checks
 * at the same step, the scrollback there — and a lab kept stopped past `LAB_KEEP_DAYS` goes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CheckResult, CreatedLab, LabView } from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { listLabResources } from '../src/docker/lab-network';
import { guideConfig } from '../src/course/guide-config';
import { ManualClock } from '../src/lib/clock';
import { TerminalClient } from '../testing/terminal-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { errorOf } from '../testing/http';
import { sh, stripAnsi, waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));
const image = inject('nodeImage');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const env = { LAB_IDLE_MINUTES: '5', LAB_TTL_MINUTES: '60', LAB_KEEP_DAYS: '7' };

describe('a lab that waits for its learner', () => {
	const clock = new ManualClock(Date.now());
	let stateDir: string;
	let current: TestServer;
	let lab: CreatedLab;
	let checksBefore: string[];

	const api = (route: string, init: RequestInit = {}) =>
		fetch(`${current.base}/api/labs/${lab.id}${route}`, {
			...init,
			headers: { authorization: `Bearer ${lab.token}`, ...init.headers },
		});
	const view = async () => (await (await api('')).json()) as LabView;
	const containerStates = async () =>
		(await listLabResources(docker))
			.get(lab.id)
			?.containers.map((c) => `${c.role}:${c.state}`)
			.sort();
	const checkStatuses = async () =>
		((await (await api('/checks')).json()) as CheckResult[]).map((c) => `${c.id}:${c.status}`);
	const terminal = (term: string, resumeOffset?: number) =>
		new TerminalClient(`${current.wsBase}/api/labs/${lab.id}/terminals/hap1`, {
			token: lab.token,
			term,
			...(resumeOffset !== undefined ? { resumeOffset } : {}),
		});

	beforeAll(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-resume-'));
		current = await startTestServer({ docker, image, clock, env, stateDir });
		lab = await current.createLab();
	});
	afterAll(async () => {
		await current?.stop();
	});

	it('stops an idle lab with its files, closes its terminals with 4018, refuses what needs it running', async () => {
		const complete = await api('/checks/service/complete', { method: 'POST' });
		expect(complete.status, await complete.clone().text()).toBe(200);
		const shell = terminal('main');
		await shell.waitFor('ubuntu@hap1:~$');
		shell.type('echo marker-$((6*7))\r');
		await shell.waitFor('marker-42');
		checksBefore = await checkStatuses();
		expect(checksBefore).toContain('service:pass');

		const viewer = terminal('second');
		await viewer.waitFor('ubuntu@hap1:~$');
		viewer.ws.terminate();
		shell.ws.terminate(); // the learner closes the laptop
		await waitFor(
			'the server to see both terminals go',
			async () => (current.server.terminals.anyAttached(lab.id) ? undefined : true),
			10_000,
			20,
		);
		clock.advance(4 * MIN);
		expect(await current.server.labs.reap()).toEqual([]);
		clock.advance(2 * MIN);
		expect(await current.server.labs.reap()).toEqual([lab.id]);

		const stopped = await view();
		expect(stopped.status).toBe('stopped');
		expect(Date.parse(stopped.keptUntil!)).toBe(clock.now() + 7 * DAY);
		expect(await containerStates()).toEqual(['hap1:exited', 'hap2:exited']);
		const diskBytes = current.server.labs.get(lab.id)!.diskBytes;
		console.log(
			`[measure] a stopped lab with keepalived installed: ${(diskBytes / 2 ** 20).toFixed(1)} MiB on disk`,
		);
		expect(diskBytes).toBeGreaterThan(1024 * 1024);

		const refused = terminal('main');
		expect((await refused.closed).code).toBe(4018);
		for (const [route, init] of [
			['/checks', {}],
			['/extend', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }],
			['/drills/stop-haproxy', { method: 'POST' }],
		] as const) {
			const res = await api(route, init);
			expect(res.status, route).toBe(409);
			expect((await errorOf(res)).code).toBe('lab-stopped');
		}
		// Stopped labs take disk, not a place: a new lab starts beside it.
		expect(current.server.labs.load).toBe(0);
	});

	it('is still there, stopped, after a server restart', async () => {
		await current.halt();
		current = await startTestServer({ docker, image, clock, env, stateDir });
		expect((await view()).status).toBe('stopped');
		expect(await containerStates()).toEqual(['hap1:exited', 'hap2:exited']);
	});

	it('resumes the same nodes: files, packages, keepalived, checks and scrollback as they were', async () => {
		const started = performance.now();
		const res = await api('/resume', {
			method: 'POST',
			body: '{}',
			headers: { 'content-type': 'application/json' },
		});
		const ms = Math.round(performance.now() - started);
		expect(res.status, await res.clone().text()).toBe(200);
		console.log(`[measure] resume (POST → both nodes booted) ${ms} ms`);
		const resumed = (await res.json()) as LabView;
		expect(resumed).toMatchObject({ status: 'running', keptUntil: null });
		expect(Date.parse(resumed.expiresAt)).toBe(clock.now() + 60 * MIN);
		expect(await containerStates()).toEqual(['hap1:running', 'hap2:running']);

		const labNow = current.server.labs.get(lab.id)!;
		for (const node of ['hap1', 'hap2'] as const) {
			const run = async (script: string) =>
				(await sh(docker, labNow.containers[node], script)).stdout;
			expect(await run('cat /etc/keepalived/keepalived.conf')).toBe(
				guideConfig(labNow.addresses.vip),
			);
			expect(await run("dpkg-query -W -f='${Status}' keepalived")).toBe('install ok installed');
			expect(await run('systemctl is-active keepalived')).toBe('active\n');
		}
		expect(await checkStatuses()).toEqual(checksBefore);

		// A new day, a new browser tab: no resume offset, the scrollback from before, then a new shell.
		const shell = terminal('main');
		await shell.waitFor('прежняя оболочка завершилась');
		await shell.waitFor(/ubuntu@hap1:~\$ $/m);
		const text = stripAnsi(shell.output);
		expect(text.indexOf('marker-42')).toBeGreaterThan(-1);
		expect(text.indexOf('marker-42')).toBeLessThan(text.indexOf('прежняя оболочка'));
		shell.type('echo "again-$((6*7))"\r');
		await shell.waitFor('again-42');
		shell.ws.close(1000);

		// «second» had printed a prompt or two before the stop. Its new holder, started before
		// the server attaches (as a busy host can make it), has printed more (Enter twice, in the
		// holder's frames): the saved offset lies inside the new shell's output, and still the
		// terminal must say that the shell is a new one.
		const hello = String.raw`h\0\0\0\010\0\0\0\0\0\0\0\0`;
		const enter = String.raw`i\0\0\0\001\r`;
		await sh(
			docker,
			labNow.containers.hap1,
			`{ printf '${hello}${enter}${enter}'; sleep 1; } | timeout 2 labterm open /run/lab-terminals/second bash -l >/dev/null; true`,
			{ user: 'ubuntu' },
		);
		const second = terminal('second');
		await second.waitFor('прежняя оболочка завершилась');
		second.ws.close(1000);

		// A second «Продолжить» (another tab) is answered with the running lab.
		const again = await api('/resume', {
			method: 'POST',
			body: '{}',
			headers: { 'content-type': 'application/json' },
		});
		expect(again.status).toBe(200);
	});

	it('stops a lab past its time even with a terminal attached, telling the terminal (4018)', async () => {
		const shell = terminal('late');
		await shell.waitFor('ubuntu@hap1:~$');
		clock.advance(61 * MIN);
		expect(await current.server.labs.reap()).toEqual([lab.id]);
		expect((await shell.closed).code).toBe(4018);
		expect((await view()).status).toBe('stopped');
	});

	it('removes a lab kept stopped for LAB_KEEP_DAYS, and everything of it', async () => {
		clock.advance(7 * DAY - MIN);
		expect(await current.server.labs.reap()).toEqual([]);
		clock.advance(2 * MIN);
		expect(await current.server.labs.reap()).toEqual([lab.id]);
		expect((await listLabResources(docker)).has(lab.id)).toBe(false);
		expect((await api('')).status).toBe(404);
		// Its scrollback goes with it.
		expect(existsSync(path.join(stateDir, 'terminals', lab.id))).toBe(false);
	});
});
