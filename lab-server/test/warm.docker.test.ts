/**
 * The public warm pool on real Docker: «Запустить стенд» takes a lab booted ahead (no container
 * starts on the request), which becomes the learner's with a token made then and a TTL from
 * then; the pool boots another behind it; a restart keeps taken labs their learner's and waiting
 * labs waiting; and taking goes through the same caps and creation rate as a cold start.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import type { CreatedLab, LabView } from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { WARM_OWNER } from '../src/labs/warm-labs';
import { errorOf } from '../testing/http';
import { TerminalClient } from '../testing/terminal-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));
const image = inject('nodeImage');
const TTL_MINUTES = 60;

/** A server with a warm pool; the host counts as quiet (the refill's yield is warm-pool.test.ts's). */
const start = (env: Record<string, string>, stateDir?: string) =>
	startTestServer({
		docker,
		image,
		env: { WARM_LABS: '2', LAB_TTL_MINUTES: String(TTL_MINUTES), ...env },
		hostBusy: () => false,
		...(stateDir ? { stateDir } : {}),
	});

/** The pool's waiting labs once it holds `size` of them. */
const poolFilled = (t: TestServer, size: number) =>
	waitFor(
		`${size} labs in the warm pool`,
		async () =>
			t.server.warm.ready.size === size ? new Set(t.server.warm.ready.keys()) : undefined,
		90_000,
	);

const get = (t: TestServer, labId: string, token: string) =>
	fetch(`${t.base}/api/labs/${labId}`, { headers: { authorization: `Bearer ${token}` } });

describe('the warm pool', () => {
	let current: TestServer | null = null;
	afterEach(async () => {
		await current?.stop();
		current = null;
	});
	afterAll(async () => {
		await current?.stop();
	});

	it('hands a booted lab over at once, as the learner’s own, boots another, and keeps both across a restart', async () => {
		const stateDir = await mkdtemp(path.join(tmpdir(), 'klab-warm-'));
		current = await start({}, stateDir);
		const waiting = await poolFilled(current, 2);

		const asked = performance.now();
		const created: CreatedLab = await current.createLab();
		const postMs = performance.now() - asked;
		const shell = new TerminalClient(`${current.wsBase}/api/labs/${created.id}/terminals/hap1`, {
			token: created.token,
		});
		await shell.waitFor('ubuntu@hap1:~$');
		console.log(
			`[measure] warm pool: POST ${Math.round(postMs)} ms, POST → hap1 prompt ${Math.round(performance.now() - asked)} ms`,
		);
		shell.ws.close();

		// One of the waiting labs, now the learner's: no container was started for the request.
		expect(waiting.has(created.id)).toBe(true);
		const lab = current.server.labs.get(created.id)!;
		expect(lab.ownerHash).not.toBe(WARM_OWNER);
		expect(current.server.warm.has(created.id)).toBe(false);
		// Its lifetime starts now, not when it booted.
		const view = (await (await get(current, created.id, created.token)).json()) as LabView;
		const expires = Date.parse(view.expiresAt) - Date.now();
		expect(expires).toBeGreaterThan((TTL_MINUTES - 1) * 60_000);
		expect(expires).toBeLessThanOrEqual(TTL_MINUTES * 60_000);
		// The token it booted with was never given out, and a waiting lab opens with no token we hold.
		const other = [...waiting].find((id) => id !== created.id)!;
		expect((await get(current, other, created.token)).status).toBe(403);

		// The pool boots another behind it.
		const refilled = await poolFilled(current, 2);
		expect(refilled.has(created.id)).toBe(false);
		expect(refilled.has(other)).toBe(true);

		// A restart: the taken lab is still the learner's, the waiting ones still wait.
		await current.halt();
		current = await start({}, stateDir);
		expect((await get(current, created.id, created.token)).status).toBe(200);
		expect(current.server.labs.get(created.id)!.ownerHash).toBe(lab.ownerHash);
		expect(new Set(current.server.warm.ready.keys())).toEqual(refilled);
		expect(current.server.labs.list()).toHaveLength(3);
	});

	it('takes the same caps and creation rate as a cold start: a flood cannot drain it', async () => {
		// A burst of one lab (a quarter of 4 a minute), one lab per browser session.
		current = await start({ LAB_CREATE_PER_MINUTE: '4', MAX_LABS_PER_CLIENT: '1' });
		await poolFilled(current, 2);
		const first = await fetch(`${current.base}/api/labs`, { method: 'POST' });
		expect(first.status).toBe(201);
		const cookie = first.headers.get('set-cookie')!.split(';')[0]!;

		// The same browser again: over its share, nothing taken.
		const again = await fetch(`${current.base}/api/labs`, { method: 'POST', headers: { cookie } });
		expect(again.status).toBe(429);
		expect((await errorOf(again)).code).toBe('too-many-labs');

		// Ten new browsers at once: the creation rate lets none of them in, the pool keeps its lab.
		const flood = await Promise.all(
			Array.from({ length: 10 }, () => fetch(`${current!.base}/api/labs`, { method: 'POST' })),
		);
		expect(flood.map((res) => res.status)).toEqual(Array(10).fill(503));
		expect((await errorOf(flood[0]!)).code).toBe('no-capacity');
		expect(current.server.labs.list().filter((l) => l.ownerHash !== WARM_OWNER)).toHaveLength(1);
	});
});
