/**
 * The learner's progress through the API: checks that start pending, «Выполнить шаг за меня»
 * bringing a lab to the end of a step through the guide's own commands, and `check` events.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { testConfig } from '../testing/test-config';
import { connectDocker } from '../src/docker/engine';
import { createLabServer, type LabServer } from '../src/server';
import { errorOf } from '../testing/http';

const docker = connectDocker(inject('dockerSocket'));

describe('progress through the API', () => {
	let stateDir: string;
	let server: LabServer;
	let base: string;
	let lab: { id: string; token: string };
	const auth = () => ({ authorization: `Bearer ${lab.token}` });
	const checks = async () => {
		const res = await fetch(`${base}/api/labs/${lab.id}/checks`, { headers: auth() });
		expect(res.status).toBe(200);
		const list = (await res.json()) as {
			id: string;
			step: string;
			status: string;
			message: string;
		}[];
		return Object.fromEntries(list.map((c) => [c.id, c.status]));
	};

	beforeAll(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-progress-'));
		server = createLabServer({
			config: testConfig({ STATE_DIR: stateDir }),
			log: pino({ level: 'silent' }),
			image: inject('nodeImage'),
			siteDir: null,
			docker,
		});
		base = `http://127.0.0.1:${(await server.start()).port}`;
		lab = (await (await fetch(`${base}/api/labs`, { method: 'POST' })).json()) as typeof lab;
	});
	afterAll(async () => {
		for (const l of server.labs.list()) await server.labs.end(l, 'deleted');
		await server.stop();
		await rm(stateDir, { recursive: true, force: true });
	});

	it('starts with nothing done', async () => {
		const status = await checks();
		expect(Object.keys(status)).toEqual([
			'install',
			'version',
			'config',
			'service',
			'vip',
			'logs',
			'failover',
		]);
		expect(Object.values(status).every((s) => s !== 'pass')).toBe(true);
	});

	it('completes the steps up to «service» with the guide commands, and pushes check events', async () => {
		const events: string[] = [];
		server.labs
			.get(lab.id)!
			.events.on('check', (c: { id: string; status: string }) =>
				events.push(`${c.id}:${c.status}`),
			);
		const res = await fetch(`${base}/api/labs/${lab.id}/checks/service/complete`, {
			method: 'POST',
			headers: auth(),
		});
		expect(res.status, await res.clone().text()).toBe(200);
		const body = (await res.json()) as { commands: string[] };
		expect(body.commands).toEqual([
			'sudo apt-get install keepalived -y',
			'sudo keepalived -v',
			'sudo tee /etc/keepalived/keepalived.conf > /dev/null',
			'sudo systemctl enable keepalived',
			'sudo systemctl start keepalived',
		]);
		await vi.waitFor(
			async () =>
				expect(await checks()).toMatchObject({
					install: 'pass',
					version: 'pass',
					config: 'pass',
					service: 'pass',
					vip: 'pass',
				}),
			{ timeout: 20_000, interval: 1_000 },
		);
		await vi.waitFor(() => expect(events).toContain('vip:pass'), { timeout: 20_000 });
		const view = (await (
			await fetch(`${base}/api/labs/${lab.id}`, { headers: auth() })
		).json()) as { vipHolder: string };
		expect(['hap1', 'hap2']).toContain(view.vipHolder);
	});

	it('refuses unknown checks and hands-on steps with a clear message', async () => {
		const unknown = await fetch(`${base}/api/labs/${lab.id}/checks/nope/complete`, {
			method: 'POST',
			headers: auth(),
		});
		expect(unknown.status).toBe(404);
		const handsOn = await fetch(`${base}/api/labs/${lab.id}/checks/failover/complete`, {
			method: 'POST',
			headers: auth(),
		});
		expect(handsOn.status).toBe(409);
		expect((await errorOf(handsOn)).message).toMatch(/самому/);
	});
});
