/**
 * «Позвать преподавателя» and the consented takeover on a real server on port 0 with real labs:
 * the hand raised and lowered (on the dashboard, one event each, rate-limited); the instructor's
 * viewer refused input before the learner's consent (nothing reaches the shell), heard after it,
 * refused again after either side ends it and after a refusal; an unanswered ask lapsing; a reset
 * ending a takeover; and hostile calls refused with nothing changed.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type {
	CreatedLab,
	HelpEvent,
	LabView,
	LearnerView,
	TakeoverEvent,
	WorkshopView,
} from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { errorOf } from '../testing/http';
import { TerminalClient } from '../testing/terminal-client';
import { startTestServer, type TestServer } from '../testing/test-server';

const docker = connectDocker(inject('dockerSocket'));
const SECRET = 'test-instructor-secret-0123456789';
const JSON_TYPE = { 'content-type': 'application/json' };
/** Short, so the lapse is tested by waiting for it, not long enough to race the answers. */
const ASK_SECONDS = 3;
/** As short, for a granted takeover whose instructor closed the view. */
const UNWATCHED_SECONDS = 2;

describe('the raised hand and the consented takeover', () => {
	let t: TestServer;
	let workshop: { id: string; code: string; instructorToken: string };
	let other: { id: string; instructorToken: string };
	let lab: CreatedLab;
	let learner: TerminalClient;
	let viewer: TerminalClient;
	const help: HelpEvent[] = [];
	const takeovers: TakeoverEvent[] = [];

	const call = (method: string, url: string, token: string, body?: unknown) =>
		fetch(`${t.base}${url}`, {
			method,
			headers: { ...JSON_TYPE, authorization: `Bearer ${token}` },
			...(body === undefined ? {} : { body: JSON.stringify(body) }),
		});
	const asLearner = (method: string, rest: string, body?: unknown, token = lab.token) =>
		call(method, `/api/labs/${lab.id}${rest}`, token, body);
	const asInstructor = (method: string, rest: string, token = workshop.instructorToken) =>
		call(method, `/api/workshops/${workshop.id}${rest}`, token);
	const ask = (token?: string) => asInstructor('POST', `/learners/${lab.id}/takeover`, token);
	const endByInstructor = () => asInstructor('DELETE', `/learners/${lab.id}/takeover`);
	const row = async (): Promise<LearnerView> => {
		const res = await asInstructor('GET', '');
		expect(res.status).toBe(200);
		return ((await res.json()) as WorkshopView).learners.find((l) => l.labId === lab.id)!;
	};
	const labHelp = async () => ((await (await asLearner('GET', '')).json()) as LabView).help;

	/** The viewer types a marker; refused: an ERROR `read-only`, and the shell never sees it. */
	const refused = async (marker: string) => {
		const errors = viewer.errors.length;
		viewer.type(`echo ${marker}-$((40+2))\r`);
		await vi.waitFor(() => expect(viewer.errors.length).toBe(errors + 1));
		expect(viewer.errors.at(-1)?.code).toBe('read-only');
		// A fence the learner types after the refusal came back: the marker would be before it.
		const fence = `fence-${marker}`;
		learner.type(`echo ${fence}-$((1+1))\r`);
		await learner.waitFor(`${fence}-2`);
		expect(learner.output).not.toContain(`${marker}-42`);
	};
	/** The learner's `GET …/events` stream, as the page reads it: its `takeover` events. */
	const learnerEvents = async () => {
		const controller = new AbortController();
		const seen: TakeoverEvent[] = [];
		// Once the answer's head is here, the server listens (http/sse.ts subscribes as it answers).
		const res = await fetch(`${t.base}/api/labs/${lab.id}/events`, {
			headers: { authorization: `Bearer ${lab.token}` },
			signal: controller.signal,
		});
		expect(res.status).toBe(200);
		void (async () => {
			const decoder = new TextDecoder();
			let text = '';
			try {
				for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
					text += decoder.decode(chunk, { stream: true });
					const blocks = text.split('\n\n');
					text = blocks.pop()!;
					for (const block of blocks) {
						const data = /^event: takeover\ndata: (.*)$/m.exec(block)?.[1];
						if (data) seen.push(JSON.parse(data) as TakeoverEvent);
					}
				}
			} catch {
				// Aborted by stop().
			}
		})();
		return { takeovers: () => seen, stop: () => controller.abort() };
	};
	/** The viewer types a marker and the learner's terminal shows the shell ran it. */
	const heard = async (marker: string) => {
		viewer.type(`echo ${marker}-$((40+2))\r`);
		await learner.waitFor(`${marker}-42`);
	};

	beforeAll(async () => {
		t = await startTestServer({
			docker,
			image: inject('nodeImage'),
			log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
			env: {
				INSTRUCTOR_SECRET: SECRET,
				TAKEOVER_ASK_SECONDS: String(ASK_SECONDS),
				TAKEOVER_UNWATCHED_SECONDS: String(UNWATCHED_SECONDS),
				NODE_DISK_QUOTA: 'watch',
			},
		});
		const create = async (title: string) => {
			const res = await call('POST', '/api/workshops', SECRET, { title, pool: 1, seats: 1 });
			expect(res.status).toBe(201);
			return (await res.json()) as typeof workshop;
		};
		workshop = await create('Группа');
		other = await create('Другая группа');
		await vi.waitFor(
			async () => {
				const view = (await (await asInstructor('GET', '')).json()) as WorkshopView;
				expect(view.pool.ready).toBe(1);
			},
			{ timeout: 120_000, interval: 250 },
		);
		const joined = await fetch(`${t.base}/api/workshops/${workshop.code}/join`, {
			method: 'POST',
			headers: JSON_TYPE,
			body: JSON.stringify({ name: 'Анна' }),
		});
		expect(joined.status).toBe(201);
		lab = (await joined.json()) as CreatedLab;
		const events = t.server.labs.get(lab.id)!.events;
		events.on('help', (e) => help.push(e));
		events.on('takeover', (e) => takeovers.push(e));
		const url = `${t.wsBase}/api/labs/${lab.id}/terminals/hap1`;
		learner = new TerminalClient(url, { token: lab.token });
		await learner.waitFor('ubuntu@hap1:~$', 30_000);
		viewer = new TerminalClient(url, { token: workshop.instructorToken, view: true });
		await viewer.waitFor('ubuntu@hap1:~$');
	});
	afterAll(async () => {
		learner?.ws.close();
		viewer?.ws.close();
		await t?.stop();
	});

	it('raises the hand with a message, shows it on the dashboard and in the lab, and lowers it', async () => {
		expect((await row()).hand).toBeNull();
		expect(await labHelp()).toEqual({ hand: null, takeover: null });

		const raised = await asLearner('POST', '/help', { message: '  Не поднимается VIP на hap1 ' });
		expect(raised.status).toBe(204);
		const { hand } = await row();
		expect(hand).toEqual({ message: 'Не поднимается VIP на hap1', at: expect.any(String) });
		expect(Date.now() - Date.parse(hand!.at)).toBeLessThan(60_000);
		expect((await labHelp())?.hand?.message).toBe('Не поднимается VIP на hap1');
		expect(help).toEqual([{ raised: true, message: 'Не поднимается VIP на hap1', at: hand!.at }]);

		expect((await asLearner('DELETE', '/help')).status).toBe(204);
		expect((await row()).hand).toBeNull();
		// Lowering a lowered hand changes nothing and says nothing.
		expect((await asLearner('DELETE', '/help')).status).toBe(204);
		expect(help.map((e) => e.raised)).toEqual([true, false]);

		// Without a message (an empty one is none).
		expect((await asLearner('POST', '/help', {})).status).toBe(204);
		expect((await row()).hand?.message).toBeNull();
		expect((await asLearner('POST', '/help', { message: '   ' })).status).toBe(204);
		expect(help.at(-1)).toMatchObject({ raised: true, message: null });
	});

	it('refuses hostile hands, and nothing changes', async () => {
		const before = await row();
		const events = help.length;
		expect(before.hand).not.toBeNull();
		const bad: [unknown, number, RegExp][] = [
			[
				{ message: 'я'.repeat(201) },
				400,
				/^Некорректный запрос: message: expected at most 200 characters/,
			],
			[{ message: 'строка\nещё одна' }, 400, /без управляющих символов/],
			[{ message: 'цвет \u001b[31m' }, 400, /без управляющих символов/],
			[{ message: 'abc\u202edcba' }, 400, /без управляющих символов/],
			[{ message: 42 }, 400, /message/],
			[{ message: 'ok', extra: true }, 400, /extra/],
		];
		for (const [body, status, message] of bad) {
			const res = await asLearner('POST', '/help', body);
			expect(res.status, JSON.stringify(body)).toBe(status);
			expect((await errorOf(res)).message).toMatch(message);
		}
		// Another lab's token, and none.
		const stranger = await t.createLab();
		expect((await asLearner('POST', '/help', {}, stranger.token)).status).toBe(403);
		expect((await fetch(`${t.base}/api/labs/${lab.id}/help`, { method: 'POST' })).status).toBe(401);
		// A self-paced lab has nobody to call, nor anybody to answer.
		const selfPaced = (method: string, rest: string, body?: unknown) =>
			call(method, `/api/labs/${stranger.id}${rest}`, stranger.token, body);
		for (const res of [
			await selfPaced('POST', '/help', { message: 'помогите' }),
			await selfPaced('DELETE', '/help'),
			await selfPaced('POST', '/takeover', { allow: true }),
		]) {
			expect(res.status).toBe(409);
			expect(await errorOf(res)).toEqual({
				code: 'not-in-workshop',
				message: 'Стенд не в занятии: звать некого. Позвать преподавателя можно только на занятии.',
			});
		}
		expect(((await (await selfPaced('GET', '')).json()) as LabView).help).toBeNull();
		const after = await row();
		expect([after.hand, after.takeover]).toEqual([before.hand, before.takeover]);
		expect(help).toHaveLength(events);
	});

	it('rate-limits a hand toggled in a loop', async () => {
		const from = help.length;
		const statuses: number[] = [];
		for (let i = 0; i < 20; i++) {
			const res = await asLearner(i % 2 ? 'POST' : 'DELETE', '/help', i % 2 ? {} : undefined);
			statuses.push(res.status);
			if (res.status === 429) {
				expect(res.headers.get('retry-after')).toBe('10');
				expect((await errorOf(res)).code).toBe('too-many-hands');
			}
		}
		// A few pass (the burst, less what the earlier tests took), then every one is refused.
		const passed = statuses.filter((s) => s === 204).length;
		expect(passed).toBeGreaterThan(0);
		expect(passed).toBeLessThanOrEqual(6);
		expect(statuses.slice(-10).every((s) => s === 429)).toBe(true);
		expect(help.length - from).toBe(passed);
	});

	it('refuses the instructor input until the learner allows it, and again after either ends it', async () => {
		// The learner's page hears of each change on its own event stream.
		const stream = await learnerEvents();
		await refused('before-consent');
		expect((await row()).takeover).toBeNull();

		// The learner cannot answer what nobody asked.
		const early = await asLearner('POST', '/takeover', { allow: true });
		expect(early.status).toBe(409);
		expect((await errorOf(early)).code).toBe('no-takeover-ask');
		expect(takeovers).toEqual([]);

		const asked = await ask();
		expect(asked.status).toBe(202);
		expect(await asked.json()).toEqual({ takeover: 'asked' });
		expect((await row()).takeover).toBe('asked');
		expect((await labHelp())?.takeover).toBe('asked');
		expect((await ask()).status).toBe(409);
		// Asked is not allowed.
		await refused('while-asked');

		const allowed = await asLearner('POST', '/takeover', { allow: true });
		expect(allowed.status).toBe(200);
		expect(await allowed.json()).toEqual({ takeover: 'allowed' });
		expect((await row()).takeover).toBe('allowed');
		await heard('after-consent');
		// The learner's window keeps the size.
		const errors = viewer.errors.length;
		viewer.send({ op: 'resize', cols: 50, rows: 10 });
		await vi.waitFor(() => expect(viewer.errors.length).toBe(errors + 1));
		expect(viewer.errors.at(-1)?.code).toBe('read-only');

		// The learner ends it: the viewer is told, and refused from the next keystroke on.
		expect((await asLearner('DELETE', '/takeover')).status).toBe(204);
		await vi.waitFor(() => expect(viewer.errors.at(-1)?.code).toBe('takeover-ended'));
		expect(viewer.errors.at(-1)?.message).toMatch(/^Слушатель прекратил доступ к вводу/);
		await refused('after-learner-end');
		expect((await row()).takeover).toBe('ended');

		// Again, and the instructor ends it.
		expect((await ask()).status).toBe(202);
		expect((await asLearner('POST', '/takeover', { allow: true })).status).toBe(200);
		await heard('second-consent');
		expect((await endByInstructor()).status).toBe(204);
		await vi.waitFor(() => expect(viewer.errors.at(-1)?.code).toBe('takeover-ended'));
		await refused('after-instructor-end');
		// Ending what has ended changes nothing.
		expect((await endByInstructor()).status).toBe(204);
		expect((await asLearner('DELETE', '/takeover')).status).toBe(204);

		expect(takeovers.map(({ state, by }) => `${state}/${by}`)).toEqual([
			'asked/instructor',
			'allowed/learner',
			'ended/learner',
			'asked/instructor',
			'allowed/learner',
			'ended/instructor',
		]);
		// The viewer went on watching all along.
		expect(viewer.ws.readyState).toBe(viewer.ws.OPEN);
		await vi.waitFor(() => expect(stream.takeovers()).toHaveLength(6));
		expect(stream.takeovers()).toEqual(takeovers);
		stream.stop();
	});

	it('keeps the terminal read-only when the learner refuses', async () => {
		const from = takeovers.length;
		expect((await ask()).status).toBe(202);
		const no = await asLearner('POST', '/takeover', { allow: false });
		expect(no.status).toBe(200);
		expect(await no.json()).toEqual({ takeover: 'refused' });
		expect((await row()).takeover).toBe('refused');
		await refused('after-refusal');
		// One answer per ask.
		expect((await asLearner('POST', '/takeover', { allow: true })).status).toBe(409);
		for (const body of [{}, { allow: 'yes' }, { allow: true, more: 1 }]) {
			expect((await asLearner('POST', '/takeover', body)).status).toBe(400);
		}
		await refused('after-late-yes');
		expect(takeovers.slice(from).map((e) => e.state)).toEqual(['asked', 'refused']);
	});

	it('lets an unanswered ask lapse', async () => {
		const from = takeovers.length;
		expect((await ask()).status).toBe(202);
		await vi.waitFor(async () => expect((await row()).takeover).toBe('ended'), {
			timeout: (ASK_SECONDS + 10) * 1000,
			interval: 200,
		});
		expect(takeovers.slice(from).map(({ state, by }) => `${state}/${by}`)).toEqual([
			'asked/instructor',
			'ended/server',
		]);
		const [askedAt, endedAt] = takeovers.slice(from).map((e) => Date.parse(e.at));
		// Timers may fire a millisecond early by the wall clock.
		expect(endedAt! - askedAt!).toBeGreaterThanOrEqual(ASK_SECONDS * 1000 - 50);
		expect((await asLearner('POST', '/takeover', { allow: true })).status).toBe(409);
		await refused('after-lapse');
	});

	it('refuses another workshop, another lab and unknown learners, and nothing changes', async () => {
		const before = takeovers.length;
		// Another workshop's instructor: not on this workshop, nor this learner through theirs.
		expect((await ask(other.instructorToken)).status).toBe(403);
		const theirs = await call(
			'POST',
			`/api/workshops/${other.id}/learners/${lab.id}/takeover`,
			other.instructorToken,
		);
		expect(theirs.status).toBe(404);
		const unknown = await asInstructor('POST', '/learners/zzzzzzzzzz/takeover');
		expect(unknown.status).toBe(404);
		// The learner's own token is not the instructor's.
		expect((await ask(lab.token)).status).toBe(403);
		// Nor may the viewer's watcher be anybody but the workshop's instructor.
		const url = `${t.wsBase}/api/labs/${lab.id}/terminals/hap1`;
		expect(
			await new TerminalClient(url, { token: other.instructorToken, view: true }).refused(),
		).toBe(403);
		expect(takeovers).toHaveLength(before);
		expect((await row()).takeover).toBe('ended');
	});

	it('ends a granted takeover once no instructor view is open, and not while one is', async () => {
		const from = takeovers.length;
		expect((await ask()).status).toBe(202);
		expect((await asLearner('POST', '/takeover', { allow: true })).status).toBe(200);
		await heard('watched');
		// A second view opens, the first closes: one view still watches past the grace.
		const url = `${t.wsBase}/api/labs/${lab.id}/terminals/hap1`;
		const second = new TerminalClient(url, { token: workshop.instructorToken, view: true });
		await second.waitFor('ubuntu@hap1:~$');
		viewer.ws.close();
		await new Promise((resolve) => setTimeout(resolve, (UNWATCHED_SECONDS + 1) * 1000));
		expect((await row()).takeover).toBe('allowed');
		// The last view closes (a closed tab): the rights end by themselves.
		second.ws.close();
		await vi.waitFor(async () => expect((await row()).takeover).toBe('ended'), {
			timeout: (UNWATCHED_SECONDS + 10) * 1000,
			interval: 200,
		});
		expect(takeovers.slice(from).map(({ state, by }) => `${state}/${by}`)).toEqual([
			'asked/instructor',
			'allowed/learner',
			'ended/server',
		]);
		viewer = new TerminalClient(url, { token: workshop.instructorToken, view: true });
		await viewer.waitFor('ubuntu@hap1:~$');
		await refused('unwatched');
	});

	it('ends a takeover when the lab is reset', async () => {
		const from = takeovers.length;
		expect((await ask()).status).toBe(202);
		expect((await asLearner('POST', '/takeover', { allow: true })).status).toBe(200);
		await heard('before-reset');
		const reset = await asInstructor('POST', `/labs/${lab.id}/reset`);
		expect(reset.status).toBe(200);
		await vi.waitFor(() => expect(takeovers.length).toBe(from + 3));
		expect(takeovers.slice(from).map(({ state, by }) => `${state}/${by}`)).toEqual([
			'asked/instructor',
			'allowed/learner',
			'ended/server',
		]);
		expect((await row()).takeover).toBe('ended');
	});
});
