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
import type { CreatedLab, LabView } from '../src/api';
import { AGENT_KEY_HEADER } from '../src/api/cluster';
import { ensureHostFirewall } from '../src/docker/host-firewall';
import { hostsDown, hostsUp, type TestHost } from '../../scripts/test-hosts';
import { ensureServerImage } from '../../scripts/cluster-image';
import { deployStack, removeStack } from '../../scripts/cluster';
import { startAgent, startHub, type Started } from '../testing/cluster-processes';
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
describe('a hub and lab agents on three Docker engines', () => {
	let hosts: TestHost[] = [];
	let serverImage = '';
	let dir = '';
	const agents: Started[] = [];
	let hub: Started | null = null;
	const labs: CreatedLab[] = [];
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

	it('loses no lab when the hub restarts: the new hub routes every one from the agents’ reports', async () => {
		await hub!.stop();
		await startTheHub();
		for (const lab of labs) {
			const res = await fetch(`${hubUrl()}/api/labs/${lab.id}`, { headers: bearer(lab) });
			expect(res.status).toBe(200);
			expect(((await res.json()) as LabView).id).toBe(lab.id);
		}
	});

	it('keeps an agent’s labs across its restart: 503 while it is away, served again once it is back', async () => {
		const mine = labs.filter((lab) => lab.id.startsWith(AGENT_IDS[0]!));
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

	it('deploys deploy/stack.yml on the same engines: labs through its hub on both, each naming its Swarm node, a terminal, and a drained engine takes no new lab', async () => {
		for (const agent of agents) await agent.stop();
		const url = await deployStack(hosts, serverImage, {
			hubPort: STACK_HUB_PORT,
			env: { WARM_LABS: '0' },
		});
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
		const lab = created[0]!;
		const terminal = new TerminalClient(
			`ws://127.0.0.1:${STACK_HUB_PORT}/api/labs/${lab.id}/terminals/hap1`,
			{ token: lab.token },
		);
		await terminal.waitFor('ubuntu@hap1', 30_000);
		terminal.type('echo stack-$((6*7))\r');
		await terminal.waitFor('stack-42');
		terminal.ws.close(1000);

		// Draining an engine stops its agent's task: new labs go to the other engine.
		const drained = hosts[1]!;
		await run('docker', ['node', 'update', '--availability', 'drain', drained.name]);
		await waitFor(
			'the drained engine’s agent to leave the placement',
			async () => {
				const health = (await (await fetch(`${url}/api/health`)).json()) as {
					agents: { node: string; state: string }[];
				};
				const agent = health.agents.find((a) => nodes.get(a.node) === drained.name);
				return agent && agent.state !== 'live' ? true : undefined;
			},
			30_000,
			250,
		);
		for (let i = 0; i < 2; i++) {
			const res = await fetch(`${url}/api/labs`, { method: 'POST' });
			expect(res.status).toBe(201);
			expect(nodes.get(((await res.json()) as CreatedLab).agent!)).toBe(hosts[0]!.name);
		}
		await removeStack();
	});
});
