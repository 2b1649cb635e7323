import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_KEY_HEADER, type AgentCapacity } from '../api/cluster';
import { ManualClock } from '../lib/clock';
import { AgentRegistry } from './agent-registry';

const KEY = 'k'.repeat(32);
const GONE_MS = 5_000;

/** An agent's capacity endpoint, as far as the hub sees it (the key checked like the agent's gate). */
async function capacityServer(capacity: AgentCapacity): Promise<{ url: string; server: Server }> {
	const server = createServer((req, res) => {
		const ok = req.headers[AGENT_KEY_HEADER] === KEY && req.url === '/api/agent/capacity';
		res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
		res.end(JSON.stringify(ok ? capacity : { error: { code: 'agent-key-required' } }));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

const capacity = (agentId: string): AgentCapacity => ({
	agentId,
	node: `${agentId}node`,
	labs: 1,
	load: 1,
	maxLabs: 10,
	memFreeMb: 1000,
	diskFreeMb: 5000,
	inotifyFree: 1000,
	problems: [],
	draining: false,
});

describe('AgentRegistry', () => {
	let stateDir = '';
	const servers: Server[] = [];
	const clock = new ManualClock(1_000_000);
	const registry = (urls: string[], key = KEY) =>
		new AgentRegistry({
			urls,
			key,
			// Polled by hand below: the interval never fires within a test.
			pollMs: 60_000,
			goneMs: GONE_MS,
			stateDir,
			clock,
			log: pino({ level: 'silent' }),
		});

	beforeEach(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-registry-'));
	});
	afterEach(async () => {
		for (const server of servers.splice(0)) server.close();
		await rm(stateDir, { recursive: true, force: true });
	});

	it('routes a lab by its id’s prefix to the agent that reported it, and places on the roomier one', async () => {
		const a = await capacityServer({ ...capacity('aaa1'), labs: 5, load: 5 });
		const b = await capacityServer(capacity('bbb1'));
		servers.push(a.server, b.server);
		const agents = registry([a.url, b.url]);
		await agents.start();
		agents.stop();
		expect(agents.lookup('aaa0000000')).toMatchObject({ state: 'live', agent: { url: a.url } });
		expect(agents.lookup('bbb0000000')).toMatchObject({ state: 'live', agent: { url: b.url } });
		expect(agents.lookup('ccc0000000')).toEqual({ state: 'unknown' });
		expect(agents.pick()?.url).toBe(b.url);
	});

	it('calls a silent agent unreachable, then gone after AGENT_GONE_SECONDS, and places nothing there', async () => {
		const a = await capacityServer(capacity('aaa1'));
		const agents = registry([a.url]);
		await agents.start();
		agents.stop();
		await new Promise((resolve) => a.server.close(resolve));
		await agents.poll();
		clock.advance(GONE_MS - 1);
		expect(agents.lookup('aaa0000000').state).toBe('live');
		clock.advance(2);
		await agents.poll();
		expect(agents.lookup('aaa0000000')).toEqual({ state: 'gone' });
		expect(agents.pick()).toBeNull();
	});

	it('knows after its own restart an agent that did not come back: gone, not a stranger', async () => {
		const a = await capacityServer(capacity('aaa1'));
		const first = registry([a.url]);
		await first.start();
		first.stop();
		await new Promise((resolve) => a.server.close(resolve));
		const next = registry([a.url]);
		await next.start();
		next.stop();
		expect(next.lookup('aaa0000000').state).toBe('unreachable');
		clock.advance(GONE_MS + 1);
		expect(next.lookup('aaa0000000')).toEqual({ state: 'gone' });
	});

	it('never takes an agent that refuses its key', async () => {
		const a = await capacityServer(capacity('aaa1'));
		servers.push(a.server);
		const agents = registry([a.url], 'x'.repeat(32));
		await agents.start();
		agents.stop();
		expect(agents.lookup('aaa0000000')).toEqual({ state: 'unknown' });
		expect(agents.pick()).toBeNull();
	});
});
