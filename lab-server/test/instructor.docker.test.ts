/**
 * The instructor's sign-in on real servers on port 0: `INSTRUCTOR_SECRET` once, a session cookie
 * after (its attributes, plain and behind a TLS proxy), workshops created, listed and run with
 * it, cross-site use refused, sign-out, guessing locked out per address (429), workshops off
 * without a secret (503); and a learner's page saying which step it has open (`PUT …/viewing`),
 * which the dashboard shows, hostile bodies refused.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { CreatedLab, InstructorSession, WorkshopSummary, WorkshopView } from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { MAX_FAILURES } from '../src/workshops/instructor-sessions';
import { errorOf } from '../testing/http';
import { startTestServer, type TestServer } from '../testing/test-server';

const docker = connectDocker(inject('dockerSocket'));
const SECRET = 'test-instructor-secret-0123456789';
const JSON_TYPE = { 'content-type': 'application/json' };

function start(env: Record<string, string>): Promise<TestServer> {
	return startTestServer({
		docker,
		image: inject('nodeImage'),
		log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
		// No storage-quota probe container: these servers start no lab but one.
		env: { NODE_DISK_QUOTA: 'watch', ...env },
	});
}

/** `POST /api/instructor/session`, from `address` when the server trusts a proxy. */
function signIn(base: string, secret: string, headers: Record<string, string> = {}) {
	return fetch(`${base}/api/instructor/session`, {
		method: 'POST',
		headers: { ...JSON_TYPE, ...headers },
		body: JSON.stringify({ secret }),
	});
}

/** The `name=value` part of the response's cookie named like `name`. */
function cookieOf(res: Response, name: RegExp): { pair: string; header: string } {
	const header = res.headers.getSetCookie().find((c) => name.test(c.split('=')[0]!));
	if (!header) throw new Error(`no ${String(name)} cookie in ${res.headers.getSetCookie()}`);
	return { pair: header.split(';')[0]!, header };
}

describe('the instructor signed in with a cookie', () => {
	let t: TestServer;
	let cookie: string;
	let workshop: { id: string; code: string; instructorToken: string };
	const session = async (extra: Record<string, string> = {}) => {
		const res = await fetch(`${t.base}/api/instructor/session`, { headers: extra });
		expect(res.status).toBe(200);
		return (await res.json()) as InstructorSession;
	};

	beforeAll(async () => {
		t = await start({ INSTRUCTOR_SECRET: SECRET });
	});
	afterAll(() => t?.stop());

	it('signs in with the secret only, and the cookie is httpOnly, SameSite=Strict, for /api', async () => {
		expect(await session()).toEqual({ signedIn: false, expiresAt: null });

		const wrong = await signIn(t.base, 'x'.repeat(SECRET.length));
		expect(wrong.status).toBe(403);
		expect(await errorOf(wrong)).toEqual({
			code: 'forbidden',
			message: 'Секрет преподавателя не подходит.',
		});
		expect(wrong.headers.getSetCookie()).toEqual([]);
		const empty = await fetch(`${t.base}/api/instructor/session`, {
			method: 'POST',
			headers: JSON_TYPE,
			body: '{}',
		});
		expect(empty.status).toBe(400);

		const before = Date.now();
		const ok = await signIn(t.base, SECRET);
		expect(ok.status).toBe(200);
		const body = (await ok.json()) as InstructorSession;
		expect(body.signedIn).toBe(true);
		const ttl = Date.parse(body.expiresAt!) - before;
		expect(ttl).toBeGreaterThan(12 * 3600_000 - 60_000);
		expect(ttl).toBeLessThanOrEqual(12 * 3600_000 + 1000);
		const set = cookieOf(ok, /^klab_instructor$/);
		expect(set.header).toMatch(
			/^klab_instructor=[A-Za-z0-9_-]{43}; Path=\/api; Max-Age=43200; HttpOnly; SameSite=Strict$/,
		);
		// The secret itself is never in a cookie.
		expect(set.header).not.toContain(SECRET);
		cookie = set.pair;
		expect((await session({ cookie })).signedIn).toBe(true);
		expect((await session({ cookie: 'klab_instructor=made-up' })).signedIn).toBe(false);
	});

	it('creates and lists workshops with the cookie, and opens every call of each', async () => {
		const res = await fetch(`${t.base}/api/workshops`, {
			method: 'POST',
			headers: { ...JSON_TYPE, cookie, origin: t.base, 'sec-fetch-site': 'same-origin' },
			body: JSON.stringify({ title: 'Группа с куки', pool: 1, seats: 2 }),
		});
		expect(res.status, await res.clone().text()).toBe(201);
		workshop = (await res.json()) as typeof workshop;

		const list = await fetch(`${t.base}/api/workshops`, { headers: { cookie } });
		expect(list.status).toBe(200);
		const summaries = (await list.json()) as WorkshopSummary[];
		expect(summaries).toEqual([
			expect.objectContaining({
				id: workshop.id,
				code: workshop.code,
				title: 'Группа с куки',
				seats: 2,
				learners: 0,
				dashboardUrl: `/instructor/?workshop=${workshop.id}`,
			}),
		]);
		// The Bearer secret still opens the list, and nothing else does.
		const bearer = await fetch(`${t.base}/api/workshops`, {
			headers: { authorization: `Bearer ${SECRET}` },
		});
		expect(bearer.status).toBe(200);
		const anonymous = await fetch(`${t.base}/api/workshops`);
		expect(anonymous.status).toBe(401);
		expect((await errorOf(anonymous)).message).toContain('/instructor/');

		// A workshop's own calls: the cookie, as the workshop's key does.
		const ways: Record<string, string>[] = [
			{ cookie },
			{ authorization: `Bearer ${workshop.instructorToken}` },
		];
		for (const headers of ways) {
			const view = await fetch(`${t.base}/api/workshops/${workshop.id}`, { headers });
			expect(view.status).toBe(200);
			expect(((await view.json()) as WorkshopView).title).toBe('Группа с куки');
		}
	});

	it('shows on the dashboard the step page a learner has open, as the page says', async () => {
		const dashboard = async () => {
			const res = await fetch(`${t.base}/api/workshops/${workshop.id}`, { headers: { cookie } });
			return (await res.json()) as WorkshopView;
		};
		await vi.waitFor(async () => expect((await dashboard()).pool.ready).toBe(1), {
			timeout: 90_000,
			interval: 200,
		});
		const joined = await fetch(`${t.base}/api/workshops/${workshop.code}/join`, {
			method: 'POST',
			headers: JSON_TYPE,
			body: JSON.stringify({ name: 'Анна' }),
		});
		expect(joined.status).toBe(201);
		const lab = (await joined.json()) as CreatedLab;
		const labCookie = cookieOf(joined, new RegExp(`^klab_lab_${lab.id}$`)).pair;
		const view = (body: string, headers: Record<string, string> = { cookie: labCookie }) =>
			fetch(`${t.base}/api/labs/${lab.id}/viewing`, {
				method: 'PUT',
				headers: { ...JSON_TYPE, ...headers },
				body,
			});
		const row = async () => (await dashboard()).learners.find((l) => l.labId === lab.id)!;
		expect((await row()).viewing).toBeNull();

		expect((await view('{"step":"05-config"}')).status).toBe(204);
		expect((await row()).viewing).toEqual({
			slug: '05-config',
			order: 5,
			title: 'Конфигурация keepalived.conf',
		});
		// Again, and another: the last one said is where the learner is.
		expect((await view('{"step":"05-config"}')).status).toBe(204);
		expect((await view('{"step":"07-service"}')).status).toBe(204);
		expect((await row()).viewing?.slug).toBe('07-service');

		// Hostile bodies: refused, and nothing changes.
		const unknown = await view('{"step":"../../etc/passwd"}');
		expect(unknown.status).toBe(400);
		const { message } = await errorOf(unknown);
		expect(message).toMatch(/^Некорректный запрос: step: expected one of "01-theory", /);
		expect((await view('{"step":"07-service","more":1}')).status).toBe(400);
		expect((await view(JSON.stringify({ step: 'a'.repeat(20_000) }))).status).toBe(413);
		expect((await view('{"step":"05-config"}', {})).status).toBe(401);
		expect(
			(await view('{"step":"05-config"}', { cookie: labCookie, origin: 'https://evil.example' }))
				.status,
		).toBe(403);
		expect((await row()).viewing?.slug).toBe('07-service');
	});

	it('refuses the cookie on a change from another site', async () => {
		const foreign: Record<string, string>[] = [
			{ origin: 'https://evil.example' },
			{ 'sec-fetch-site': 'cross-site' },
			{ origin: 'null' },
		];
		for (const headers of foreign) {
			const res = await fetch(`${t.base}/api/workshops`, {
				method: 'POST',
				headers: { ...JSON_TYPE, cookie, ...headers },
				body: JSON.stringify({ pool: 1 }),
			});
			expect(res.status).toBe(403);
			expect((await errorOf(res)).code).toBe('cross-site');
			const out = await fetch(`${t.base}/api/instructor/session`, {
				method: 'DELETE',
				headers: { cookie, ...headers },
			});
			expect(out.status).toBe(403);
			const end = await fetch(`${t.base}/api/workshops/${workshop.id}`, {
				method: 'DELETE',
				headers: { cookie, ...headers },
			});
			expect(end.status).toBe(403);
			// Nor can another site sign a browser in (to its own session).
			const planted = await signIn(t.base, SECRET, headers);
			expect(planted.status).toBe(403);
			expect(planted.headers.getSetCookie()).toEqual([]);
		}
		expect(t.server.workshops.list()).toHaveLength(1);
		expect((await session({ cookie })).signedIn).toBe(true);
	});

	it('signs out: the cookie is cleared and opens nothing any more', async () => {
		const out = await fetch(`${t.base}/api/instructor/session`, {
			method: 'DELETE',
			headers: { cookie },
		});
		expect(out.status).toBe(204);
		expect(cookieOf(out, /^klab_instructor$/).header).toContain('Max-Age=0');
		expect((await session({ cookie })).signedIn).toBe(false);
		const list = await fetch(`${t.base}/api/workshops`, { headers: { cookie } });
		expect(list.status).toBe(401);
		const view = await fetch(`${t.base}/api/workshops/${workshop.id}`, { headers: { cookie } });
		expect(view.status).toBe(401);
		// Signing out twice is no error.
		expect((await fetch(`${t.base}/api/instructor/session`, { method: 'DELETE' })).status).toBe(
			204,
		);
	});
});

describe('behind a TLS proxy, and guessing the secret', () => {
	let t: TestServer;
	beforeAll(async () => {
		t = await start({ INSTRUCTOR_SECRET: SECRET, TRUST_PROXY: 'true' });
	});
	afterAll(() => t?.stop());

	it('sets a Secure cookie with a __Secure- name', async () => {
		const ok = await signIn(t.base, SECRET, { 'x-forwarded-for': '192.0.2.1' });
		expect(ok.status).toBe(200);
		const set = cookieOf(ok, /^__Secure-klab_instructor$/);
		expect(set.header).toMatch(
			/^__Secure-klab_instructor=[A-Za-z0-9_-]{43}; Path=\/api; Max-Age=43200; HttpOnly; SameSite=Strict; Secure$/,
		);
		const res = await fetch(`${t.base}/api/instructor/session`, { headers: { cookie: set.pair } });
		expect(((await res.json()) as InstructorSession).signedIn).toBe(true);
	});

	it(`locks an address out after ${MAX_FAILURES} wrong secrets (429 with Retry-After), not its neighbours`, async () => {
		const from = (address: string) => ({ 'x-forwarded-for': address });
		for (let i = 0; i < MAX_FAILURES; i++) {
			expect((await signIn(t.base, `wrong-${i}`, from('198.51.100.7'))).status).toBe(403);
		}
		// Now even the right secret is not compared, by any path that takes it.
		const locked = await signIn(t.base, SECRET, from('198.51.100.7'));
		expect(locked.status).toBe(429);
		const retry = Number(locked.headers.get('retry-after'));
		expect(retry).toBeGreaterThan(50);
		expect(retry).toBeLessThanOrEqual(60);
		expect(await errorOf(locked)).toEqual({
			code: 'too-many-sign-ins',
			message:
				'Слишком много неверных попыток ввести секрет преподавателя с этого адреса. Попробуйте снова через 1 мин.',
		});
		const bearer = await fetch(`${t.base}/api/workshops`, {
			headers: { authorization: `Bearer ${SECRET}`, ...from('198.51.100.7') },
		});
		expect(bearer.status).toBe(429);
		expect(locked.headers.getSetCookie()).toEqual([]);
		// Another address of the same room still signs in.
		expect((await signIn(t.base, SECRET, from('198.51.100.8'))).status).toBe(200);
	});
});

describe('without INSTRUCTOR_SECRET', () => {
	let t: TestServer;
	beforeAll(async () => {
		t = await start({});
	});
	afterAll(() => t?.stop());

	it('says workshops are off (503), and signs nobody in', async () => {
		for (const res of [
			await signIn(t.base, SECRET),
			await fetch(`${t.base}/api/instructor/session`),
			await fetch(`${t.base}/api/workshops`),
		]) {
			expect(res.status).toBe(503);
			expect((await errorOf(res)).code).toBe('workshops-disabled');
			expect(res.headers.getSetCookie()).toEqual([]);
		}
	});
});
