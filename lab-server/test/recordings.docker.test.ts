/**
 * Terminal recordings on a real server and real labs: a session's `.cast` (through the API) is
 * asciicast v2 line by line, holds exactly the output the live socket got, replays to the same
 * final screen in a headless xterm.js, carries the step markers and the resize, and never what
 * was typed with echo off; hostile paths and other labs' tokens are refused; the lab's recordings
 * go with the lab, a workshop learner's with the workshop (whose instructor still reads them after
 * the lab ended); a recording goes on in the same file after a server restart and a stop/resume.
 */
import { request } from 'node:http';
import { access, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreatedLab, RecordingInfo } from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { STOPPED_MARKER } from '../src/recordings/recording';
import { headlessTerminal, parseCast, replayCast } from '../testing/asciicast';
import { TerminalClient } from '../testing/terminal-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));
const SECRET = 'test-instructor-secret-0123456789';
/** Typed with echo off: must never be in a recording. */
const TYPED_SECRET = 'SekretnoeSlovo4217';

const exists = (file: string) =>
	access(file).then(
		() => true,
		() => false,
	);

/** A GET with the path sent as it is (fetch would resolve `..` before sending). */
function rawGet(base: string, rawPath: string, token: string): Promise<number> {
	const url = new URL(base);
	return new Promise((resolve, reject) => {
		const req = request(
			{
				host: url.hostname,
				port: url.port,
				path: rawPath,
				headers: { authorization: `Bearer ${token}` },
			},
			(res) => {
				res.resume();
				resolve(res.statusCode ?? 0);
			},
		);
		req.on('error', reject);
		req.end();
	});
}

describe('terminal recordings', () => {
	let t: TestServer;
	let lab: CreatedLab;
	let learner: CreatedLab;
	let workshop: { id: string; instructorToken: string };
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
	const recordingsDir = (labId: string) => path.join(t.stateDir, 'recordings', labId);
	const viewing = async (step: string) => {
		const res = await fetch(`${t.base}/api/labs/${lab.id}/viewing`, {
			method: 'PUT',
			headers: { ...bearer(lab.token), 'content-type': 'application/json' },
			body: JSON.stringify({ step }),
		});
		expect(res.status).toBe(204);
	};

	beforeAll(async () => {
		t = await startTestServer({
			docker,
			image: inject('nodeImage'),
			log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
			env: { INSTRUCTOR_SECRET: SECRET },
		});
		lab = await t.createLab();
		const created = await fetch(`${t.base}/api/workshops`, {
			method: 'POST',
			headers: { ...bearer(SECRET), 'content-type': 'application/json' },
			body: JSON.stringify({ pool: 1 }),
		});
		workshop = (await created.json()) as typeof workshop;
		learner = await waitFor(
			'a workshop lab to join',
			async () => {
				const view = (await (
					await fetch(`${t.base}/api/workshops/${workshop.id}`, {
						headers: bearer(workshop.instructorToken),
					})
				).json()) as { code: string; pool: { ready: number } };
				if (view.pool.ready < 1) return undefined;
				const joined = await fetch(`${t.base}/api/workshops/${view.code}/join`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ name: 'Анна' }),
				});
				return joined.status === 201 ? ((await joined.json()) as CreatedLab) : undefined;
			},
			120_000,
			500,
		);
	});
	afterAll(() => t?.stop());

	it('records what the terminal showed, replays to the same screen, with markers and no input', async () => {
		// Opened before any terminal: the step a new recording starts with.
		await viewing('02-lab-nodes');
		const client = new TerminalClient(`${t.wsBase}/api/labs/${lab.id}/terminals/hap1`, {
			token: lab.token,
			cols: 100,
			rows: 30,
		});
		// The live side: every OUTPUT byte as it came, at the sizes the client asked for.
		const live = headlessTerminal(100, 30);
		const writes: Promise<void>[] = [];
		client.ws.on('message', (data: Buffer) => {
			if (data[0] === 0x00) writes.push(live.write(new Uint8Array(data.subarray(1))));
		});
		await client.waitFor(/\$ $/, 30_000);
		await viewing('03-install');
		client.type("printf 'ёжик %s\\n' один; ls / | head -3; echo DONE-$((40+1))\r");
		await client.waitFor('DONE-41', 15_000);
		await client.waitFor(/\$ $/, 10_000, client.output.lastIndexOf('DONE-41'));
		// Resized while the shell is idle: no output is in flight at the old size.
		client.send({ op: 'resize', cols: 80, rows: 24 });
		live.term.resize(80, 24);
		await waitFor(
			'the resize recorded',
			async () => {
				const text = await (
					await fetch(`${t.base}/api/labs/${lab.id}/recordings/hap1/main.cast`, {
						headers: bearer(lab.token),
					})
				).text();
				return text.includes('"80x24"') ? true : undefined;
			},
			10_000,
		);
		await viewing('05-config');
		client.type('stty -echo; echo READY-$((6*7)); read x; stty echo; echo "GOT-${#x}"\r');
		await client.waitFor('READY-42', 15_000);
		client.type(`${TYPED_SECRET}\r`);
		await client.waitFor(`GOT-${TYPED_SECRET.length}`, 15_000);
		await client.waitFor(/\$ $/, 10_000, client.output.lastIndexOf('GOT-'));

		const list = await fetch(`${t.base}/api/labs/${lab.id}/recordings`, {
			headers: bearer(lab.token),
		});
		expect(list.status).toBe(200);
		const infos = (await list.json()) as RecordingInfo[];
		expect(infos).toEqual([
			{ node: 'hap1', term: 'main', bytes: expect.any(Number), startedAt: expect.any(String) },
		]);
		const res = await fetch(`${t.base}/api/labs/${lab.id}/recordings/hap1/main.cast`, {
			headers: bearer(lab.token),
		});
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('application/x-asciicast');
		expect(res.headers.get('content-disposition')).toBe(
			`attachment; filename="${lab.id}-hap1-main.cast"`,
		);
		const text = await res.text();
		expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(infos[0]!.bytes);

		const { header, events } = parseCast(text);
		expect(header).toMatchObject({ version: 2, width: 100, height: 30 });
		expect(Math.abs(header.timestamp * 1000 - Date.parse(infos[0]!.startedAt))).toBe(0);
		const output = events.filter(([, code]) => code === 'o').map(([, , data]) => data);
		expect(output.join('')).toBe(client.output);
		expect(events.filter(([, code]) => code === 'r').map(([, , data]) => data)).toEqual(['80x24']);
		const markers = events.filter(([, code]) => code === 'm').map(([, , data]) => data);
		expect(markers).toEqual([
			'Шаг 2. Стенд и узлы hap1, hap2',
			'Шаг 3. Установка keepalived',
			'Шаг 5. Конфигурация keepalived.conf',
		]);
		expect(text).toContain('ёжик один');
		expect(text).not.toContain(TYPED_SECRET);
		expect(events.some(([, code]) => code === 'i')).toBe(false);

		await Promise.all(writes);
		const replayed = await replayCast(text);
		expect(replayed).toEqual(live.screen());
		expect(replayed.join('\n')).toContain(`GOT-${TYPED_SECRET.length}`);
		client.ws.close(1000);
	});

	it('refuses hostile paths, other labs and no token, touching nothing outside the lab', async () => {
		const own = (rest: string) => `/api/labs/${lab.id}/recordings/${rest}`;
		expect(await rawGet(t.base, own('../../x.cast'), lab.token)).toBe(404);
		expect(await rawGet(t.base, own('hap1/..%2F..%2Fx.cast'), lab.token)).toBe(400);
		expect(await rawGet(t.base, own('hap3/main.cast'), lab.token)).toBe(400);
		expect(await rawGet(t.base, own('hap1/MAIN.cast'), lab.token)).toBe(400);
		expect(await rawGet(t.base, own('hap2/main.cast'), lab.token)).toBe(404);
		// Another lab's token, none, and an instructor of a workshop this lab is not in.
		expect(await rawGet(t.base, own('hap1/main.cast'), learner.token)).toBe(403);
		const none = await fetch(`${t.base}${own('hap1/main.cast')}`);
		expect(none.status).toBe(401);
		expect(await rawGet(t.base, own('hap1/main.cast'), workshop.instructorToken)).toBe(403);
		expect(await rawGet(t.base, `/api/labs/${lab.id}/recordings`, learner.token)).toBe(403);
	});

	it("lets the workshop's instructor read a learner's, and keeps them until the workshop ends", async () => {
		const client = new TerminalClient(`${t.wsBase}/api/labs/${learner.id}/terminals/hap2`, {
			token: learner.token,
		});
		await client.waitFor(/\$ $/, 30_000);
		// A raised hand and its lowering are markers of the open recordings.
		for (const method of ['POST', 'DELETE']) {
			const hand = await fetch(`${t.base}/api/labs/${learner.id}/help`, {
				method,
				headers: { ...bearer(learner.token), 'content-type': 'application/json' },
				...(method === 'POST' ? { body: JSON.stringify({ message: 'не пойму, где VIP' }) } : {}),
			});
			expect(hand.status).toBe(204);
		}
		client.ws.close(1000);
		const res = await fetch(`${t.base}/api/labs/${learner.id}/recordings`, {
			headers: bearer(workshop.instructorToken),
		});
		expect(res.status).toBe(200);
		expect(((await res.json()) as RecordingInfo[]).map((r) => `${r.node}/${r.term}`)).toEqual([
			'hap2/main',
		]);
		const cast = await fetch(`${t.base}/api/labs/${learner.id}/recordings/hap2/main.cast`, {
			headers: bearer(workshop.instructorToken),
		});
		expect(cast.status).toBe(200);
		const markers = parseCast(await cast.text())
			.events.filter(([, code]) => code === 'm')
			.map(([, , label]) => label);
		expect(markers).toEqual(['Поднята рука: не пойму, где VIP', 'Рука опущена']);

		// The learner's lab ends on its own (its time ran out): the instructor still has it.
		await t.server.labs.end(t.server.labs.get(learner.id)!, 'expired');
		expect(await exists(path.join(recordingsDir(learner.id), 'hap2-main.cast'))).toBe(true);
		const after = await fetch(`${t.base}/api/labs/${learner.id}/recordings/hap2/main.cast`, {
			headers: bearer(workshop.instructorToken),
		});
		expect(after.status).toBe(200);
		parseCast(await after.text());
		// …and nobody else: the learner's token opens an ended lab no more.
		expect(await rawGet(t.base, `/api/labs/${learner.id}/recordings`, learner.token)).toBe(404);
		expect(await rawGet(t.base, `/api/labs/${learner.id}/recordings`, lab.token)).toBe(404);
		const ended = await fetch(`${t.base}/api/workshops/${workshop.id}`, {
			method: 'DELETE',
			headers: bearer(workshop.instructorToken),
		});
		expect(ended.status).toBe(204);
		expect(await exists(recordingsDir(learner.id))).toBe(false);
	});

	it('stops a flooded recording at its cap with a marker, and the terminal goes on', async () => {
		const client = new TerminalClient(`${t.wsBase}/api/labs/${lab.id}/terminals/hap2`, {
			token: lab.token,
			term: 'flood',
		});
		await client.waitFor(/\$ $/, 30_000);
		client.type('base64 /dev/urandom | head -c 8000000; echo; echo FLOOD-$((5*5))\r');
		await client.waitFor('FLOOD-25', 60_000);
		const res = await fetch(`${t.base}/api/labs/${lab.id}/recordings/hap2/flood.cast`, {
			headers: bearer(lab.token),
		});
		const text = await res.text();
		expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024 * 1024);
		const { events } = parseCast(text);
		expect(events.at(-1)).toEqual([expect.any(Number), 'm', STOPPED_MARKER]);
		client.ws.close(1000);
	});

	it("removes a lab's recordings with the lab", async () => {
		expect(await exists(path.join(recordingsDir(lab.id), 'hap1-main.cast'))).toBe(true);
		const res = await fetch(`${t.base}/api/labs/${lab.id}`, {
			method: 'DELETE',
			headers: bearer(lab.token),
		});
		expect(res.status).toBe(204);
		expect(await exists(recordingsDir(lab.id))).toBe(false);
	});
});

describe('a recording across a server restart and a stop', () => {
	let stateDir: string;
	let current: TestServer;
	let lab: CreatedLab;
	const open = () =>
		new TerminalClient(`${current.wsBase}/api/labs/${lab.id}/terminals/hap1`, {
			token: lab.token,
			term: 'kept',
		});
	const cast = async () => {
		const res = await fetch(`${current.base}/api/labs/${lab.id}/recordings/hap1/kept.cast`, {
			headers: { authorization: `Bearer ${lab.token}` },
		});
		expect(res.status).toBe(200);
		return parseCast(await res.text());
	};

	beforeAll(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-rec-restart-'));
		current = await startTestServer({ docker, image: inject('nodeImage'), stateDir });
		lab = await current.createLab();
	});
	afterAll(() => current?.stop());

	it('goes on in the same file, its time going on, after a restart and a resume', async () => {
		const first = open();
		await first.waitFor(/\$ $/, 30_000);
		first.type('echo BEFORE-$((1+1))\r');
		await first.waitFor('BEFORE-2');
		const before = await cast();

		await current.halt();
		current = await startTestServer({ docker, image: inject('nodeImage'), stateDir });
		const second = open();
		// Re-attached: the scrollback comes first, then the same shell.
		await second.waitFor(/BEFORE-2\r?\n[\s\S]*\$ $/, 30_000);
		second.type('echo AFTER-$((2+1))\r');
		await second.waitFor('AFTER-3', 30_000);
		const restarted = await cast();
		expect(restarted.header).toEqual(before.header);
		expect(restarted.events.slice(0, before.events.length)).toEqual(before.events);
		const text = (c: typeof before) => c.events.map(([, , data]) => data).join('');
		expect(text(restarted)).toMatch(/BEFORE-2[\s\S]*AFTER-3/);

		// Stopped with its files and resumed: the same file again, after a line saying so.
		await current.server.labs.stop(current.server.labs.get(lab.id)!, 'idle');
		const resumed = await fetch(`${current.base}/api/labs/${lab.id}/resume`, {
			method: 'POST',
			headers: { authorization: `Bearer ${lab.token}`, 'content-type': 'application/json' },
			body: '{}',
		});
		expect(resumed.status).toBe(200);
		const third = open();
		await third.waitFor(/\$ $/, 60_000);
		third.type('echo RESUMED-$((3+1))\r');
		await third.waitFor('RESUMED-4', 30_000);
		const last = await cast();
		expect(last.header).toEqual(before.header);
		expect(text(last)).toMatch(/BEFORE-2[\s\S]*AFTER-3[\s\S]*RESUMED-4/);
		// The scrollback replayed to a re-attached client is not recorded twice.
		expect(text(last).match(/BEFORE-2/g)).toHaveLength(1);
		// parseCast checks that time never goes back; it went on past the restart.
		expect(last.events.at(-1)![0]).toBeGreaterThanOrEqual(restarted.events.at(-1)![0]);
		third.ws.close(1000);
	});
});
