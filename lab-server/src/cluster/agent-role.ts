/**
 * What makes a lab server an agent (`ROLE=agent`): every request and every WebSocket upgrade must
 * carry the agent key (401 otherwise, before any route, site or terminal sees it); the hub is the
 * edge, so the Host/Origin checks and the browser session are the hub's, and the agent trusts
 * what the hub forwards (`x-klab-session`); it reports its capacity on `GET /api/agent/capacity`
 * and names its Swarm node in every lab view.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { freemem } from 'node:os';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
	AGENT_CLIENT_HEADER,
	AGENT_INSTRUCTOR_HEADER,
	AGENT_KEY_HEADER,
	AGENT_SESSION_HEADER,
	type AgentCapacity,
	type AgentHolders,
} from '../api/cluster';
import type { Config } from '../config/config';
import type { hostHealth } from '../docker/host-health';
import { readJson, sendJson, sendNoContent } from '../http/body';
import { HttpError, parseBody } from '../http/errors';
import type { RequestGuard } from '../http/guard';
import { route, type Route } from '../http/router';
import type { BrowserSessions } from '../http/sessions';
import { refuseUpgrade } from '../terminals/upgrade';
import type { LabManager } from '../labs/manager';
import { ID_PATTERN } from '../lib/ids';
import { stateFile } from '../lib/state-file';
import type { WorkshopManager } from '../workshops/manager';
import { setAgentPrefix, setClusterNode } from './agent-id';
import type { ClusterConfig } from './cluster-config';
import { keyMatches, loadAgentKey } from './agent-key';

const SESSION = /^[a-f0-9]{64}$/;

/** `PUT /api/agent/workshops/:id` (api/cluster.ts `WorkshopShard`), from the hub only. */
const shardBody = z
	.object({
		code: z.string().regex(/^[A-Z0-9]{6}$/),
		title: z.string().min(1).max(200),
		seats: z.number().int().min(0).max(10_000),
		pool: z.number().int().min(0).max(1_000),
		createdAt: z.number().int().nonnegative(),
		instructorTokenHash: z.string().regex(/^[0-9a-f]{64}$/),
	})
	.strict();
const drainBody = z.object({ draining: z.boolean() }).strict();
/** How often an agent with `HUB_URL` registers again (a restarted hub learns it within this). */
const REGISTER_MS = 5_000;

export interface AgentRole {
	/** The hub's forwarded session: the agent issues no cookie of its own. */
	sessions: BrowserSessions;
	/** Host and Origin were checked by the hub; the key (checked first) is what the agent trusts. */
	guard: RequestGuard;
	routes: Route[];
	/** The request handler behind the key check. */
	gate(
		handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
	): (req: IncomingMessage, res: ServerResponse) => void;
	/** Puts the key check in front of every `upgrade` listener the server has now. */
	gateUpgrades(http: Server): void;
	/**
	 * Learns the engine's Swarm node id (every lab view names it), and with `HUB_URL` starts
	 * registering with the hub.
	 */
	start(): Promise<void>;
	stop(): void;
	/** Drained by the operator: no new lab, no pool refilled, the labs it holds served. */
	readonly draining: boolean;
	/**
	 * The learner's address as the hub saw it (`x-klab-client`, hub-proxy.ts), so per-address
	 * counts are the learner's, not the hub's.
	 */
	clientAddress(req: IncomingMessage): string | null;
}

/** The workshop the hub authorized a request's instructor for (workshops/access.ts). */
export function assertedInstructor(req: IncomingMessage): string | null {
	const id = req.headers[AGENT_INSTRUCTOR_HEADER];
	return typeof id === 'string' && new RegExp(`^${ID_PATTERN}$`).test(id) ? id : null;
}

export function agentRole(deps: {
	config: Config;
	cluster: ClusterConfig;
	docker: Docker;
	labs: LabManager;
	/** Bound once the workshops exist (they are made after the agent's session and guard). */
	workshops: () => WorkshopManager;
	host: ReturnType<typeof hostHealth>;
	log: Logger;
}): AgentRole {
	const { config, docker, labs, host, log } = deps;
	let draining = false;
	// Kept across the agent's restart (a rolling update): a drained node stays drained.
	const drainFile = stateFile({
		dir: path.resolve(config.stateDir),
		name: 'agent-drain.json',
		schema: z.object({ draining: z.boolean() }),
		empty: () => ({ draining: false }),
		log,
	});
	const key = loadAgentKey(deps.cluster);
	const agentId = deps.cluster.agentId!;
	setAgentPrefix(agentId);
	let node: string | null = null;
	let registering: ReturnType<typeof setInterval> | null = null;
	/** Tells the hub at `HUB_URL` where this agent is; a hub away is asked again next time. */
	const register = async (hubUrl: string, url: string) => {
		try {
			const res = await fetch(`${hubUrl}/api/cluster/agents`, {
				method: 'POST',
				headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
				body: JSON.stringify({ url }),
				signal: AbortSignal.timeout(REGISTER_MS),
			});
			if (!res.ok) log.warn({ hubUrl, status: res.status }, 'the hub refused the registration');
			await res.body?.cancel();
		} catch (error) {
			log.debug({ hubUrl, err: error }, 'the hub did not take the registration');
		}
	};
	const unauthorized = () =>
		new HttpError(401, 'agent-key-required', 'Агент принимает запросы только от хаба кластера.');

	return {
		sessions: {
			hashOf(req) {
				const hash = req.headers[AGENT_SESSION_HEADER];
				if (typeof hash !== 'string' || !SESSION.test(hash)) {
					throw new HttpError(400, 'session-required', 'Запрос пришёл без сеанса хаба.');
				}
				return hash;
			},
		},
		guard: { checkHost() {}, checkWrite() {} },
		routes: [
			route('GET', /^\/api\/agent\/capacity$/, async ({ res }) => {
				const health = await host.current();
				const body: AgentCapacity = {
					agentId,
					node,
					labs: labs.size,
					load: labs.load,
					maxLabs: config.maxLabs,
					memFreeMb: Math.floor(freemem() / 1024 / 1024),
					diskFreeMb: health.diskFreeMb,
					inotifyFree: health.inotifyFree,
					problems: health.problems.map((problem) => problem.message),
					draining,
				};
				sendJson(res, 200, body);
			}),
			// The hub counts a session's and an address's labs over every agent before it places
			// another (MAX_LABS_PER_CLIENT, MAX_LABS_PER_IP).
			route('GET', /^\/api\/agent\/holders$/, async ({ req, res }) => {
				const query = new URL(req.url ?? '/', 'http://agent').searchParams;
				const session = query.get('session') ?? '';
				const ip = query.get('ip');
				const held = labs.list().filter((lab) => lab.status !== 'stopped');
				const body: AgentHolders = {
					session: held.filter((lab) => lab.ownerHash === session).length,
					ip: ip ? held.filter((lab) => lab.clientIp === ip).length : 0,
				};
				sendJson(res, 200, body);
			}),
			route('PUT', new RegExp(`^/api/agent/workshops/(${ID_PATTERN})$`), async (ctx) => {
				deps.workshops().shard(ctx.params[0]!, parseBody(shardBody, await readJson(ctx.req)));
				sendNoContent(ctx.res);
			}),
			route('PUT', /^\/api\/agent\/drain$/, async ({ req, res }) => {
				const wanted = parseBody(drainBody, await readJson(req)).draining;
				if (wanted !== draining) {
					log.warn({ agentId, labs: labs.size }, wanted ? 'agent draining' : 'agent drain lifted');
				}
				draining = wanted;
				await drainFile.write(() => ({ draining }));
				sendJson(res, 200, { draining, labs: labs.size });
			}),
		],
		gate(handler) {
			return (req, res) => {
				if (keyMatches(req.headers[AGENT_KEY_HEADER], key)) {
					void handler(req, res);
					return;
				}
				const error = unauthorized();
				sendJson(res, error.status, error.body);
			};
		},
		gateUpgrades(http) {
			const listeners = http.listeners('upgrade') as ((...args: unknown[]) => void)[];
			http.removeAllListeners('upgrade');
			http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
				if (keyMatches(req.headers[AGENT_KEY_HEADER], key)) {
					for (const listener of listeners) listener.call(http, req, socket, head);
				} else {
					socket.on('error', () => undefined);
					refuseUpgrade(socket, unauthorized());
				}
			});
		},
		get draining() {
			return draining;
		},
		clientAddress: (req) => {
			const client = req.headers[AGENT_CLIENT_HEADER];
			return typeof client === 'string' && isIP(client) ? client : null;
		},
		async start() {
			draining = (await drainFile.read()).draining;
			const info = (await docker.info()) as { Swarm?: { NodeID?: string; NodeAddr?: string } };
			node = info.Swarm?.NodeID || null;
			setClusterNode(node);
			log.info({ agentId, node, draining }, 'lab agent: serving the hub only');
			const { hubUrl } = deps.cluster;
			if (!hubUrl) return;
			const address = info.Swarm?.NodeAddr;
			const url = deps.cluster.agentUrl ?? (address ? `http://${address}:${config.port}` : null);
			if (!url) {
				log.error('HUB_URL without AGENT_URL outside a Swarm: the hub cannot be told where I am');
				return;
			}
			void register(hubUrl, url);
			registering = setInterval(() => void register(hubUrl, url), REGISTER_MS);
			registering.unref();
		},
		stop() {
			if (registering) clearInterval(registering);
			registering = null;
		},
	};
}
