/**
 * The live dashboard (`GET /api/workshops/:id/events`) on real Docker and a real server on port
 * 0: the whole view first, a join and the pool's refill, a learner's step change arriving as one
 * row, the cookie a dashboard page has, the stream limit, refusals, and `ended` when the workshop
 * ends — with no listener left on the labs.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
	LAB_EVENT_NAMES,
	workshopEventsPath,
	type CreatedLab,
	type CheckResult,
	type CreatedWorkshop,
	type LearnerView,
	type WorkshopHead,
	type WorkshopView,
} from '../src/api';
import { connectDocker, execInNode } from '../src/docker/engine';
import { courseSteps } from '../src/course/steps';
import { MAX_STREAMS_PER_WORKSHOP, openWorkshopStreams } from '../src/http/workshop-sse';
import type { Lab } from '../src/labs/lab';
import { errorOf } from '../testing/http';
import { readSse, type SseReader } from '../testing/sse-reader';
import { startTestServer, type TestServer } from '../testing/test-server';

const docker = connectDocker(inject('dockerSocket'));
const SECRET = 'test-instructor-secret-0123456789';

const listeners = (lab: Lab) =>
	LAB_EVENT_NAMES.reduce((n, name) => n + lab.events.listenerCount(name), 0);

describe('live workshop dashboard', () => {
	let t: TestServer;
	let workshop: CreatedWorkshop;
	let stream: SseReader;
	let learner: CreatedLab;
	let lab: Lab;
	let quiet: number;

	beforeAll(async () => {
		t = await startTestServer({
			docker,
			image: inject('nodeImage'),
			env: { INSTRUCTOR_SECRET: SECRET },
		});
	});
	afterAll(async () => {
		stream?.close();
		await t.stop();
	});

	const events = () => `${t.base}${workshopEventsPath(workshop.id)}`;

	it('streams the whole view first to the dashboard page’s cookie, then the pool filling', async () => {
		const created = await fetch(`${t.base}/api/workshops`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
			body: JSON.stringify({ pool: 1, seats: 2 }),
		});
		expect(created.status).toBe(201);
		workshop = (await created.json()) as CreatedWorkshop;
		// What the page opened with `#<id>.<token>` does first: the cookie EventSource will send.
		const session = await fetch(`${t.base}/api/workshops/${workshop.id}/instructor-session`, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				authorization: `Bearer ${workshop.instructorToken}`,
			},
			body: '{}',
		});
		expect(session.status).toBe(204);
		const cookie = session.headers.getSetCookie()[0]!.split(';')[0]!;
		expect(cookie).toMatch(new RegExp(`^klab_instructor_${workshop.id}=`));

		stream = await readSse(events(), { cookie });
		expect(stream.status).toBe(200);
		const first = await stream.next(() => true);
		expect(first.event).toBe('workshop');
		expect((first.data as WorkshopView).learners).toEqual([]);
		await stream.next((e) => e.event === 'head' && (e.data as WorkshopHead).pool.ready === 1, {
			timeoutMs: 90_000,
		});
	});

	it('tells of a join, then of a learner opening another step, as one row', async () => {
		const from = stream.events.length;
		const joined = await fetch(`${t.base}/api/workshops/${workshop.code}/join`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ name: 'Анна' }),
		});
		expect(joined.status).toBe(201);
		learner = (await joined.json()) as CreatedLab;
		lab = t.server.labs.get(learner.id)!;
		const row = await stream.next((e) => e.event === 'learner', { from });
		expect(row.data).toMatchObject({ name: 'Анна', labId: learner.id, viewing: null });
		const head = await stream.next((e) => e.event === 'head', { from });
		expect((head.data as WorkshopHead).labIds).toEqual([learner.id]);
		expect(stream.events.indexOf(row)).toBeLessThan(stream.events.indexOf(head));

		const step = courseSteps()[2]!;
		const at = stream.events.length;
		const t0 = performance.now();
		const put = await fetch(`${t.base}/api/labs/${learner.id}/viewing`, {
			method: 'PUT',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${learner.token}` },
			body: JSON.stringify({ step: step.slug }),
		});
		expect(put.status).toBe(204);
		const update = await stream.next(
			(e) => e.event === 'learner' && (e.data as LearnerView).viewing?.slug === step.slug,
			{ from: at },
		);
		console.log(`[measure] PUT viewing → dashboard row: ${(update.at - t0).toFixed(1)} ms`);
		expect(update.bytes).toBeLessThan(2_000);
		// Only that row: no whole view per change.
		expect(stream.events.slice(at).some((e) => e.event === 'workshop')).toBe(false);
		expect(listeners(lab)).toBeGreaterThanOrEqual(LAB_EVENT_NAMES.length);
	});

	it('tells of a check that passes as that learner’s row, at once', async () => {
		const install = async (node: 'hap1' | 'hap2') => {
			const result = await execInNode(
				docker,
				lab.containers[node],
				['bash', '-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq keepalived'],
				{ timeoutMs: 120_000 },
			);
			expect(result.exitCode, result.stderr).toBe(0);
		};
		/**
		 * «Проверить», as the learner's page asks, until the stream has the row `match` wants
		 * since `from` (a run the watcher began before the install ended answers first with what
		 * it saw; and the watcher may run by itself once the install starts keepalived's unit, so
		 * the row can come before the first «Проверить»: `from` is taken before the install).
		 */
		const checkUntil = async (from: number, match: (row: LearnerView) => boolean) => {
			for (let i = 0; ; i++) {
				const res = await fetch(`${t.base}/api/labs/${learner.id}/checks`, {
					headers: { authorization: `Bearer ${learner.token}` },
				});
				expect(res.status).toBe(200);
				try {
					return await stream.next((e) => e.event === 'learner' && match(e.data as LearnerView), {
						from,
						timeoutMs: 2_000,
					});
				} catch (error) {
					if (i >= 15) throw error;
				}
			}
		};
		/** When the lab's `install` check last turned to `status`. */
		const turned = new Map<string, number>();
		const onCheck = (result: CheckResult) => {
			if (result.id === 'install') turned.set(result.status, performance.now());
		};
		lab.events.on('check', onCheck);

		const beforeHap1 = stream.events.length;
		await install('hap1');
		// Only hap2 is left: the message names it (before any install it names neither node).
		const half = await checkUntil(
			beforeHap1,
			(row) => row.failing?.id === 'install' && row.failing.message.includes('hap2'),
		);
		expect((half.data as LearnerView).failing!.message).toContain('hap2');
		console.log(
			`[measure] check failed → dashboard row: ${(half.at - turned.get('fail')!).toFixed(1)} ms`,
		);

		const beforeHap2 = stream.events.length;
		await install('hap2');
		const passed = await checkUntil(beforeHap2, (row) => row.step !== null);
		expect((passed.data as LearnerView).failing?.id).not.toBe('install');
		console.log(
			`[measure] check passed → dashboard row: ${(passed.at - turned.get('pass')!).toFixed(1)} ms`,
		);
		lab.events.off('check', onCheck);
	});

	it(`refuses a stream past ${MAX_STREAMS_PER_WORKSHOP}, and callers without the key`, async () => {
		expect((await fetch(events())).status).toBe(401);
		const wrong = await fetch(events(), { headers: { authorization: 'Bearer nope' } });
		expect(wrong.status).toBe(403);
		const more: SseReader[] = [];
		for (let i = 1; i < MAX_STREAMS_PER_WORKSHOP; i++) {
			more.push(await readSse(events(), { authorization: `Bearer ${workshop.instructorToken}` }));
		}
		expect(more.map((s) => s.status)).toEqual(more.map(() => 200));
		const over = await fetch(events(), {
			headers: { authorization: `Bearer ${workshop.instructorToken}` },
		});
		expect(over.status).toBe(429);
		expect((await errorOf(over)).code).toBe('too-many-streams');
		const withAll = listeners(lab);
		for (const s of more) s.close();
		await vi.waitFor(() => expect(openWorkshopStreams(workshop.id)).toBe(1), {
			timeout: 5_000,
			interval: 20,
		});
		quiet = listeners(lab);
		// Each stream held one listener per event name on the lab, and let go of them on close.
		expect(withAll - quiet).toBe(more.length * LAB_EVENT_NAMES.length);
	});

	it('closes a signed-in instructor’s stream when they sign out', async () => {
		const signIn = await fetch(`${t.base}/api/instructor/session`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ secret: SECRET }),
		});
		expect(signIn.status).toBe(200);
		const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
		const signedIn = await readSse(events(), { cookie });
		expect(signedIn.status).toBe(200);
		await signedIn.next((e) => e.event === 'workshop');
		const out = await fetch(`${t.base}/api/instructor/session`, {
			method: 'DELETE',
			headers: { cookie },
		});
		expect(out.status).toBe(204);
		await signedIn.closed;
		expect((await fetch(events(), { headers: { cookie } })).status).toBe(401);
		// The other instructor's stream, opened with the workshop's own key, goes on.
		await vi.waitFor(() => expect(openWorkshopStreams(workshop.id)).toBe(1), {
			timeout: 5_000,
			interval: 20,
		});
	});

	it('says `ended` when the workshop ends, closes, and leaves no listener behind', async () => {
		const res = await fetch(`${t.base}/api/workshops/${workshop.id}`, {
			method: 'DELETE',
			headers: { authorization: `Bearer ${workshop.instructorToken}` },
		});
		expect(res.status).toBe(204);
		await stream.next((e) => e.event === 'ended');
		await stream.closed;
		expect(openWorkshopStreams(workshop.id)).toBe(0);
		// The last stream's listeners went with it (the server's own went with the lab's end).
		expect(listeners(lab)).toBeLessThanOrEqual(quiet - LAB_EVENT_NAMES.length);
	});
});
