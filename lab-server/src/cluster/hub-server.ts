/**
 * The hub (`ROLE=hub`): the site, the public API's edge (Host and Origin checks, the browser
 * session), placement of new labs on its agents, and the routing of every later lab call, event
 * stream and terminal to the agent its lab id names. It holds no lab and needs no Docker engine.
 * It owns the workshops, each spread over the agents (hub-workshops.ts), and counts the caps and
 * the creation rate of new labs over all agents (README «Roles: hub and agents»).
 */
import { listen } from '../http/listen';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config/config';
import { originAllowed } from '../http/auth';
import { readJson, sendJson, sendNoContent } from '../http/body';
import { isSecure } from '../http/cookies';
import { HttpError, parseBody } from '../http/errors';
import { requestGuard } from '../http/guard';
import { createRequestHandler, route, type Route, type RouteContext } from '../http/router';
import { browserSessions, loadSessionKey } from '../http/sessions';
import { clientAddress } from '../http/cookies';
import { bearer } from '../http/auth';
import { Admission } from '../labs/admission';
import { staticSite } from '../http/static-site';
import { systemClock, type Clock } from '../lib/clock';
import { ID_PATTERN } from '../lib/ids';
import { refuseUpgrade } from '../terminals/upgrade';
import { keyMatches, loadAgentKey } from './agent-key';
import { AgentRegistry } from './agent-registry';
import type { ClusterConfig } from './cluster-config';
import { proxyRequest, proxyUpgrade, type ForwardOptions } from './hub-proxy';
import { hubWorkshops } from './hub-workshops';

const LAB_PATH = new RegExp(`^/api/labs/(${ID_PATTERN})(?:/.*)?$`);
/** A learner's recordings: for their workshop's instructor only (workshops/access.ts). */
const RECORDINGS_PATH = new RegExp(`^/api/labs/${ID_PATTERN}/recordings(?:/.*)?$`);
/** `POST /api/cluster/agents`: the agent's base URL, as `HUB_AGENTS` would list it. */
const registerBody = z
	.object({
		url: z
			.string()
			.max(200)
			.refine((url) => {
				const parsed = URL.canParse(url) ? new URL(url) : null;
				return parsed?.protocol === 'http:' && parsed.origin === url;
			}, 'ожидается адрес вида http://host:port'),
	})
	.strict();
/** Terminal sockets passed on at once; past it an upgrade is refused (each holds two sockets). */
const MAX_TUNNELS = 10_000;

export interface HubServer {
	http: Server;
	agents: AgentRegistry;
	start(): Promise<{ port: number }>;
	stop(): Promise<void>;
}

/** The lab's agent has gone: the lab went with it. */
export function agentGone(): HttpError {
	return new HttpError(
		410,
		'agent-gone',
		'Узел кластера недоступен, стенд потерян — создайте новый',
	);
}

function agentUnreachable(): HttpError {
	return new HttpError(
		503,
		'agent-unreachable',
		'Узел кластера со стендом не отвечает. Повторите через несколько секунд.',
		{ headers: { 'Retry-After': '3' } },
	);
}

function labNotFound(): HttpError {
	return new HttpError(404, 'lab-not-found', 'Стенд не найден.');
}

export function createHubServer(options: {
	config: Config;
	cluster: ClusterConfig;
	log: Logger;
	siteDir: string | null;
	clock?: Clock;
}): HubServer {
	const { config, cluster, log } = options;
	const key = loadAgentKey(cluster);
	const stateDir = path.resolve(config.stateDir);
	const agents = new AgentRegistry({
		urls: cluster.hubAgents,
		key,
		pollMs: cluster.agentPollMs,
		goneMs: cluster.agentGoneMs,
		stateDir,
		clock: options.clock ?? systemClock,
		log,
	});
	const sessions = browserSessions(loadSessionKey(stateDir));
	const guard = requestGuard(config);
	const forward = (extra: Partial<ForwardOptions> = {}): ForwardOptions => ({
		key,
		trustProxy: config.trustProxy,
		...extra,
	});

	/** The lab's agent, or the error its lab answers with. */
	const ownerOf = (labId: string) => {
		const found = agents.lookup(labId);
		if (found.state === 'gone') throw agentGone();
		if (found.state === 'unknown') throw labNotFound();
		if (found.state === 'unreachable') throw agentUnreachable();
		return found.agent;
	};

	const workshops = hubWorkshops({
		config,
		agents,
		key,
		stateDir,
		clock: options.clock ?? systemClock,
		log,
		sessions,
		ownerOf,
		forwardAsInstructor: ({ req, res, params }, agent, workshopId) =>
			proxyToAgent(req, res, agent, params[1]!, forward({ instructor: workshopId })),
	});

	const proxyToAgent = (
		req: IncomingMessage,
		res: RouteContext['res'],
		agent: ReturnType<typeof ownerOf>,
		labId: string,
		options: ForwardOptions,
	) =>
		proxyRequest(req, res, agent.url, options).catch((error: unknown) => {
			if (error instanceof HttpError) throw error;
			// No log of its own: the router logs the 503 (and a gone agent's 410 is no fault here).
			throw agents.lookup(labId).state === 'gone' ? agentGone() : agentUnreachable();
		});

	const toLab = async ({ req, res, params }: RouteContext) => {
		const labId = params[0]!;
		const agent = ownerOf(labId);
		// A learner's recordings open to the learner (the agent checks the lab's token) and to
		// their workshop's instructor, checked here.
		const pathname = new URL(req.url ?? '/', 'http://hub').pathname;
		const instructor = RECORDINGS_PATH.test(pathname) ? workshops.instructorIf(req, labId) : null;
		await proxyToAgent(req, res, agent, labId, forward(instructor ? { instructor } : {}));
	};

	// The creation rate over all agents (LAB_CREATE_PER_MINUTE): each agent counts its own too,
	// which the hub's count keeps them under.
	const admission = new Admission({
		clock: options.clock ?? systemClock,
		hasRoom: () => true,
		createPerMinute: config.labCreatePerMinute,
	});
	/** Creates passed on and not answered yet: counted against the caps like the agents' labs. */
	const creating: { session: string; ip: string | null }[] = [];

	/** The operator's and the agents' own calls to the hub carry the agent key as Bearer. */
	const requireKey = (req: IncomingMessage) => {
		if (!keyMatches(bearer(req), key)) {
			throw new HttpError(401, 'agent-key-required', 'Нужен ключ агентов кластера.');
		}
	};

	/** `npm run cluster:drain` (scripts/cluster.ts): the operator, holding the agent key. */
	const drain = async ({ req, res, params }: RouteContext) => {
		requireKey(req);
		const agent = await agents.drain(params[0]!, req.method === 'POST');
		if (!agent) {
			throw new HttpError(404, 'agent-not-found', 'Живого агента на этом узле кластера нет.');
		}
		sendJson(res, 200, {
			node: agent.node,
			draining: agent.capacity?.draining ?? false,
			labs: agent.capacity?.labs ?? null,
		});
	};

	const routes: Route[] = [
		route('GET', /^\/api\/health$/, async ({ res }) => {
			const list = agents.list();
			const live = list.filter((agent) => agent.state === 'live').length;
			sendJson(res, live > 0 ? 200 : 503, {
				ok: live > 0,
				agents: list.map((agent) => ({
					prefix: agent.prefix,
					node: agent.node,
					state: agent.state,
					labs: agent.capacity?.labs ?? null,
					maxLabs: agent.capacity?.maxLabs ?? null,
					draining: agent.capacity?.draining ?? false,
				})),
			});
		}),
		route('POST', /^\/api\/labs$/, async ({ req, res }) => {
			const session = sessions.hashOf(req, res, isSecure(req, config.trustProxy));
			const ip = clientAddress(req, config.trustProxy);
			// Each agent counts its own labs; the caps are over all of them, creates in flight too.
			const held = await agents.holders(session, ip);
			const mine = held.session + creating.filter((c) => c.session === session).length;
			if (mine >= config.maxLabsPerClient) {
				throw new HttpError(
					429,
					'too-many-labs',
					`У вас уже есть стендов: ${mine}. Завершите один из них, прежде чем запускать новый.`,
				);
			}
			const fromIp = held.ip + creating.filter((c) => ip !== null && c.ip === ip).length;
			if (config.maxLabsPerIp > 0 && ip !== null && fromIp >= config.maxLabsPerIp) {
				throw new HttpError(
					429,
					'too-many-labs-per-address',
					`С вашего адреса уже запущено стендов: ${fromIp}, больше нельзя. Завершите один из них.`,
				);
			}
			admission.admit(session);
			const agent = agents.pick();
			if (!agent) {
				throw new HttpError(
					503,
					'cluster-full',
					'Все узлы кластера заняты или недоступны. Попробуйте запустить стенд через минуту.',
					{ headers: { 'Retry-After': '30' } },
				);
			}
			agents.placed(agent);
			const entry = { session, ip };
			creating.push(entry);
			await proxyRequest(req, res, agent.url, forward({ session }))
				.catch((error: unknown) => {
					if (error instanceof HttpError) throw error;
					log.warn({ agent: agent.url, err: error }, 'agent did not answer a new lab');
					throw agentUnreachable();
				})
				.finally(() => creating.splice(creating.indexOf(entry), 1));
		}),
		...(['GET', 'POST', 'PUT', 'DELETE'] as const).map((method) => route(method, LAB_PATH, toLab)),
		...workshops.routes,
		// An agent with `HUB_URL` registers itself here (agent-role.ts): no HUB_AGENTS list needed.
		route('POST', /^\/api\/cluster\/agents$/, async ({ req, res }) => {
			requireKey(req);
			const { url } = parseBody(registerBody, await readJson(req));
			await agents.register(url);
			sendNoContent(res);
		}),
		route('POST', /^\/api\/cluster\/nodes\/([a-z0-9]{1,64})\/drain$/, drain),
		route('DELETE', /^\/api\/cluster\/nodes\/([a-z0-9]{1,64})\/drain$/, drain),
	];

	const http = createServer(
		createRequestHandler({
			routes,
			guard,
			log,
			site: options.siteDir ? staticSite(options.siteDir, config) : null,
		}),
	);
	const tunnels = new Set<Duplex>();
	http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
		socket.on('error', () => undefined);
		try {
			guard.checkHost(req);
			if (!originAllowed(req, config.allowedOrigins)) {
				throw new HttpError(
					403,
					'origin-not-allowed',
					'Терминал можно открыть только со страницы курса.',
				);
			}
			const labId = LAB_PATH.exec(new URL(req.url ?? '/', 'http://hub').pathname)?.[1];
			if (!labId) throw new HttpError(404, 'not-found', 'Такого терминала нет.');
			if (tunnels.size >= MAX_TUNNELS) {
				throw new HttpError(503, 'hub-busy', 'Хаб кластера перегружен. Повторите через минуту.');
			}
			const agent = ownerOf(labId);
			// The instructor's read-only viewer: checked here, for the learner's workshop.
			let instructor: string | null = null;
			if (new URL(req.url ?? '/', 'http://hub').searchParams.get('view') === '1') {
				instructor = workshops.instructorFor(req, labId);
				if (!instructor) {
					throw new HttpError(403, 'forbidden', 'Смотреть можно только терминалы стендов занятия.');
				}
			}
			tunnels.add(socket);
			socket.on('close', () => tunnels.delete(socket));
			const options = forward(instructor ? { instructor } : {});
			proxyUpgrade(req, socket, head, agent.url, options, (error) => {
				log.warn({ agent: agent.url, err: error }, 'agent did not take a terminal');
				refuseUpgrade(
					socket,
					agents.lookup(labId).state === 'gone' ? agentGone() : agentUnreachable(),
				);
			});
		} catch (error) {
			refuseUpgrade(socket, error);
		}
	});

	return {
		http,
		agents,
		async start() {
			await agents.start();
			await workshops.start();
			const port = await listen(http, config.port, config.host);
			log.info({ host: config.host, port, agents: cluster.hubAgents.length }, 'hub listening');
			return { port };
		},
		async stop() {
			agents.stop();
			const closed = new Promise<void>((resolve) => http.close(() => resolve()));
			for (const socket of tunnels) socket.destroy();
			http.closeAllConnections();
			await closed;
		},
	};
}
