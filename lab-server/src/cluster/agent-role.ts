/**
 * What makes a lab server an agent (`ROLE=agent`): every request and every WebSocket upgrade must
 * carry the agent key (401 otherwise, before any route, site or terminal sees it); the hub is the
 * edge, so the Host/Origin checks and the browser session are the hub's, and the agent trusts
 * what the hub forwards (`x-klab-session`); it reports its capacity on `GET /api/agent/capacity`
 * and names its Swarm node in every lab view.
 */
import { freemem } from 'node:os';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { AGENT_KEY_HEADER, AGENT_SESSION_HEADER, type AgentCapacity } from '../api/cluster';
import type { Config } from '../config/config';
import type { hostHealth } from '../docker/host-health';
import { sendJson } from '../http/body';
import { HttpError } from '../http/errors';
import type { RequestGuard } from '../http/guard';
import { route, type Route } from '../http/router';
import type { BrowserSessions } from '../http/sessions';
import { refuseUpgrade } from '../terminals/upgrade';
import type { LabManager } from '../labs/manager';
import { setAgentPrefix, setClusterNode } from './agent-id';
import type { ClusterConfig } from './cluster-config';
import { keyMatches, loadAgentKey } from './agent-key';

const SESSION = /^[a-f0-9]{64}$/;

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
	/** Learns the engine's Swarm node id (every lab view names it). */
	start(): Promise<void>;
}

export function agentRole(deps: {
	config: Config;
	cluster: ClusterConfig;
	docker: Docker;
	labs: LabManager;
	host: ReturnType<typeof hostHealth>;
	log: Logger;
}): AgentRole {
	const { config, docker, labs, host, log } = deps;
	const key = loadAgentKey(deps.cluster);
	const agentId = deps.cluster.agentId!;
	setAgentPrefix(agentId);
	let node: string | null = null;
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
				};
				sendJson(res, 200, body);
			}),
			// The hub counts a session's labs over every agent before it places another.
			route('GET', /^\/api\/agent\/sessions\/([a-f0-9]{64})$/, async ({ res, params }) => {
				const held = labs
					.list()
					.filter((lab) => lab.ownerHash === params[0] && lab.status !== 'stopped').length;
				sendJson(res, 200, { labs: held });
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
		async start() {
			const info = (await docker.info()) as { Swarm?: { NodeID?: string } };
			node = info.Swarm?.NodeID || null;
			setClusterNode(node);
			log.info({ agentId, node }, 'lab agent: serving the hub only');
		},
	};
}
