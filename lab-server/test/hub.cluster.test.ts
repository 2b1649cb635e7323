/**
 * A hub and two lab agents on the test hosts (scripts/test-hosts.ts): each agent runs in its
 * engine's network namespace and answers only the hub; the hub places labs by the agents'
 * capacity reports and routes every lab call, event stream and terminal by the lab id alone.
 * Last, the same engines run deploy/stack.yml (the image built from the project, the agents a
 * global service). One set of test hosts for the whole file (bringing them up is most of its time).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type {
	CreatedLab,
	CreatedWorkshop,
	LabView,
	LearnerView,
	WorkshopHead,
	WorkshopView,
} from '../src/api';
import { AGENT_INSTRUCTOR_HEADER, AGENT_KEY_HEADER } from '../src/api/cluster';
import { ensureHostFirewall } from '../src/docker/host-firewall';
import { hostsDown, hostsUp, type TestHost } from '../../scripts/test-hosts';
import { ensureServerImage } from '../../scripts/cluster-image';
import { deployStack, drainNode, removeStack } from '../../scripts/cluster';
import { startAgent, startHub, type Started } from '../testing/cluster-processes';
import { readSse } from '../testing/sse-reader';
import { TerminalClient } from '../testing/terminal-client';
import { waitFor } from './helpers';

const run = promisify(execFile);
const image = inject('nodeImage');
const AGENT_PORT = 4380;
/** Where the stack's hub publishes its port on this machine (the stack's own agents use 4322). */
const STACK_HUB_PORT = 18_080;
const KEY = randomBytes(32).toString('base64url');
/** Fixed ids: their first three characters start each agent's lab ids. */
const AGENT_IDS = ['ag2', 'ag3'];
const SECRET = randomBytes(24).toString('base64url');
/** The hub's per-address cap: the first test's six labs reach it, three on each agent. */
const MAX_LABS_PER_IP = 6;

/** The Swarm's nodes: id → hostname. */
async function swarmNodes(): Promise<Map<string, string>> {
	const { stdout } = await run('docker', ['node', 'ls', '--format', '{{.ID}} {{.Hostname}}']);
	return new Map(
		stdout
			.trim()
			.split('\n')
			.map((line) => line.split(' ') as [string, string]),
	);
}
/**
 * A workshop opened through the hub at `base` with the instructors' `secret`; its key as headers,
 * and its dashboard as the instructor reads it.
 */
async function openWorkshop(
	base: string,
	secret: string,
	body: { title: string; pool: number; seats: number },
) {
	const created = await fetch(`${base}/api/workshops`, {
		method: 'POST',
		headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	expect(created.status, await created.clone().text()).toBe(201);
	const workshop = (await created.json()) as CreatedWorkshop;
	const instructor = { authorization: `Bearer ${workshop.instructorToken}` };
	const view = async () =>
		(await (
			await fetch(`${base}/api/workshops/${workshop.id}`, { headers: instructor })
		).json()) as WorkshopView;
	return { workshop, instructor, view };
}
describe('a hub and lab agents on three Docker engines', () => {
	let hosts: TestHost[] = [];
	let serverImage = '';
	let dir = '';
	const agents: Started[] = [];
	let hub: Started | null = null;
	const labs: CreatedLab[] = [];
	/** The workshop the workshop test opens: the hub's restart must keep it. */
	let opened: (CreatedWorkshop & { learners: string[] }) | null = null;
	const agentUrl = (i: number) => `http://${hosts[i]!.address}:${AGENT_PORT}`;
	const hubUrl = () => `http://127.0.0.1:${hub!.port}`;
	const bearer = (lab: CreatedLab) => ({ authorization: `Bearer ${lab.token}` });
	/** Engine i's agent, in its network namespace, with its state kept across restarts. */
	const agentOn = (i: number) =>
		startAgent({
			netns: hosts[i]!.name,
			address: hosts[i]!.address,
			port: AGENT_PORT,
			socket: hosts[i]!.socket,
			agentId: AGENT_IDS[i]!,
			key: KEY,
			stateDir: path.join(dir, hosts[i]!.name),
			image,
		});
	const startTheHub = async () => {
		hub = await startHub({
			agents: hosts.map((_, i) => agentUrl(i)),
			key: KEY,
			stateDir: path.join(dir, 'hub'),
			env: { INSTRUCTOR_SECRET: SECRET, MAX_LABS_PER_IP: String(MAX_LABS_PER_IP) },
		});
	};

	beforeAll(async () => {
		await hostsDown();
		// The stack's image (the last test) is built first, so one hosts-up copies both.
		serverImage = await ensureServerImage(path.resolve('.'));
		hosts = await hostsUp(2, [image, serverImage]);
		dir = await mkdtemp(path.join(tmpdir(), 'klab-hub-'));
		for (const [i, host] of hosts.entries()) {
			// What the agent's start does on its own node (cli/start.ts), here in its namespace.
			await ensureHostFirewall(host.name);
			agents.push(await agentOn(i));
		}
		await startTheHub();
	});

	afterAll(async () => {
		await hub?.stop('SIGKILL');
		for (const agent of agents) await agent.stop('SIGKILL');
		await removeStack();
		// The engines go with their labs: down removes their data roots.
		await hostsDown();
		if (dir) await rm(dir, { recursive: true, force: true });
	});

	it('refuses a request straight to an agent without the key: 401, for HTTP and WebSocket', async () => {
		const without: Record<string, string>[] = [{}, { [AGENT_KEY_HEADER]: `${KEY}x` }];
		for (const headers of without) {
			for (const route of ['/api/health', '/api/agent/capacity', '/api/labs', '/']) {
				const res = await fetch(`${agentUrl(0)}${route}`, { headers });
				expect(res.status).toBe(401);
				expect(await res.json()).toMatchObject({ error: { code: 'agent-key-required' } });
			}
		}
		const socket = new TerminalClient(
			`ws://${hosts[0]!.address}:${AGENT_PORT}/api/labs/ag20000000/terminals/hap1`,
		);
		expect(await socket.refused()).toBe(401);
		const res = await fetch(`${agentUrl(0)}/api/agent/capacity`, {
			headers: { [AGENT_KEY_HEADER]: KEY },
		});
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ agentId: 'ag2', labs: 0 });
	});

	it('places 6 labs created through the hub on both engines, counts a session over both; each view names its Swarm node', async () => {
		const nodes = await swarmNodes();
		// One browser session first: its two labs land on both agents, and its share
		// (MAX_LABS_PER_CLIENT, 2) is counted over both, though each agent holds only one.
		const first = await fetch(`${hubUrl()}/api/labs`, { method: 'POST' });
		expect(first.status).toBe(201);
		const session = first.headers
			.getSetCookie()
			.find((cookie) => cookie.startsWith('klab_session='))!
			.split(';')[0]!;
		labs.push((await first.json()) as CreatedLab);
		const second = await fetch(`${hubUrl()}/api/labs`, {
			method: 'POST',
			headers: { cookie: session },
		});
		expect(second.status).toBe(201);
		labs.push((await second.json()) as CreatedLab);
		expect(labs[0]!.agent).not.toBe(labs[1]!.agent);
		const third = await fetch(`${hubUrl()}/api/labs`, {
			method: 'POST',
			headers: { cookie: session },
		});
		expect(third.status).toBe(429);
		expect(await third.json()).toMatchObject({ error: { code: 'too-many-labs' } });
		// Then four more browsers.
		for (let i = 0; i < 4; i++) {
			const res = await fetch(`${hubUrl()}/api/labs`, { method: 'POST' });
			expect(res.status).toBe(201);
			labs.push((await res.json()) as CreatedLab);
		}
		// The address's cap is the hub's, over both agents: each holds three, under it.
		const seventh = await fetch(`${hubUrl()}/api/labs`, { method: 'POST' });
		expect(seventh.status).toBe(429);
		expect(await seventh.json()).toMatchObject({
			error: {
				code: 'too-many-labs-per-address',
				message: `С вашего адреса уже запущено стендов: ${MAX_LABS_PER_IP}, больше нельзя. Завершите один из них.`,
			},
		});
		const byEngine = new Map<string, string[]>();
		for (const lab of labs) {
			expect(lab.agent).toBeDefined();
			const engine = nodes.get(lab.agent!)!;
			byEngine.set(engine, [...(byEngine.get(engine) ?? []), lab.id]);
		}
		expect([...byEngine.keys()].sort()).toEqual(hosts.map((host) => host.name).sort());
		// Each lab runs where its view says, and its id names that agent.
		for (const [i, host] of hosts.entries()) {
			const { stdout: names } = await run('docker', [
				'-H',
				`unix://${host.socket}`,
				'ps',
				'--format',
				'{{.Names}}',
			]);
			for (const id of byEngine.get(host.name)!) {
				expect(id.startsWith(AGENT_IDS[i]!)).toBe(true);
				expect(names).toContain(`klab-${id}-hap1`);
			}
		}
		const view = await fetch(`${hubUrl()}/api/labs/${labs[0]!.id}`, { headers: bearer(labs[0]!) });
		expect(((await view.json()) as LabView).agent).toBe(labs[0]!.agent);
	});

	it('serves a terminal and the event stream through the hub, and resumes the terminal', async () => {
		const lab = labs[1]!;
		const url = `ws://127.0.0.1:${hub!.port}/api/labs/${lab.id}/terminals/hap1`;
		const first = new TerminalClient(url, { token: lab.token, term: 'via-hub' });
		await first.waitFor('ubuntu@hap1', 30_000);
		first.type('echo hub-$((6*7))\r');
		await first.waitFor('hub-42');
		// Dropped, not closed: a clean close would end the shell.
		first.ws.terminate();
		const again = new TerminalClient(url, {
			token: lab.token,
			term: 'via-hub',
			resumeOffset: first.offset,
		});
		await waitFor('the resumed terminal', async () => again.ready ?? undefined, 10_000, 20);
		expect(again.ready).toMatchObject({ offset: first.offset, resumed: true });
		again.type('echo again-$((6*7))\r');
		await again.waitFor('again-42');
		again.ws.close(1000);

		const stream = new AbortController();
		const events = await fetch(`${hubUrl()}/api/labs/${lab.id}/events`, {
			headers: bearer(lab),
			signal: stream.signal,
		});
		expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
		const { value } = await events.body!.getReader().read();
		expect(new TextDecoder().decode(value)).toMatch(/^event: node$/m);
		stream.abort();
	});

	it('passes the guide’s steps and fails over on stop-haproxy, a lab on each engine, all through the hub', async () => {
		const onEach = AGENT_IDS.map((prefix) => labs.find((lab) => lab.id.startsWith(prefix))!);
		const api = (lab: CreatedLab, rest: string, init: RequestInit = {}) =>
			fetch(`${hubUrl()}/api/labs/${lab.id}${rest}`, {
				...init,
				headers: { ...bearer(lab), ...init.headers },
			});
		await Promise.all(
			onEach.map(async (lab) => {
				const done = await api(lab, '/checks/service/complete', { method: 'POST' });
				expect(done.status, await done.clone().text()).toBe(200);
				await waitFor(
					`the guide's checks to pass on ${lab.id}`,
					async () => {
						const checks = (await (await api(lab, '/checks')).json()) as {
							id: string;
							status: string;
						}[];
						const passed = new Set(checks.filter((c) => c.status === 'pass').map((c) => c.id));
						return ['install', 'version', 'config', 'service', 'vip'].every((id) => passed.has(id))
							? true
							: undefined;
					},
					60_000,
					1_000,
				);
				const holder = async () => ((await (await api(lab, '')).json()) as LabView).vipHolder;
				const before = await waitFor(
					'a VIP holder',
					async () => (await holder()) ?? undefined,
					30_000,
					250,
				);
				const drill = await api(lab, '/drills/stop-haproxy', { method: 'POST' });
				expect(drill.status, await drill.clone().text()).toBe(202);
				const after = await waitFor(
					`the VIP to move on ${lab.id}`,
					async () => {
						const now = await holder();
						return now && now !== before ? now : undefined;
					},
					30_000,
					250,
				);
				expect(after).not.toBe(before);
			}),
		);
	});

	it('runs a workshop across both engines: its pool spans them, learners join, the dashboard (GET and live) lists each with its engine, and the instructor watches a terminal on the other engine', async () => {
		const nodes = await swarmNodes();
		const { workshop, instructor, view } = await openWorkshop(hubUrl(), SECRET, {
			title: 'Кластер',
			pool: 2,
			seats: 3,
		});
		const filling = Date.now();
		await waitFor(
			'the pool of two, one on each agent',
			async () => ((await view()).pool.ready === 2 ? true : undefined),
			60_000,
			250,
		);
		console.log(`workshop pool of 2 over 2 agents ready in ${Date.now() - filling} ms`);
		// One on each engine: each agent's own share, asked straight with the hub's word.
		for (const i of [0, 1]) {
			const share = await fetch(`${agentUrl(i)}/api/workshops/${workshop.id}`, {
				headers: { [AGENT_KEY_HEADER]: KEY, [AGENT_INSTRUCTOR_HEADER]: workshop.id },
			});
			expect(((await share.json()) as WorkshopView).pool.ready).toBe(1);
		}

		const live = await readSse(`${hubUrl()}/api/workshops/${workshop.id}/events`, instructor);
		expect(live.status).toBe(200);
		const { events } = live;
		await waitFor('the first view', async () => events[0], 10_000, 50);
		expect(events[0]).toMatchObject({ event: 'workshop', data: { learners: [], seats: 3 } });

		// Two learners, two browsers: the second goes to the agent that still has a lab ready.
		const joined: CreatedLab[] = [];
		const cookies: string[] = [];
		for (const name of ['Анна', 'Борис']) {
			const res = await fetch(`${hubUrl()}/api/workshops/${workshop.code}/join`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ name }),
			});
			expect(res.status, await res.clone().text()).toBe(201);
			cookies.push(
				res.headers
					.getSetCookie()
					.find((cookie) => cookie.startsWith('klab_session='))!
					.split(';')[0]!,
			);
			joined.push((await res.json()) as CreatedLab);
		}
		expect(new Set(joined.map((lab) => nodes.get(lab.agent!)))).toEqual(
			new Set(hosts.map((host) => host.name)),
		);
		// The same browser again: the same lab, from its own agent.
		const again = await fetch(`${hubUrl()}/api/workshops/${workshop.code}/join`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', cookie: cookies[0]! },
			body: JSON.stringify({ name: 'Анна' }),
		});
		expect(again.status).toBe(200);
		expect(((await again.json()) as CreatedLab).id).toBe(joined[0]!.id);

		const rows = (await view()).learners;
		expect(rows.map((row) => [row.name, row.labId, row.agent])).toEqual(
			joined.map((lab, i) => [['Анна', 'Борис'][i], lab.id, lab.agent]),
		);
		await waitFor(
			'both learners on the live dashboard, each with its engine',
			async () => {
				const learners = events
					.filter((e) => e.event === 'learner')
					.map((e) => e.data as LearnerView);
				const head = events.findLast((e) => e.event === 'head')?.data as WorkshopHead | undefined;
				const seen = joined.every((lab) =>
					learners.some((row) => row.labId === lab.id && row.agent === lab.agent),
				);
				return seen && head?.labIds.length === 2 ? true : undefined;
			},
			10_000,
			100,
		);
		live.close();
		const list = await fetch(`${hubUrl()}/api/workshops`, {
			headers: { authorization: `Bearer ${SECRET}` },
		});
		expect(await list.json()).toEqual([
			expect.objectContaining({ id: workshop.id, learners: 2, seats: 3 }),
		]);

		// The instructor watches Борис's terminal, on the other engine than Анна's.
		const boris = joined[1]!;
		const url = `ws://127.0.0.1:${hub!.port}/api/labs/${boris.id}/terminals/hap1`;
		const learner = new TerminalClient(url, { token: boris.token });
		await learner.waitFor('ubuntu@hap1', 30_000);
		const viewer = new TerminalClient(url, { token: workshop.instructorToken, view: true });
		learner.type('echo seen-$((6*7))\r');
		await viewer.waitFor('seen-42', 10_000);
		viewer.ws.close(1000);
		learner.ws.close(1000);
		// Help and takeover on the other engine, seen on the hub's dashboard.
		const hand = await fetch(`${hubUrl()}/api/labs/${boris.id}/help`, {
			method: 'POST',
			headers: { ...bearer(boris), 'content-type': 'application/json' },
			body: JSON.stringify({ message: 'Помогите' }),
		});
		expect(hand.status).toBe(204);
		const asked = await fetch(
			`${hubUrl()}/api/workshops/${workshop.id}/learners/${boris.id}/takeover`,
			{ method: 'POST', headers: instructor },
		);
		expect(asked.status).toBe(202);
		expect((await view()).learners[1]).toMatchObject({
			hand: { message: 'Помогите' },
			takeover: 'asked',
		});
		const ended = await fetch(
			`${hubUrl()}/api/workshops/${workshop.id}/learners/${boris.id}/takeover`,
			{ method: 'DELETE', headers: instructor },
		);
		expect(ended.status).toBe(204);
		// Борис's recordings: his own and his instructor's to read, not another learner's.
		const recordings = (headers: Record<string, string>) =>
			fetch(`${hubUrl()}/api/labs/${boris.id}/recordings`, { headers });
		for (const headers of [instructor, bearer(boris)]) {
			const res = await recordings(headers);
			expect(res.status).toBe(200);
			expect(await res.json()).toEqual(
				expect.arrayContaining([expect.objectContaining({ node: 'hap1', term: 'main' })]),
			);
		}
		expect((await recordings(bearer(joined[0]!))).status).toBe(403);
		// A lab of no workshop cannot be watched; an unknown workshop is a clear 404.
		const stranger = labs[0]!;
		const refused = new TerminalClient(
			`ws://127.0.0.1:${hub!.port}/api/labs/${stranger.id}/terminals/hap1`,
			{ token: stranger.token, view: true },
		);
		expect(await refused.refused()).toBe(403);
		const foreign = await fetch(
			`${hubUrl()}/api/workshops/${workshop.id}/learners/${stranger.id}/takeover`,
			{ method: 'POST', headers: instructor },
		);
		expect(foreign.status).toBe(404);
		expect(await foreign.json()).toMatchObject({ error: { code: 'lab-not-found' } });
		const unknown = await fetch(`${hubUrl()}/api/workshops/zzzzzzzzzz`, { headers: instructor });
		expect(unknown.status).toBe(404);
		expect(await unknown.json()).toMatchObject({ error: { code: 'workshop-not-found' } });
		// Another workshop's instructor cannot read this one's dashboard through an agent either.
		const straight = await fetch(`${agentUrl(1)}/api/workshops/${workshop.id}`, {
			headers: { [AGENT_KEY_HEADER]: KEY },
		});
		expect(straight.status).toBe(403);
		// Seats 3, two taken: the pool keeps one lab ready over both agents, not one on each.
		const settled = await waitFor(
			'the pool to settle',
			async () => {
				const now = await view();
				return now.pool.starting === 0 ? now.pool : undefined;
			},
			30_000,
			250,
		);
		expect(settled).toEqual({ ready: 1, starting: 0 });
		opened = { ...workshop, learners: joined.map((lab) => lab.id) };
	});

	it('loses no lab when the hub restarts: the new hub routes every one from the agents’ reports', async () => {
		await hub!.stop();
		await startTheHub();
		for (const lab of labs) {
			const res = await fetch(`${hubUrl()}/api/labs/${lab.id}`, { headers: bearer(lab) });
			expect(res.status).toBe(200);
			expect(((await res.json()) as LabView).id).toBe(lab.id);
		}
		const workshop = await fetch(`${hubUrl()}/api/workshops/${opened!.id}`, {
			headers: { authorization: `Bearer ${opened!.instructorToken}` },
		});
		expect(workshop.status).toBe(200);
		expect(((await workshop.json()) as WorkshopView).learners.map((l) => l.labId)).toEqual(
			opened!.learners,
		);
	});

	it('keeps an agent’s labs across its restart: 503 while it is away, served again once it is back, drained still', async () => {
		const mine = labs.filter((lab) => lab.id.startsWith(AGENT_IDS[0]!));
		const health = async () =>
			(
				(await (await fetch(`${hubUrl()}/api/health`)).json()) as {
					agents: { prefix: string; node: string; state: string; draining: boolean }[];
				}
			).agents.find((agent) => agent.prefix === AGENT_IDS[0]);
		const node = (await health())!.node;
		const drain = (method: string, key = KEY) =>
			fetch(`${hubUrl()}/api/cluster/nodes/${node}/drain`, {
				method,
				headers: { authorization: `Bearer ${key}` },
			});
		expect((await drain('POST', `${KEY}x`)).status).toBe(401);
		expect((await drain('POST')).status).toBe(200);
		await agents[0]!.stop();
		const away = await fetch(`${hubUrl()}/api/labs/${mine[0]!.id}`, { headers: bearer(mine[0]!) });
		expect(away.status).toBe(503);
		expect(await away.json()).toMatchObject({ error: { code: 'agent-unreachable' } });
		agents[0] = await agentOn(0);
		for (const lab of mine) {
			const status = await waitFor(
				`lab ${lab.id} served again`,
				async () => {
					const res = await fetch(`${hubUrl()}/api/labs/${lab.id}`, { headers: bearer(lab) });
					return res.status === 503 ? undefined : res.status;
				},
				10_000,
				100,
			);
			expect(status).toBe(200);
		}
		// Its share of the workshop came back with it: the dashboard still lists both learners.
		const dashboard = await fetch(`${hubUrl()}/api/workshops/${opened!.id}`, {
			headers: { authorization: `Bearer ${opened!.instructorToken}` },
		});
		expect(((await dashboard.json()) as WorkshopView).learners.map((l) => l.labId)).toEqual(
			opened!.learners,
		);
		// The drain outlived the restart; lifted, the agent takes labs again (the next test).
		expect(await health()).toMatchObject({ state: 'live', draining: true });
		const lifted = await drain('DELETE');
		expect(await lifted.json()).toMatchObject({ draining: false });
	});

	it('answers 410 for the labs of a stopped agent within 10 s, and keeps serving: new labs go elsewhere', async () => {
		const gone = labs.find((lab) => lab.id.startsWith(AGENT_IDS[1]!))!;
		const kept = labs.find((lab) => lab.id.startsWith(AGENT_IDS[0]!))!;
		const stoppedAt = Date.now();
		await agents[1]!.stop('SIGKILL');
		const answer = await waitFor(
			'the lost lab to answer 410',
			async () => {
				const res = await fetch(`${hubUrl()}/api/labs/${gone.id}`, { headers: bearer(gone) });
				return res.status === 410 ? await res.json() : undefined;
			},
			10_000,
			100,
		);
		expect(Date.now() - stoppedAt).toBeLessThan(10_000);
		expect(answer).toEqual({
			error: {
				code: 'agent-gone',
				message: 'Узел кластера недоступен, стенд потерян — создайте новый',
			},
		});
		const socket = new TerminalClient(
			`ws://127.0.0.1:${hub!.port}/api/labs/${gone.id}/terminals/hap1`,
			{
				token: gone.token,
			},
		);
		expect(await socket.refused()).toBe(410);

		const keptStatus = async () =>
			(await fetch(`${hubUrl()}/api/labs/${kept.id}`, { headers: bearer(kept) })).status;
		expect(await keptStatus()).toBe(200);
		// A body over the cap is refused, and the lab and the hub go on.
		const huge = await fetch(`${hubUrl()}/api/labs/${kept.id}/viewing`, {
			method: 'PUT',
			headers: { ...bearer(kept), 'content-type': 'application/json' },
			body: JSON.stringify({ step: 'x'.repeat(200_000) }),
		});
		expect(huge.status).toBe(413);
		expect(await keptStatus()).toBe(200);
		for (let i = 0; i < 2; i++) {
			const res = await fetch(`${hubUrl()}/api/labs`, { method: 'POST' });
			expect(res.status).toBe(201);
			expect(((await res.json()) as CreatedLab).id.startsWith(AGENT_IDS[0]!)).toBe(true);
		}
		const health = await fetch(`${hubUrl()}/api/health`);
		expect(health.status).toBe(200);
		expect(await health.json()).toMatchObject({
			agents: expect.arrayContaining([
				expect.objectContaining({ prefix: 'ag3', state: 'gone' }),
				expect.objectContaining({ prefix: 'ag2', state: 'live' }),
			]),
		});
	});

	it('deploys deploy/stack.yml on the same engines, the agents registering with the hub: labs through its hub on both, each naming its Swarm node, a workshop whose pool spans both, a terminal, and a drained engine takes no new lab but serves its own', async () => {
		for (const agent of agents) await agent.stop();
		const { url, instructorSecret } = await deployStack(hosts, serverImage, {
			hubPort: STACK_HUB_PORT,
			env: { WARM_LABS: '0' },
		});
		// Workshops are on: the hub reads its instructor secret from the Swarm secret.
		const workshops = (bearer: string) =>
			fetch(`${url}/api/workshops`, { headers: { authorization: `Bearer ${bearer}` } });
		expect((await workshops(instructorSecret)).status).toBe(200);
		expect((await workshops('not-the-instructor-secret')).status).toBe(403);
		// No list of agents given: both registered themselves (HUB_URL), and are asked from then on.
		const { stdout: hubEnv } = await run('docker', [
			'service',
			'inspect',
			'--format',
			'{{json .Spec.TaskTemplate.ContainerSpec.Env}}',
			'klab_hub',
		]);
		expect(hubEnv).toContain('"HUB_AGENTS="');
		const site = await fetch(`${url}/`);
		expect(site.status).toBe(200);
		expect(site.headers.get('content-type')).toMatch(/^text\/html/);
		const created: CreatedLab[] = [];
		for (let i = 0; i < 2; i++) {
			const res = await fetch(`${url}/api/labs`, { method: 'POST' });
			expect(res.status).toBe(201);
			created.push((await res.json()) as CreatedLab);
		}
		const nodes = await swarmNodes();
		expect(created.map((lab) => nodes.get(lab.agent!)).sort()).toEqual(
			hosts.map((host) => host.name).sort(),
		);
		// A workshop through the deployed hub: its pool spans both engines, and its dashboard
		// lists each learner with the engine their lab is on. Ended before the drain below.
		const {
			workshop,
			instructor,
			view: dashboard,
		} = await openWorkshop(url, instructorSecret, { title: 'Стек', pool: 2, seats: 2 });
		await waitFor(
			'the stack workshop’s pool',
			async () => ((await dashboard()).pool.ready === 2 ? true : undefined),
			90_000,
			250,
		);
		const learners: CreatedLab[] = [];
		for (const name of ['Вера', 'Глеб']) {
			const res = await fetch(`${url}/api/workshops/${workshop.code}/join`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ name }),
			});
			expect(res.status, await res.clone().text()).toBe(201);
			learners.push((await res.json()) as CreatedLab);
		}
		expect(new Set(learners.map((one) => nodes.get(one.agent!)))).toEqual(
			new Set(hosts.map((host) => host.name)),
		);
		expect((await dashboard()).learners.map((row) => [row.labId, row.agent])).toEqual(
			learners.map((one) => [one.id, one.agent]),
		);
		const ended = await fetch(`${url}/api/workshops/${workshop.id}`, {
			method: 'DELETE',
			headers: instructor,
		});
		expect(ended.ok).toBe(true);
		await waitFor(
			'the workshop’s labs gone from both engines',
			async () => {
				const { agents: all } = (await (await fetch(`${url}/api/health`)).json()) as {
					agents: { labs: number | null }[];
				};
				return all.reduce((sum, agent) => sum + (agent.labs ?? 0), 0) === created.length
					? true
					: undefined;
			},
			60_000,
			500,
		);

		const lab = created[0]!;
		const terminal = new TerminalClient(
			`ws://127.0.0.1:${STACK_HUB_PORT}/api/labs/${lab.id}/terminals/hap1`,
			{ token: lab.token },
		);
		await terminal.waitFor('ubuntu@hap1', 30_000);
		terminal.type('echo stack-$((6*7))\r');
		await terminal.waitFor('stack-42');
		terminal.ws.close(1000);

		// Draining an engine (npm run cluster:drain): new labs go to the other engine, and the
		// lab already there is still served, its terminal too.
		const drained = hosts[1]!;
		const staying = created.find((lab) => nodes.get(lab.agent!) === drained.name)!;
		expect(await drainNode(drained.name)).toMatchObject({ draining: true, labs: 1 });
		const health = (await (await fetch(`${url}/api/health`)).json()) as {
			agents: { node: string; state: string; draining: boolean }[];
		};
		expect(health.agents.find((a) => nodes.get(a.node) === drained.name)).toMatchObject({
			state: 'live',
			draining: true,
		});
		for (let i = 0; i < 2; i++) {
			const res = await fetch(`${url}/api/labs`, { method: 'POST' });
			expect(res.status).toBe(201);
			expect(nodes.get(((await res.json()) as CreatedLab).agent!)).toBe(hosts[0]!.name);
		}
		const still = await fetch(`${url}/api/labs/${staying.id}`, {
			headers: { authorization: `Bearer ${staying.token}` },
		});
		expect(still.status).toBe(200);
		const there = new TerminalClient(
			`ws://127.0.0.1:${STACK_HUB_PORT}/api/labs/${staying.id}/terminals/hap1`,
			{ token: staying.token },
		);
		await there.waitFor('ubuntu@hap1', 30_000);
		there.type('echo drained-$((6*7))\r');
		await there.waitFor('drained-42');
		there.ws.close(1000);
		expect(await drainNode(drained.name, false)).toMatchObject({ draining: false });
		await removeStack();
	});
});
