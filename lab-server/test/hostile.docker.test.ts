/**
 * One learner cannot hurt the room: a real server on port 0 and real labs, attacked the way a
 * careless or hostile learner (or their script) would. Each case is bounded in time, cleans up
 * after itself, and prints what it cost the server (RSS, event-loop delay) as `[measure]` lines.
 */
import { request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import WebSocket from 'ws';
import { encodeClientFrame, decodeServerFrame, type CreatedLab } from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { errorOf } from '../testing/http';
import { TerminalClient } from '../testing/terminal-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { sh, waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));
const image = () => inject('nodeImage');

/** Server RSS and event-loop delay while `body` runs. */
async function measured<T>(what: string, body: () => Promise<T>): Promise<T> {
	const loop = monitorEventLoopDelay({ resolution: 10 });
	const rssBefore = process.memoryUsage().rss;
	let rssPeak = rssBefore;
	const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
	loop.enable();
	try {
		return await body();
	} finally {
		loop.disable();
		clearInterval(sampler);
		const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
		console.log(
			`[measure] ${what}: RSS ${mb(rssBefore)} → peak ${mb(rssPeak)} MB (+${mb(rssPeak - rssBefore)}), event loop p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
		);
	}
}

function labSocket(t: TestServer, lab: CreatedLab, node = 'hap1', term = 'main') {
	return new TerminalClient(`${t.wsBase}/api/labs/${lab.id}/terminals/${node}`, {
		token: lab.token,
		term,
	});
}

describe('hostile input to one server', () => {
	let t: TestServer;
	let lab: CreatedLab;
	const logLines: string[] = [];

	beforeAll(async () => {
		const logs = new Writable({
			write(chunk: Buffer, _encoding, done) {
				logLines.push(chunk.toString());
				done();
			},
		});
		t = await startTestServer({
			docker,
			image: image(),
			env: { MAX_LABS: '8', MAX_LABS_PER_CLIENT: '2', LAB_CREATE_PER_MINUTE: '600' },
			terminal: { slowClientMs: 2_000 },
			log: pino({ level: 'info' }, logs),
		});
		lab = await t.createLab();
	});
	afterAll(async () => {
		await t?.stop();
	});

	it('a ReDoS line in the history: the checks answer, and the server stays responsive', async () => {
		const term = labSocket(t, lab);
		await term.waitFor('ubuntu@hap1:~$', 15_000);
		// The line that took minutes with the old pattern (about ×5.5 per two more tokens).
		const line = `sudo ${'-uu '.repeat(30)}x`;
		term.type(`: ${line}; echo typed\r`);
		term.type(`${line} ; echo typed-again\r`);
		await term.waitFor('typed-again', 10_000);
		const health: number[] = [];
		await measured('ReDoS history line, 10 check runs', async () => {
			const checks = Array.from({ length: 10 }, () =>
				fetch(`${t.base}/api/labs/${lab.id}/checks`, {
					headers: { authorization: `Bearer ${lab.token}` },
				}),
			);
			const probes = (async () => {
				for (let i = 0; i < 10; i++) {
					const started = performance.now();
					expect((await fetch(`${t.base}/api/health`)).status).toBe(200);
					health.push(performance.now() - started);
					await new Promise((resolve) => setTimeout(resolve, 50));
				}
			})();
			for (const res of await Promise.all(checks)) expect(res.status).toBe(200);
			await probes;
		});
		health.sort((a, b) => a - b);
		console.log(
			`[measure] /api/health during the ReDoS check runs: p50 ${health[5]!.toFixed(1)} ms, max ${health.at(-1)!.toFixed(1)} ms`,
		);
		expect(health[5]!).toBeLessThan(200);
		term.ws.close(1000);
		await term.closed;
	});

	it('a client that ACKs everything and stops reading during `yes`: bounded memory, then dropped', async () => {
		const socket = new WebSocket(`${t.wsBase}/api/labs/${lab.id}/terminals/hap1?term=flood`, {
			headers: { authorization: `Bearer ${lab.token}` },
		});
		const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
		await new Promise((resolve) => socket.once('open', resolve));
		const send = (frame: Parameters<typeof encodeClientFrame>[0]) =>
			socket.send(encodeClientFrame(frame));
		send({ op: 'hello', v: 1, cols: 80, rows: 24 });
		await new Promise<void>((resolve) =>
			socket.on('message', (data: Buffer) => {
				if (decodeServerFrame(new Uint8Array(data)).op === 'ready') resolve();
			}),
		);
		send({ op: 'input', data: new TextEncoder().encode('yes\r') });
		const acks = setInterval(() => send({ op: 'ack', bytes: 0xffffffff }), 5);
		// Stop reading: the server's writes pile up in its socket, not in the client.
		(socket as unknown as { _socket: { pause(): void } })._socket.pause();
		const session = () => t.server.terminals.get({ labId: lab.id, node: 'hap1', term: 'flood' });
		await measured('ACK flood, client not reading, yes running', async () => {
			const before = process.memoryUsage().rss;
			await waitFor(
				'the server to drop the client',
				async () => (session()?.attached === false ? true : undefined),
				15_000,
			);
			expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
		});
		clearInterval(acks);
		(socket as unknown as { _socket: { resume(): void } })._socket.resume();
		expect(await closed).toBe(4017);
		// The shell is still there for a resume; end it.
		const resumed = labSocket(t, lab, 'hap1', 'flood');
		await waitFor('the resumed terminal', async () => (resumed.ready ? true : undefined), 10_000);
		resumed.type('\x03');
		resumed.ws.close(1000);
		await resumed.closed;
	});

	it('parallel creates: starting labs count against the session cap; a flood waits in line', async () => {
		// One browser session (the server's own cookie), six POSTs at once: at most the cap.
		const first = await fetch(`${t.base}/api/health`);
		expect(first.status).toBe(200);
		const issued = await fetch(`${t.base}/api/labs`, { method: 'POST' });
		const cookie = issued.headers.getSetCookie().find((c) => c.startsWith('klab_session='))!;
		const session = cookie.split(';')[0]!;
		const mine = (await issued.json()) as CreatedLab;
		const statuses = await Promise.all(
			Array.from({ length: 6 }, () =>
				fetch(`${t.base}/api/labs`, { method: 'POST', headers: { cookie: session } }).then(
					async (res) => ({ status: res.status, code: res.ok ? null : (await errorOf(res)).code }),
				),
			),
		);
		expect(statuses.filter((s) => s.status === 201)).toHaveLength(1);
		expect(statuses.filter((s) => s.code === 'too-many-labs')).toHaveLength(5);
		// A made-up session cookie is not a session: it is replaced by a signed one.
		const forged = await fetch(`${t.base}/api/labs`, {
			method: 'POST',
			headers: { cookie: 'klab_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.forged' },
		});
		const replaced = forged.headers.getSetCookie().find((c) => c.startsWith('klab_session='));
		expect(replaced).toBeDefined();
		expect(replaced).not.toContain('.forged');
		if (forged.status === 201)
			await t.server.labs.end(
				t.server.labs.get(((await forged.json()) as CreatedLab).id)!,
				'deleted',
			);
		for (const id of [mine.id]) await t.server.labs.end(t.server.labs.get(id)!, 'deleted');
		for (const l of t.server.labs.list())
			if (l.id !== lab.id) await t.server.labs.end(l, 'deleted');
	});

	it('cross-site and rebinding requests are refused before anything happens', async () => {
		const crossSite = await fetch(`${t.base}/api/labs`, {
			method: 'POST',
			headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
			body: '{}',
		});
		expect(crossSite.status).toBe(403);
		expect((await errorOf(crossSite)).code).toBe('cross-site');
		const notJson = await fetch(`${t.base}/api/labs/${lab.id}/extend`, {
			method: 'POST',
			headers: { authorization: `Bearer ${lab.token}`, 'content-type': 'text/plain' },
			body: '{}',
		});
		expect(notJson.status).toBe(415);
		// fetch() will not send another Host: a plain request, as a rebinding page's would arrive.
		const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
			const req = request(`${t.base}/api/labs`, {
				method: 'POST',
				headers: { host: 'attacker.example:4321' },
			});
			req.on('response', (res) => {
				let body = '';
				res.on('data', (chunk: Buffer) => (body += chunk.toString()));
				res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
			});
			req.on('error', reject);
			req.end();
		});
		expect(rebound.status).toBe(403);
		expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'host-not-allowed' } });
		const upgrade = new WebSocket(`${t.wsBase}/api/labs/${lab.id}/terminals/hap1`, {
			headers: { authorization: `Bearer ${lab.token}`, host: 'attacker.example' },
		});
		const status = await new Promise<number>((resolve) => {
			upgrade.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
			upgrade.on('open', () => resolve(101));
			upgrade.on('error', () => undefined);
		});
		expect(status).toBe(403);
		expect(t.server.labs.size).toBe(1);
	});

	it('50 concurrent check requests: one run, one exec per node', async () => {
		const execs: string[] = [];
		const original = docker.getContainer.bind(docker);
		const spy = vi.spyOn(docker, 'getContainer').mockImplementation((id: string) => {
			const container = original(id);
			const exec = container.exec.bind(container);
			container.exec = ((options: { Cmd?: string[] }) => {
				if (options.Cmd?.join(' ').includes('probe_package')) execs.push(id);
				return exec(options as never);
			}) as typeof container.exec;
			return container;
		});
		try {
			const answers = await Promise.all(
				Array.from({ length: 50 }, () =>
					fetch(`${t.base}/api/labs/${lab.id}/checks`, {
						headers: { authorization: `Bearer ${lab.token}` },
					}),
				),
			);
			expect(answers.every((res) => res.status === 200)).toBe(true);
		} finally {
			spy.mockRestore();
		}
		expect(execs).toHaveLength(2);
	});

	it('100 000 RESIZE frames: bounded memory, at most one Docker call per 100 ms', async () => {
		const term = labSocket(t, lab, 'hap2', 'resize');
		await term.waitFor('ubuntu@hap2:~$', 15_000);
		const session = t.server.terminals.get({ labId: lab.id, node: 'hap2', term: 'resize' })!;
		const callsBefore = session.resizeCalls;
		const started = performance.now();
		await measured('100 000 RESIZE frames', async () => {
			for (let i = 0; i < 100_000; i++) {
				term.send({ op: 'resize', cols: 80 + (i % 50), rows: 24 + (i % 20) });
			}
			term.send({ op: 'resize', cols: 101, rows: 33 });
			term.type('stty size\r');
			await term.waitFor('33 101', 60_000);
		});
		const seconds = (performance.now() - started) / 1000;
		const calls = session.resizeCalls - callsBefore;
		console.log(`[measure] RESIZE flood: ${calls} Docker calls in ${seconds.toFixed(1)} s`);
		expect(calls).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);
		term.ws.close(1000);
		await term.closed;
	});

	it('a replaced `observe` printing forever: reports and logs are rate-limited', async () => {
		const hap1 = t.server.labs.get(lab.id)!.containers.hap1;
		await sh(
			docker,
			hap1,
			`cat > /usr/local/lib/keepalived-lab/observe <<'EOF'
#!/bin/bash
i=0
while :; do
	i=$((i + 1))
	printf '{"keepalived":"absent","haproxy":"h%d","addresses":[]}\\n' "$((i % 7))"
	echo "garbage $i"
done
EOF
pkill -f keepalived-lab/observe; true`,
		);
		const events: string[] = [];
		const controller = new AbortController();
		const stream = await fetch(`${t.base}/api/labs/${lab.id}/events`, {
			headers: { authorization: `Bearer ${lab.token}` },
			signal: controller.signal,
		});
		const reading = (async () => {
			const decoder = new TextDecoder();
			try {
				for await (const chunk of stream.body as AsyncIterable<Uint8Array>) {
					for (const match of decoder.decode(chunk).matchAll(/^event: (\w+)$/gm))
						events.push(match[1]!);
				}
			} catch {
				// Aborted below.
			}
		})();
		const logsBefore = logLines.length;
		await measured('observe replaced by a flood of reports', async () => {
			await new Promise((resolve) => setTimeout(resolve, 4_000));
		});
		controller.abort();
		await reading;
		const nodeEvents = events.filter((e) => e === 'node').length;
		const badLogs = logLines.slice(logsBefore).filter((l) => l.includes('bad node reports')).length;
		console.log(
			`[measure] flooding observe: ${nodeEvents} node events and ${badLogs} log lines in 4 s`,
		);
		// At most ten reports a second per node, and one log line per ten seconds.
		expect(nodeEvents).toBeLessThanOrEqual(4 * 10 + 2 + 2);
		expect(badLogs).toBeLessThanOrEqual(1);
		// Back to the image's own script for what follows.
		await t.server.labs.reset(t.server.labs.get(lab.id)!, 'hap1', 'learner');
	});

	it('1 000 terminal open/close cycles leave fds, execs and node processes as they were', async () => {
		const node = t.server.labs.get(lab.id)!.containers.hap2;
		const fds = async () => (await import('node:fs')).readdirSync('/proc/self/fd').length;
		const processes = async () =>
			Number((await sh(docker, node, 'ps -e --no-headers | wc -l')).stdout.trim());
		const execs = async () => (await docker.getContainer(node).inspect()).ExecIDs?.length ?? 0;
		const warm = labSocket(t, lab, 'hap2', 'cycle');
		await warm.waitFor('ubuntu@hap2:~$', 15_000);
		warm.ws.close(1000);
		await warm.closed;
		await new Promise((resolve) => setTimeout(resolve, 500));
		const before = { fds: await fds(), processes: await processes(), execs: await execs() };
		await measured('1 000 terminal open/close cycles', async () => {
			for (let i = 0; i < 1_000; i++) {
				const term = labSocket(t, lab, 'hap2', 'cycle');
				await waitFor('READY', async () => (term.ready ? true : undefined), 15_000, 5);
				term.ws.close(1000);
				await term.closed;
			}
		});
		await waitFor(
			'the last shell to end',
			async () =>
				t.server.terminals.get({ labId: lab.id, node: 'hap2', term: 'cycle' }) ? undefined : true,
			10_000,
		);
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		const after = { fds: await fds(), processes: await processes(), execs: await execs() };
		console.log(
			`[measure] 1 000 terminal cycles: fds ${before.fds} → ${after.fds}, node processes ${before.processes} → ${after.processes}, exec sessions ${before.execs} → ${after.execs}`,
		);
		expect(after.fds).toBeLessThanOrEqual(before.fds + 5);
		expect(after.processes).toBeLessThanOrEqual(before.processes);
		expect(after.execs).toBeLessThanOrEqual(before.execs);
	});
});

describe('hostile input: addresses, the waiting line, workshops', () => {
	const SECRET = 'a-long-instructor-secret-for-tests';
	let t: TestServer;

	beforeAll(async () => {
		t = await startTestServer({
			docker,
			image: image(),
			env: {
				MAX_LABS: '3',
				MAX_LABS_PER_IP: '2',
				LAB_CREATE_PER_MINUTE: '600',
				INSTRUCTOR_SECRET: SECRET,
			},
		});
	});
	afterAll(async () => {
		await t?.stop();
	});
	// Each case starts from an empty host, whatever the one before left (a failure midway).
	afterEach(async () => {
		for (const lab of t.server.labs.list()) await t.server.labs.end(lab, 'deleted');
	});

	it('six cookie-less POSTs from one address: at most MAX_LABS_PER_IP succeed', async () => {
		const answers = await Promise.all(
			Array.from({ length: 6 }, () =>
				fetch(`${t.base}/api/labs`, { method: 'POST' }).then(async (res) => ({
					status: res.status,
					code: res.ok ? null : (await errorOf(res)).code,
				})),
			),
		);
		expect(answers.filter((a) => a.status === 201).length).toBeLessThanOrEqual(2);
		expect(
			answers.filter((a) => a.code === 'too-many-labs-per-address').length,
		).toBeGreaterThanOrEqual(4);
		for (const lab of t.server.labs.list()) await t.server.labs.end(lab, 'deleted');
	});

	it('with every lab taken, new learners get their place in a waiting line', async () => {
		// Three labs fill the host (MAX_LABS=3): one through the API, two of other learners.
		await t.createLab();
		await t.server.labs.create({ sessionHash: 'another-learner', ip: '10.0.0.8' });
		await t.server.labs.create({ sessionHash: 'a-third-learner', ip: '10.0.0.9' });
		const waiting = await fetch(`${t.base}/api/labs`, { method: 'POST' });
		expect(waiting.status).toBe(503);
		expect(waiting.headers.get('retry-after')).toBe('5');
		const error = await errorOf(waiting);
		expect(error.code).toBe('no-capacity');
		expect(error.position).toBe(1);
		expect(error.message).toMatch(/вы 1-й в очереди/);
		for (const lab of t.server.labs.list()) await t.server.labs.end(lab, 'deleted');
	});

	it('200 joins from a script are throttled; removing a learner frees the seat', async () => {
		const created = await fetch(`${t.base}/api/workshops`, {
			method: 'POST',
			headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
			body: JSON.stringify({ pool: 1, seats: 1 }),
		});
		expect(created.status).toBe(201);
		const workshop = (await created.json()) as {
			id: string;
			code: string;
			instructorToken: string;
		};
		const instructor = { authorization: `Bearer ${workshop.instructorToken}` };
		const dashboard = async () =>
			(await (
				await fetch(`${t.base}/api/workshops/${workshop.id}`, { headers: instructor })
			).json()) as {
				pool: { ready: number };
				learners: { labId: string }[];
			};
		await waitFor(
			'the pool lab',
			async () => ((await dashboard()).pool.ready === 1 ? true : undefined),
			60_000,
			250,
		);
		const join = () =>
			fetch(`${t.base}/api/workshops/${workshop.code}/join`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ name: 'script' }),
			});
		const statuses = await measured('200 scripted joins', async () =>
			Promise.all(Array.from({ length: 200 }, () => join().then((res) => res.status))),
		);
		const count = (status: number) => statuses.filter((s) => s === status).length;
		console.log(
			`[measure] 200 joins: ${count(201)} joined, ${count(409)} full, ${count(429)} throttled`,
		);
		expect(count(201)).toBe(1);
		expect(count(429)).toBeGreaterThanOrEqual(150);
		const [learner] = (await dashboard()).learners;
		const removed = await fetch(`${t.base}/api/workshops/${workshop.id}/labs/${learner!.labId}`, {
			method: 'DELETE',
			headers: instructor,
		});
		expect(removed.status).toBe(204);
		expect((await dashboard()).learners).toHaveLength(0);
		await waitFor(
			'the pool to refill',
			async () => ((await dashboard()).pool.ready === 1 ? true : undefined),
			60_000,
			250,
		);
		await waitFor(
			'the join budget',
			async () => {
				const res = await join();
				return res.status === 201 ? true : undefined;
			},
			30_000,
			1_000,
		);
		const ended = await fetch(`${t.base}/api/workshops/${workshop.id}`, {
			method: 'DELETE',
			headers: instructor,
		});
		expect(ended.status).toBe(204);
	});
});
