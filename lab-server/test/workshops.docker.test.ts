/**
 * Workshops end to end, on real Docker and a real server on port 0: a pool booted
 * ahead, joins that start no container, the dashboard following a learner's progress, a
 * read-only terminal for the instructor, refusals, and nothing left in Docker at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../src/lib/clock';
import { testConfig } from '../testing/test-config';
import { LABELS } from '../src/docker/labels';
import { connectDocker } from '../src/docker/engine';
import { listLabResources } from '../src/docker/lab-network';
import { createLabServer, type LabServer } from '../src/server';
import type { WorkshopView } from '../src/api';
import { TerminalClient } from '../testing/terminal-client';
import { errorOf } from '../testing/http';

const docker = connectDocker(inject('dockerSocket'));
/** How long each pool lab took to boot, from the server's own `pool lab ready` log lines. */
const refills: number[] = [];
const log = pino(
	{ level: 'info' },
	{
		write(line: string) {
			const entry = JSON.parse(line) as { msg: string; ms?: number };
			if (entry.msg === 'pool lab ready' && entry.ms !== undefined) refills.push(entry.ms);
			if (process.env.TEST_LOG) process.stdout.write(line);
		},
	},
);
const SECRET = 'test-instructor-secret-0123456789';

interface LabJson {
	id: string;
	token: string;
	nodes: { name: string; ip: string; state: string }[];
}

function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Container ids of each lab of the workshop, from Docker itself. */
async function workshopContainers(workshopId: string): Promise<Map<string, string[]>> {
	const found = new Map<string, string[]>();
	for (const [labId, resources] of await listLabResources(docker)) {
		const labels = resources.containers[0]?.labels ?? resources.labels;
		if (labels[LABELS.workshop] !== workshopId) continue;
		found.set(labId, resources.containers.map((c) => c.id).sort());
	}
	return found;
}

describe('workshops', () => {
	let stateDir: string;
	let server: LabServer;
	let base: string;
	let ws: string;
	let workshop: {
		id: string;
		code: string;
		title: string;
		instructorToken: string;
		instructorUrl: string;
	};
	const learners: { name: string; cookie: string; lab: LabJson }[] = [];

	const instructor = (extra: Record<string, string> = {}) => ({
		authorization: `Bearer ${workshop.instructorToken}`,
		...extra,
	});
	const dashboard = async (): Promise<WorkshopView> => {
		const res = await fetch(`${base}/api/workshops/${workshop.id}`, { headers: instructor() });
		expect(res.status, await res.clone().text()).toBe(200);
		return (await res.json()) as WorkshopView;
	};
	const join = (name: string, cookie?: string, code = workshop.code) =>
		fetch(`${base}/api/workshops/${encodeURIComponent(code)}/join`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
			body: JSON.stringify({ name }),
		});

	beforeAll(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-workshop-'));
		server = createLabServer({
			config: testConfig({ STATE_DIR: stateDir, INSTRUCTOR_SECRET: SECRET }),
			log,
			image: inject('nodeImage'),
			siteDir: null,
			docker,
		});
		const { port } = await server.start();
		base = `http://127.0.0.1:${port}`;
		ws = `ws://127.0.0.1:${port}`;
	});
	afterAll(async () => {
		// Stop first (it waits for pool labs still booting), then remove what this server
		// started: its own labs, nobody else's.
		await server.stop();
		for (const lab of server.labs.list()) await server.labs.end(lab, 'deleted');
		await rm(stateDir, { recursive: true, force: true });
	});

	it('refuses to create a workshop without the right secret', async () => {
		const create = (authorization?: string) =>
			fetch(`${base}/api/workshops`, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					...(authorization ? { authorization } : {}),
				},
				body: JSON.stringify({ pool: 1 }),
			});
		expect((await create()).status).toBe(401);
		const wrong = await create(`Bearer ${'x'.repeat(SECRET.length)}`);
		expect(wrong.status).toBe(403);
		expect((await errorOf(wrong)).code).toBe('forbidden');
		const bad = await fetch(`${base}/api/workshops`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
			body: JSON.stringify({ pool: 3, seats: 2 }),
		});
		expect(bad.status).toBe(400);
		expect(server.labs.size).toBe(0);
	});

	it('creates a workshop and boots its pool of 3 labs ahead', async () => {
		const started = performance.now();
		const res = await fetch(`${base}/api/workshops`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
			body: JSON.stringify({ title: 'Тестовое занятие', pool: 3, seats: 4 }),
		});
		expect(res.status, await res.clone().text()).toBe(201);
		workshop = (await res.json()) as typeof workshop;
		expect(workshop.code).toMatch(/^[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{6}$/);
		expect(workshop.instructorUrl).toBe(`/instructor/#${workshop.id}.${workshop.instructorToken}`);
		await vi.waitFor(
			async () => expect((await dashboard()).pool).toEqual({ ready: 3, starting: 0 }),
			{ timeout: 90_000, interval: 200 },
		);
		const ms = performance.now() - started;
		console.log(`[measure] workshop pool of 3 ready in ${Math.round(ms)} ms (3 at once)`);
		expect((await workshopContainers(workshop.id)).size).toBe(3);
	});

	it('hands pooled labs to 3 learners without starting a container', async () => {
		const before = await workshopContainers(workshop.id);
		const times: number[] = [];
		for (const name of ['Анна', 'Борис', 'Вера']) {
			const t0 = performance.now();
			// Lower case and a dash: codes are case-insensitive and shown as ABC-DEF.
			const code = `${workshop.code.slice(0, 3)}-${workshop.code.slice(3)}`.toLowerCase();
			const res = await join(name, undefined, code);
			times.push(performance.now() - t0);
			expect(res.status, await res.clone().text()).toBe(201);
			const lab = (await res.json()) as LabJson;
			expect(lab.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
			const cookies = res.headers.getSetCookie();
			expect(cookies.some((c) => c.startsWith(`klab_lab_${lab.id}=`))).toBe(true);
			const session = cookies.find((c) => c.startsWith('klab_session='))!.split(';')[0]!;
			learners.push({ name, cookie: session, lab });
			// The lab existed, booted, before the join.
			expect(before.get(lab.id), name).toBeDefined();
		}
		const after = await workshopContainers(workshop.id);
		for (const { lab } of learners) expect(after.get(lab.id)).toEqual(before.get(lab.id));
		console.log(
			`[measure] join p50 ${percentile(times, 50).toFixed(1)} ms / p95 ${percentile(times, 95).toFixed(1)} ms (n=${times.length})`,
		);

		// The same browser session joining again gets the same lab.
		const again = await join('Анна', learners[0]!.cookie);
		expect(again.status).toBe(200);
		expect(((await again.json()) as LabJson).id).toBe(learners[0]!.lab.id);
	});

	it('refills the pool up to the seats left, refusing joins meanwhile and past the seats', async () => {
		const t0 = performance.now();
		// One seat left: one lab is booting for it right now.
		const early = await join('Глеб');
		expect(early.status).toBe(503);
		expect(early.headers.get('retry-after')).toBe('15');
		expect((await errorOf(early)).code).toBe('pool-refilling');
		await vi.waitFor(async () => expect((await dashboard()).pool.ready).toBe(1), {
			timeout: 60_000,
			interval: 100,
		});
		console.log(
			`[measure] pool refill per lab: ${refills.map((ms) => `${ms} ms`).join(', ')} (the last one booted alone; 503 → ready ${Math.round(performance.now() - t0)} ms)`,
		);
		expect(refills.length).toBeGreaterThanOrEqual(4);
		const fourth = await join('Глеб');
		expect(fourth.status).toBe(201);
		const full = await join('Дина');
		expect(full.status).toBe(409);
		expect(await full.json()).toMatchObject({ error: { code: 'workshop-full' } });
		const view = await dashboard();
		expect(view.pool).toEqual({ ready: 0, starting: 0 });
		expect((await workshopContainers(workshop.id)).size).toBe(4);
		expect((await join('Кто-то', undefined, 'ZZZ-ZZZ')).status).toBe(404);
	});

	it('shows each learner on the dashboard, with the step they reached', async () => {
		const view = await dashboard();
		expect(view).toMatchObject({
			id: workshop.id,
			code: workshop.code,
			title: 'Тестовое занятие',
			seats: 4,
		});
		expect(view.learners.map((l) => l.name)).toEqual(['Анна', 'Борис', 'Вера', 'Глеб']);
		for (const learner of view.learners) {
			expect(learner.nodes.map((n) => n.name)).toEqual(['hap1', 'hap2']);
			expect(learner.lastActivity).toBeNull();
		}
		const anna = learners[0]!.lab;
		expect(view.learners[0]).toMatchObject({ labId: anna.id, step: null });

		const done = await fetch(`${base}/api/labs/${anna.id}/checks/install/complete`, {
			method: 'POST',
			headers: { authorization: `Bearer ${anna.token}` },
		});
		expect(done.status, await done.clone().text()).toBe(200);
		await vi.waitFor(
			async () => {
				const learner = (await dashboard()).learners[0]!;
				expect(learner.step).toEqual({ order: 3, title: 'Установка keepalived' });
			},
			{ timeout: 20_000, interval: 200 },
		);
		expect((await dashboard()).learners[1]!.step).toBeNull();
	});

	it('lets the instructor watch a terminal read-only', async () => {
		const anna = learners[0]!.lab;
		const url = `${ws}/api/labs/${anna.id}/terminals/hap1`;

		// Nobody has opened hap2 yet: a viewer does not start it.
		const early = new TerminalClient(`${ws}/api/labs/${anna.id}/terminals/hap2`, {
			token: workshop.instructorToken,
			view: true,
		});
		expect((await early.closed).code).toBe(4015);
		expect(early.errors[0]?.code).toBe('not-started');

		const learner = new TerminalClient(url, { token: anna.token });
		await learner.waitFor('ubuntu@hap1:~$');
		// The learner's token cannot watch, nothing cannot, another learner's neither.
		expect(await new TerminalClient(url, { token: anna.token, view: true }).refused()).toBe(403);
		expect(await new TerminalClient(url, { view: true }).refused()).toBe(401);

		// The cookie, as a browser would have it after `instructor-session`.
		const session = await fetch(`${base}/api/workshops/${workshop.id}/instructor-session`, {
			method: 'POST',
			headers: instructor(),
		});
		expect(session.status).toBe(204);
		const cookie = session.headers.getSetCookie()[0]!;
		expect(cookie).toMatch(new RegExp(`^klab_instructor_${workshop.id}=.*Path=/api.*HttpOnly`));
		const byCookie = await new Promise<number>((resolve) => {
			const socket = new WebSocket(`${url}?term=main&view=1`, {
				headers: { cookie: cookie.split(';')[0]! },
			});
			socket.on('open', () => {
				socket.close();
				resolve(101);
			});
			socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
		});
		expect(byCookie).toBe(101);

		const watcher = new TerminalClient(url, { token: workshop.instructorToken, view: true });
		await watcher.waitFor('ubuntu@hap1:~$'); // the backlog from the ring
		learner.type('echo "seen-by-$((6*7))"\r');
		await watcher.waitFor('seen-by-42');
		watcher.type('touch /tmp/viewer-was-here\r');
		watcher.send({ op: 'resize', cols: 50, rows: 10 });
		await vi.waitFor(() => expect(watcher.errors).toHaveLength(2));
		expect(watcher.errors[0]).toEqual({
			op: 'error',
			code: 'read-only',
			message: 'Только просмотр: вводить команды можно, когда слушатель разрешит доступ к вводу.',
		});
		learner.type('ls /tmp/viewer-was-here 2>&1 | tail -1; stty size\r');
		await learner.waitFor('No such file');
		await learner.waitFor('40 120');

		const view = await dashboard();
		expect(Date.parse(view.learners[0]!.lastActivity!)).toBeGreaterThan(Date.now() - 60_000);
		expect(view.learners[1]!.lastActivity).toBeNull();

		learner.ws.close(1000);
		// The learner closed the terminal: the shell ended, the viewer is told.
		expect((await watcher.closed).code).toBe(4011);
	});

	it('keeps the dashboard for the instructor only', async () => {
		const anna = learners[0]!.lab;
		const asLearner = await fetch(`${base}/api/workshops/${workshop.id}`, {
			headers: { authorization: `Bearer ${anna.token}` },
		});
		expect(asLearner.status).toBe(403);
		expect((await fetch(`${base}/api/workshops/${workshop.id}`)).status).toBe(401);
		const bySecret = await fetch(`${base}/api/workshops/${workshop.id}`, {
			headers: { authorization: `Bearer ${SECRET}` },
		});
		expect(bySecret.status).toBe(200);
	});

	it('resets a learner lab and extends every lab', async () => {
		const borisLab = learners[1]!.lab;
		const reset = await fetch(`${base}/api/workshops/${workshop.id}/labs/${borisLab.id}/reset`, {
			method: 'POST',
			headers: instructor({ 'content-type': 'application/json' }),
			body: JSON.stringify({ node: 'hap2' }),
		});
		expect(reset.status, await reset.clone().text()).toBe(200);
		const foreign = await fetch(`${base}/api/workshops/${workshop.id}/labs/zzzzzzzzzz/reset`, {
			method: 'POST',
			headers: instructor(),
		});
		expect(foreign.status).toBe(404);
		const extend = await fetch(`${base}/api/workshops/${workshop.id}/extend`, {
			method: 'POST',
			headers: instructor(),
		});
		// Labs just started are at their TTL already; extending is refused per lab, not for all.
		expect(extend.status).toBe(200);
	});

	it('ends the workshop and leaves nothing in Docker', async () => {
		const ids = learners.map((l) => l.lab.id);
		const res = await fetch(`${base}/api/workshops/${workshop.id}`, {
			method: 'DELETE',
			headers: instructor(),
		});
		expect(res.status).toBe(204);
		expect((await workshopContainers(workshop.id)).size).toBe(0);
		const left = await listLabResources(docker);
		for (const id of ids) expect(left.has(id)).toBe(false);
		expect(
			(await fetch(`${base}/api/workshops/${workshop.id}`, { headers: instructor() })).status,
		).toBe(404);
		expect((await join('Поздно')).status).toBe(404);
	});

	it('answers 503 workshops-disabled without INSTRUCTOR_SECRET', async () => {
		const dir = await mkdtemp(path.join(tmpdir(), 'klab-noworkshop-'));
		const plain = createLabServer({
			config: testConfig({ STATE_DIR: dir }),
			log,
			image: inject('nodeImage'),
			siteDir: null,
			docker,
		});
		const { port } = await plain.start();
		try {
			const res = await fetch(`http://127.0.0.1:${port}/api/workshops`, {
				method: 'POST',
				headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
				body: '{"pool":1}',
			});
			expect(res.status).toBe(503);
			const body = await errorOf(res);
			expect(body.code).toBe('workshops-disabled');
			expect(body.message).toMatch(/INSTRUCTOR_SECRET/);
		} finally {
			await plain.stop();
			await rm(dir, { recursive: true, force: true });
		}
	});
});

describe('workshop pool across idleness and a restart', () => {
	it('never reaps a pooled lab as idle, and keeps workshops and learners over a restart', async () => {
		const stateDir = await mkdtemp(path.join(tmpdir(), 'klab-workshop-restart-'));
		const clock = new ManualClock(Date.now());
		const make = (port = '0') =>
			createLabServer({
				config: testConfig({
					PORT: port,
					STATE_DIR: stateDir,
					INSTRUCTOR_SECRET: SECRET,
					LAB_IDLE_MINUTES: '1',
				}),
				log,
				image: inject('nodeImage'),
				siteDir: null,
				docker,
				clock,
			});
		let server = make();
		const { port } = await server.start();
		const base = `http://127.0.0.1:${port}`;
		try {
			const created = await fetch(`${base}/api/workshops`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
				body: JSON.stringify({ pool: 1, seats: 2 }),
			});
			const workshop = (await created.json()) as {
				id: string;
				code: string;
				instructorToken: string;
			};
			const dashboard = async () =>
				(await (
					await fetch(`${base}/api/workshops/${workshop.id}`, {
						headers: { authorization: `Bearer ${workshop.instructorToken}` },
					})
				).json()) as WorkshopView;
			await vi.waitFor(async () => expect((await dashboard()).pool.ready).toBe(1), {
				timeout: 60_000,
				interval: 200,
			});
			clock.advance(5 * 60_000);
			expect(await server.labs.reap()).toEqual([]);

			const joined = await fetch(`${base}/api/workshops/${workshop.code}/join`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ name: 'Ева' }),
			});
			expect(joined.status).toBe(201);
			const lab = (await joined.json()) as LabJson;
			const cookie = joined.headers
				.getSetCookie()
				.find((c) => c.startsWith('klab_session='))!
				.split(';')[0]!;
			await vi.waitFor(async () => expect((await dashboard()).pool.ready).toBe(1), {
				timeout: 60_000,
				interval: 200,
			});

			await server.stop();
			server = make(port.toString());
			await server.start();
			const view = await dashboard();
			expect(view.learners.map((l) => [l.name, l.labId])).toEqual([['Ева', lab.id]]);
			expect(view.pool).toEqual({ ready: 1, starting: 0 });
			const again = await fetch(`${base}/api/workshops/${workshop.code}/join`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', cookie },
				body: JSON.stringify({ name: 'Ева' }),
			});
			expect(again.status).toBe(200);
			expect(await again.json()).toMatchObject({ id: lab.id, token: lab.token });
			const end = await fetch(`${base}/api/workshops/${workshop.id}`, {
				method: 'DELETE',
				headers: { authorization: `Bearer ${workshop.instructorToken}` },
			});
			expect(end.status).toBe(204);
			expect((await workshopContainers(workshop.id)).size).toBe(0);
		} finally {
			await server.stop();
			for (const l of server.labs.list()) await server.labs.end(l, 'deleted');
			await rm(stateDir, { recursive: true, force: true });
		}
	});
});
