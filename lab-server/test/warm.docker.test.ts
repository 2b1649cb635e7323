/**
 * The public warm pool on real Docker: «Запустить стенд» takes a lab booted ahead (no container
 * starts on the request), which becomes the learner's with a token made then and a TTL from
 * then; the pool boots another behind it; a restart keeps taken labs their learner's and waiting
 * labs waiting; taking goes through the same caps and creation rate as a cold start; and the
 * pool boots in the pauses of learners' typing, frozen while they type, but never held back by
 * typing longer than its budget.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import type { CreatedLab, LabView } from '../src/api';
import { YIELD_BUDGET_MS } from '../src/docker/boot-yield';
import { connectDocker } from '../src/docker/engine';
import { LABELS } from '../src/docker/labels';
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

	it('boots in the pauses of typing: frozen while a learner types, and never held back longer than its budget', async () => {
		current = await start({ WARM_LABS: '1' });
		await poolFilled(current, 1);
		const t = current;
		const created: CreatedLab = await t.createLab();
		const shell = new TerminalClient(`${t.wsBase}/api/labs/${created.id}/terminals/hap1`, {
			token: created.token,
		});
		await shell.waitFor('ubuntu@hap1:~$');
		// This server's pool containers (other test files' servers may run beside it).
		const [mine] = await docker.listContainers({
			filters: JSON.stringify({ label: [`${LABELS.lab}=${created.id}`] }),
		});
		const server = mine!.Labels[LABELS.server]!;
		const poolContainers = async (status: 'running' | 'paused') =>
			(
				await docker.listContainers({
					filters: JSON.stringify({
						status: [status],
						label: [`${LABELS.server}=${server}`, `${LABELS.owner}=${WARM_OWNER}`],
					}),
				})
			).filter((c) => c.Labels[LABELS.lab] !== created.id);
		/** Types without a pause until `stop()`, calling `each` between keystrokes. */
		const typeOn = (each: () => Promise<void>) => {
			let typing = true;
			const done = (async () => {
				for (let i = 0; typing; i++) {
					shell.type(i % 50 === 49 ? '\x15' : 'x');
					await each();
					await new Promise((resolve) => setTimeout(resolve, 50));
				}
			})();
			return () => ((typing = false), done);
		};

		// Typing while a lab boots: its nodes are frozen, and thawed at the pause.
		await poolFilled(t, 1);
		const waiting = [...t.server.warm.ready.keys()][0]!;
		await t.server.labs.end(t.server.labs.get(waiting)!, 'expired');
		await waitFor(
			'the pool booting a lab',
			async () =>
				(await poolContainers('running')).some((c) => !t.server.labs.get(c.Labels[LABELS.lab]!)) ||
				undefined,
			30_000,
		);
		let sawFrozen = false;
		const stopTyping = typeOn(async () => {
			if ((await poolContainers('paused')).length > 0) sawFrozen = true;
		});
		await waitFor('a booting node frozen', async () => sawFrozen || undefined, 10_000);
		await stopTyping();
		await poolFilled(t, 1);
		expect(await poolContainers('paused')).toEqual([]);

		// Typing without a pause, longer than the budget (a learner, or a script holding the pool
		// back): the next lab waits for a pause, but only as long as the budget.
		const taken = performance.now();
		await t.createLab();
		const stop = typeOn(async () => {});
		await poolFilled(t, 1);
		const filledMs = performance.now() - taken;
		await stop();
		console.log(`[measure] pool refill under non-stop typing: ${Math.round(filledMs)} ms`);
		expect(filledMs).toBeGreaterThan(YIELD_BUDGET_MS);
		expect(filledMs).toBeLessThan(YIELD_BUDGET_MS + 30_000);
		// Nothing stays frozen, and the learner's shell answers as before.
		expect(await poolContainers('paused')).toEqual([]);
		shell.type('\x15echo still-$((6*7))\r');
		await shell.waitFor('still-42');
		shell.ws.close();
	});
});
