/**
 * The hub with stand-in agents that speak the agent API (capacity, holders, a new lab): what is
 * under test is the hub's own part, not the labs. It counts the per-address cap and the creation
 * rate over all its agents (each agent counts only its own labs, so a learner could otherwise
 * multiply both by the number of agents), and learns agents that register themselves.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
	AGENT_CLIENT_HEADER,
	AGENT_KEY_HEADER,
	AGENT_SESSION_HEADER,
	type AgentCapacity,
	type AgentHolders,
} from '../api/cluster';
import { loadConfig } from '../config/config';
import { loadClusterConfig } from './cluster-config';
import { createHubServer, type HubServer } from './hub-server';

const KEY = 'k'.repeat(32);

interface StandIn {
	url: string;
	server: Server;
	/** The labs it made: who asked, from where (as the hub said). */
	labs: { session: string; ip: string }[];
}

async function standIn(agentId: string): Promise<StandIn> {
	const labs: StandIn['labs'] = [];
	const server = createServer((req, res) => {
		const send = (status: number, body: unknown) => {
			res.writeHead(status, { 'content-type': 'application/json' });
			res.end(JSON.stringify(body));
		};
		if (req.headers[AGENT_KEY_HEADER] !== KEY) return send(401, {});
		const url = new URL(req.url ?? '/', 'http://agent');
		if (url.pathname === '/api/agent/capacity') {
			const body: AgentCapacity = {
				agentId,
				node: null,
				labs: labs.length,
				load: labs.length,
				maxLabs: 40,
				memFreeMb: 1000,
				diskFreeMb: 5000,
				inotifyFree: 1000,
				problems: [],
				draining: false,
			};
			return send(200, body);
		}
		if (url.pathname === '/api/agent/holders') {
			const body: AgentHolders = {
				session: labs.filter((lab) => lab.session === url.searchParams.get('session')).length,
				ip: labs.filter((lab) => lab.ip === url.searchParams.get('ip')).length,
			};
			return send(200, body);
		}
		if (url.pathname === '/api/labs' && req.method === 'POST') {
			labs.push({
				session: String(req.headers[AGENT_SESSION_HEADER]),
				ip: String(req.headers[AGENT_CLIENT_HEADER]),
			});
			return send(201, { id: `${agentId}${labs.length}`.padEnd(10, '0'), token: 't' });
		}
		// A workshop's share is taken, but never shows a lab ready (its pool still booting).
		if (url.pathname.startsWith('/api/agent/workshops/') && req.method === 'PUT') {
			res.writeHead(204).end();
			return;
		}
		return send(404, {});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, labs };
}

describe('the hub’s caps over all agents', () => {
	let dir = '';
	let agents: StandIn[] = [];
	let hub: HubServer | null = null;

	let base = '';
	const startHub = async (env: Record<string, string>, listed = true) => {
		dir = await mkdtemp(path.join(tmpdir(), 'klab-hub-'));
		agents = [await standIn('aaa'), await standIn('bbb')];
		const all = {
			ROLE: 'hub',
			AGENT_KEY: KEY,
			HUB_AGENTS: listed ? agents.map((agent) => agent.url).join(',') : '',
			STATE_DIR: dir,
			PORT: '0',
			HOST: '127.0.0.1',
			...env,
		};
		hub = createHubServer({
			config: loadConfig(all),
			cluster: loadClusterConfig(all),
			log: pino({ level: 'silent' }),
			siteDir: null,
		});
		const { port } = await hub.start();
		base = `http://127.0.0.1:${port}`;
		return (init: RequestInit = {}) => fetch(`${base}/api/labs`, { method: 'POST', ...init });
	};

	afterEach(async () => {
		await hub?.stop();
		for (const agent of agents) await new Promise((resolve) => agent.server.close(resolve));
		if (dir) await rm(dir, { recursive: true, force: true });
	});

	it('refuses an address its share once its labs over both agents reach MAX_LABS_PER_IP', async () => {
		const create = await startHub({ MAX_LABS_PER_IP: '3', LAB_CREATE_PER_MINUTE: '10000' });
		for (let i = 0; i < 3; i++) expect((await create()).status).toBe(201);
		// Each agent holds fewer than three: only the hub's count over both refuses.
		expect(agents.map((agent) => agent.labs.length).sort()).toEqual([1, 2]);
		expect(agents.flatMap((agent) => agent.labs.map((lab) => lab.ip))).toEqual(
			Array(3).fill('127.0.0.1'),
		);
		const fourth = await create();
		expect(fourth.status).toBe(429);
		expect(await fourth.json()).toEqual({
			error: {
				code: 'too-many-labs-per-address',
				message: 'С вашего адреса уже запущено стендов: 3, больше нельзя. Завершите один из них.',
			},
		});
		expect(agents.reduce((sum, agent) => sum + agent.labs.length, 0)).toBe(3);
	});

	it('lets LAB_CREATE_PER_MINUTE new labs through over all agents, not per agent', async () => {
		// 4 a minute: a burst of one, then one each 15 s.
		const create = await startHub({ LAB_CREATE_PER_MINUTE: '4' });
		expect((await create()).status).toBe(201);
		const waiting = await create();
		expect(waiting.status).toBe(503);
		expect(await waiting.json()).toMatchObject({ error: { code: 'no-capacity' } });
		expect(agents.reduce((sum, agent) => sum + agent.labs.length, 0)).toBe(1);
	});

	it('keeps a client from writing the hub’s own headers to an agent', async () => {
		const create = await startHub({});
		expect(
			(
				await create({
					headers: { [AGENT_CLIENT_HEADER]: '10.9.9.9', [AGENT_SESSION_HEADER]: 'f'.repeat(64) },
				})
			).status,
		).toBe(201);
		const [lab] = agents.flatMap((agent) => agent.labs);
		expect(lab).toMatchObject({ ip: '127.0.0.1' });
		expect(lab!.session).not.toBe('f'.repeat(64));
	});

	it('learns an agent that registers with the key, and only with it', async () => {
		const create = await startHub({}, false);
		const register = (url: string, key = KEY) =>
			fetch(`${base}/api/cluster/agents`, {
				method: 'POST',
				headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
				body: JSON.stringify({ url }),
			});
		// No agent yet: nowhere to put a lab.
		expect((await create()).status).toBe(503);
		expect((await register(agents[0]!.url, `${KEY}x`)).status).toBe(401);
		const bad = await register(`${agents[0]!.url}/path`);
		expect(bad.status).toBe(400);
		expect(await bad.json()).toMatchObject({ error: { code: 'bad-request' } });
		expect((await register(agents[0]!.url)).status).toBe(204);
		expect((await create()).status).toBe(201);
		expect(agents[0]!.labs).toHaveLength(1);
		const health = await fetch(`${base}/api/health`);
		expect(await health.json()).toMatchObject({ agents: [{ prefix: 'aaa', state: 'live' }] });
	});

	it('counts a browser’s joins over all agents: the sixth in a row is refused by the hub', async () => {
		const secret = 's'.repeat(32);
		await startHub({ INSTRUCTOR_SECRET: secret });
		const opened = await fetch(`${base}/api/workshops`, {
			method: 'POST',
			headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
			body: JSON.stringify({ pool: 2 }),
		});
		expect(opened.status).toBe(201);
		const { code } = (await opened.json()) as { code: string };
		const join = (cookie?: string) =>
			fetch(`${base}/api/workshops/${code}/join`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
				body: JSON.stringify({ name: 'Анна' }),
			});
		const first = await join();
		expect(first.status).toBe(503);
		expect(await first.json()).toMatchObject({ error: { code: 'pool-refilling' } });
		const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
		for (let i = 0; i < 4; i++) expect((await join(cookie)).status).toBe(503);
		const sixth = await join(cookie);
		expect(sixth.status).toBe(429);
		expect(await sixth.json()).toMatchObject({ error: { code: 'too-many-joins' } });
	});
});
