/**
 * Workshops on the hub (README «Workshops across agents»): the hub owns each workshop — its id, join
 * code, seats, instructor token (as its hash) and who joined through it, kept in
 * `STATE_DIR/workshops.json` — and each live agent runs a share of it (`PUT
 * /api/agent/workshops/:id`, an ordinary workshop there under the same id and code) with its
 * part of the warm pool, split by the same free places as `POST /api/labs`. So everything a
 * workshop does to labs (the pool's refill, joining, checks, help, takeover, recordings, the
 * instructor's terminal viewer) stays the agent's own code, and the hub:
 * - authorizes the instructor itself (token, sign-in, secret) and tells the agent which workshop
 *   it let them into (`x-klab-instructor`, trusted because only the hub holds the agent key);
 * - sends a joining learner to the agent with a lab ready for them, counting seats over all;
 * - merges the agents' dashboards (`GET`, and the live stream: hub-workshop-stream.ts), each
 *   learner's row naming the engine the lab runs on;
 * - routes the calls about one learner to the agent their lab id names.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import {
	INSTRUCTOR_PAGE,
	dashboardUrl,
	type CreatedLab,
	type CreatedWorkshop,
	type LearnerView,
	type WorkshopSummary,
	type WorkshopView,
} from '../api';
import {
	AGENT_INSTRUCTOR_HEADER,
	AGENT_KEY_HEADER,
	AGENT_SESSION_HEADER,
	type WorkshopShard,
} from '../api/cluster';
import type { Config } from '../config/config';
import { instructorToken } from '../http/auth';
import { readJson, sendJson, sendNoContent } from '../http/body';
import { isSecure } from '../http/cookies';
import { HttpError, parseBody } from '../http/errors';
import { instructorRoutes } from '../http/instructor-routes';
import { emptyBody } from '../http/lab-routes';
import { route, type Route, type RouteContext } from '../http/router';
import type { BrowserSessions } from '../http/sessions';
import { createWorkshopBody, joinBody, openInstructorSession } from '../http/workshop-routes';
import { streamWorkshop } from '../http/workshop-sse';
import type { Clock } from '../lib/clock';
import { sha256 } from '../lib/hash';
import { ID_PATTERN, newId, newToken } from '../lib/ids';
import { workshopAccess } from '../workshops/access';
import { InstructorSessions } from '../workshops/instructor-sessions';
import { JoinBudgets, workshopNotFound } from '../workshops/joining';
import { workshopStore } from '../workshops/store';
import { DEFAULT_TITLE, newCode, normalizeCode, type Workshop } from '../workshops/workshop';
import type { AgentEntry, AgentRegistry } from './agent-registry';
import { streamAcross } from './hub-workshop-stream';
import { shareOut, type Share, type SharePart, type Taker } from './workshop-shares';

const WORKSHOP = `^/api/workshops/(${ID_PATTERN})`;
const path = (rest: string) => new RegExp(`${WORKSHOP}${rest}$`);
/** What one agent call may take before the hub answers without that agent. */
const CALL_MS = 10_000;

export interface HubWorkshopsDeps {
	config: Config;
	agents: AgentRegistry;
	key: string;
	stateDir: string;
	clock: Clock;
	log: Logger;
	/** The hub's browser sessions (the learner's, forwarded to the agent that gets the join). */
	sessions: BrowserSessions;
	/** The agent that runs a lab, or the error the lab answers with (hub-server.ts). */
	ownerOf: (labId: string) => AgentEntry;
	/** Forwards a request to the lab's agent as the instructor of `workshopId`. */
	forwardAsInstructor: (ctx: RouteContext, agent: AgentEntry, workshopId: string) => Promise<void>;
}

export interface HubWorkshops {
	routes: Route[];
	/** Reads the workshops the hub had before a restart. */
	start(): Promise<void>;
	/**
	 * For a request about a learner's lab that only its workshop's instructor may make (a
	 * terminal viewer, the recordings): the workshop the caller is the instructor of, checked
	 * here; null when the lab is no learner's of a workshop the hub knows (the agent refuses).
	 */
	instructorFor(req: IncomingMessage, labId: string): string | null;
	/**
	 * The same for a call the lab's learner may make too (the recordings): the workshop, if the
	 * caller is its instructor by the workshop's token or a sign-in; null otherwise, without a
	 * refusal and without taking the token for a guess at the secret (it may be the learner's
	 * own, which the agent checks).
	 */
	instructorIf(req: IncomingMessage, labId: string): string | null;
}

export function hubWorkshops(deps: HubWorkshopsDeps): HubWorkshops {
	const { config, agents, log } = deps;
	const workshops = new Map<string, Workshop>();
	const store = workshopStore(deps.stateDir, log);
	const save = () => store.save(() => workshops.values());
	const instructorSessions = new InstructorSessions({
		secret: config.instructorSecret,
		trustProxy: config.trustProxy,
		clock: deps.clock,
	});
	const learnerWorkshop = (labId: string) =>
		[...workshops.values()].find((w) => w.learners.some((l) => l.labId === labId));
	const access = workshopAccess({
		sessions: instructorSessions,
		workshop: (id) => workshops.get(id),
		lab: () => undefined,
		learnerWorkshop,
	});
	/** Joins of one workshop, one at a time: its seats are counted over all agents. */
	const joining = new Map<string, Promise<unknown>>();
	/** The join budgets over all agents (each agent keeps its own too, which these keep under). */
	const budgets = new JoinBudgets(deps.clock);

	const live = () =>
		agents.list().filter((agent) => agent.state === 'live' && agent.capacity !== null);

	const call = (
		agent: AgentEntry,
		method: string,
		target: string,
		options: { instructor?: string; session?: string; body?: unknown; signal?: AbortSignal } = {},
	) =>
		fetch(`${agent.url}${target}`, {
			method,
			headers: {
				[AGENT_KEY_HEADER]: deps.key,
				...(options.instructor ? { [AGENT_INSTRUCTOR_HEADER]: options.instructor } : {}),
				...(options.session ? { [AGENT_SESSION_HEADER]: options.session } : {}),
				...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
			},
			...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
			signal: options.signal ?? AbortSignal.timeout(CALL_MS),
		});

	/** Each live agent's view of its share of the workshop (an agent without one is left out). */
	const shardViews = async (workshop: Workshop) => {
		const views = await Promise.all(
			live().map(async (agent) => {
				try {
					const res = await call(agent, 'GET', `/api/workshops/${workshop.id}`, {
						instructor: workshop.id,
					});
					if (!res.ok) {
						await res.body?.cancel();
						return [];
					}
					return [{ agent, view: (await res.json()) as WorkshopView }];
				} catch (error) {
					log.warn({ agent: agent.url, err: error }, 'agent did not show its workshop share');
					return [];
				}
			}),
		);
		return views.flat();
	};

	const row = (agent: AgentEntry, learner: LearnerView): LearnerView => ({
		...learner,
		agent: agent.node ?? agent.prefix,
	});

	const merge = (
		workshop: Workshop,
		parts: { agent: AgentEntry; view: WorkshopView }[],
	): WorkshopView => {
		const expiries = parts.map((part) => part.view.expiresAt).sort();
		return {
			id: workshop.id,
			code: workshop.code,
			title: workshop.title,
			seats: workshop.seats,
			pool: {
				ready: parts.reduce((sum, part) => sum + part.view.pool.ready, 0),
				starting: parts.reduce((sum, part) => sum + part.view.pool.starting, 0),
			},
			expiresAt:
				expiries.at(-1) ?? new Date(workshop.createdAt + config.labMaxLifetimeMs).toISOString(),
			learners: parts
				.flatMap(({ agent, view }) => view.learners.map((learner) => row(agent, learner)))
				.sort((a, b) => a.joinedAt.localeCompare(b.joinedAt)),
		};
	};
	const viewOf = async (workshop: Workshop) => merge(workshop, await shardViews(workshop));

	/** The agents that take new labs now, for the workshops' shares (workshop-shares.ts). */
	const takers = () =>
		live().flatMap((agent): Taker[] =>
			agent.capacity && agent.capacity.problems.length === 0 && !agent.capacity.draining
				? [{ ...agent, capacity: agent.capacity }]
				: [],
		);
	const shareOf = (workshop: Workshop, parts: SharePart[]) => shareOut(workshop, parts, takers());

	/** Gives each agent its share (creating it where there is none); the labs placed. */
	const putShares = async (workshop: Workshop, shares: Share[]) => {
		const placed = await Promise.all(
			shares.map(async ({ agent, share, learners }) => {
				const shard: WorkshopShard = {
					code: workshop.code,
					title: workshop.title,
					seats: learners + share,
					pool: share,
					createdAt: workshop.createdAt,
					instructorTokenHash: workshop.instructorTokenHash,
				};
				try {
					const res = await call(agent, 'PUT', `/api/agent/workshops/${workshop.id}`, {
						body: shard,
					});
					if (!res.ok) throw new Error(`answered ${res.status}: ${await res.text()}`);
					return share;
				} catch (error) {
					log.warn({ agent: agent.url, err: error }, 'agent did not take a workshop share');
					return 0;
				}
			}),
		);
		return placed.reduce((sum, share) => sum + share, 0);
	};

	const asInstructor =
		(handle: (workshop: Workshop, ctx: RouteContext) => Promise<void>) =>
		async (ctx: RouteContext) =>
			handle(access.authorizeInstructor(ctx.params[0]!, ctx.req), ctx);

	/** A call about one learner: checked here, then the lab's agent does it. */
	const aboutLearner = asInstructor(async (workshop, ctx) => {
		const labId = ctx.params[1]!;
		if (!workshop.learners.some((l) => l.labId === labId)) {
			throw new HttpError(
				404,
				'lab-not-found',
				'Стенда слушателя с таким адресом на этом занятии нет: возможно, он уже завершён.',
			);
		}
		await deps.forwardAsInstructor(ctx, deps.ownerOf(labId), workshop.id);
	});

	/** Sends the agent's answer on: status, its cookies beside the hub's own, Retry-After. */
	const relay = async (res: ServerResponse, answer: Response) => {
		const cookies = [res.getHeader('set-cookie') ?? [], answer.headers.getSetCookie()].flat();
		if (cookies.length > 0) res.setHeader('set-cookie', cookies.map(String));
		const retry = answer.headers.get('retry-after');
		if (retry) res.setHeader('retry-after', retry);
		res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
		res.end(await answer.text());
	};

	const join = async (workshop: Workshop, name: string, session: string, res: ServerResponse) => {
		const known = workshop.learners.find((l) => l.sessionHash === session);
		const theirs = known ? agents.lookup(known.labId) : null;
		let target = theirs?.state === 'live' ? theirs.agent : null;
		if (!target) {
			const parts = await shardViews(workshop);
			const seated = parts.reduce((sum, part) => sum + part.view.learners.length, 0);
			if (!known && seated >= workshop.seats) {
				throw new HttpError(
					409,
					'workshop-full',
					`Все места на занятии заняты (${workshop.seats}). Попросите преподавателя добавить мест.`,
				);
			}
			// The agent with the most labs ready for the class, a drained one last.
			const rank = (part: (typeof parts)[number]) =>
				(part.agent.capacity?.draining ? -1_000_000 : 0) +
				part.view.pool.ready * 1000 +
				part.view.pool.starting;
			const best = parts.sort((a, b) => rank(b) - rank(a))[0];
			target = best && best.view.pool.ready > 0 ? best.agent : null;
		}
		if (!target) {
			throw new HttpError(
				503,
				'pool-refilling',
				'Стенды для занятия ещё запускаются. Попробуйте ещё раз через 15–30 секунд.',
				{ headers: { 'Retry-After': '15' } },
			);
		}
		const answer = await call(target, 'POST', `/api/workshops/${workshop.code}/join`, {
			session,
			body: { name },
		});
		if (answer.status === 200 || answer.status === 201) {
			const lab = (await answer.clone().json()) as CreatedLab;
			const learner = { name, sessionHash: session, labId: lab.id, token: lab.token };
			if (known) Object.assign(known, learner);
			else workshop.learners.push({ ...learner, joinedAt: deps.clock.now() });
			await save();
		}
		await relay(res, answer);
		// A lab of the pool was taken: the next one goes where there is room (still one join
		// at a time, so the next join sees the shares this one left).
		if (answer.status === 201)
			await putShares(workshop, shareOf(workshop, await shardViews(workshop)));
	};

	const routes: Route[] = [
		...instructorRoutes({ sessions: instructorSessions, config }),
		route('POST', /^\/api\/workshops$/, async ({ req, res }) => {
			access.authorizeSecretHolder(req);
			const body = parseBody(createWorkshopBody, await readJson(req));
			const instructorToken = newToken();
			const workshop: Workshop = {
				id: newId(),
				code: newCode(new Set([...workshops.values()].map((w) => w.code))),
				title: body.title ?? DEFAULT_TITLE,
				seats: body.seats ?? body.pool,
				pool: body.pool,
				createdAt: deps.clock.now(),
				instructorTokenHash: sha256(instructorToken),
				learners: [],
				ready: new Map(),
				starting: 0,
				ended: false,
			};
			const shares = shareOf(workshop, []);
			if ((await putShares(workshop, shares)) === 0) {
				throw new HttpError(
					503,
					'cluster-full',
					'Все узлы кластера заняты или недоступны. Попробуйте открыть занятие через минуту.',
					{ headers: { 'Retry-After': '30' } },
				);
			}
			workshops.set(workshop.id, workshop);
			await save();
			log.info(
				{ workshopId: workshop.id, shares: shares.map((s) => [s.agent.prefix, s.share]) },
				'workshop created across agents',
			);
			const created: CreatedWorkshop = {
				id: workshop.id,
				code: workshop.code,
				title: workshop.title,
				instructorToken,
				instructorUrl: `${INSTRUCTOR_PAGE}#${workshop.id}.${instructorToken}`,
			};
			sendJson(res, 201, created);
		}),
		route('GET', /^\/api\/workshops$/, async ({ req, res }) => {
			access.authorizeSecretHolder(req);
			const list = [...workshops.values()].sort((a, b) => b.createdAt - a.createdAt);
			const summaries: WorkshopSummary[] = await Promise.all(
				list.map(async (workshop) => {
					const view = await viewOf(workshop);
					return {
						id: workshop.id,
						code: workshop.code,
						title: workshop.title,
						seats: workshop.seats,
						learners: view.learners.length,
						createdAt: new Date(workshop.createdAt).toISOString(),
						expiresAt: view.expiresAt,
						dashboardUrl: dashboardUrl(workshop.id),
					};
				}),
			);
			sendJson(res, 200, summaries);
		}),
		route(
			'POST',
			/^\/api\/workshops\/([A-Za-z0-9 -]{1,16})\/join$/,
			async ({ req, res, params }) => {
				const { name } = parseBody(joinBody, await readJson(req));
				const code = decodeURIComponent(params[0]!);
				const workshop = [...workshops.values()].find((w) => w.code === normalizeCode(code));
				if (!workshop) throw workshopNotFound(code);
				const session = deps.sessions.hashOf(req, res, isSecure(req, config.trustProxy));
				budgets.take(workshop.id, session);
				const before = joining.get(workshop.id) ?? Promise.resolve();
				const mine = before.then(() => join(workshop, name, session, res));
				const settled = mine.catch(() => undefined);
				joining.set(workshop.id, settled);
				void settled.then(() => {
					if (joining.get(workshop.id) === settled) joining.delete(workshop.id);
				});
				await mine;
			},
		),
		route(
			'POST',
			path('/instructor-session'),
			asInstructor((workshop, ctx) =>
				openInstructorSession(workshop, ctx, access.isInstructorToken, config),
			),
		),
		route(
			'GET',
			path(''),
			asInstructor(async (workshop, { res }) => sendJson(res, 200, await viewOf(workshop))),
		),
		route(
			'GET',
			path('/events'),
			asInstructor(async (workshop, { req, res }) =>
				streamWorkshop(
					{
						watch: (_, send) =>
							streamAcross(
								{
									agents: live,
									open: (agent, signal) =>
										call(agent, 'GET', `/api/workshops/${workshop.id}/events`, {
											instructor: workshop.id,
											signal,
										}),
									merge: (parts) => merge(workshop, parts),
									row,
									log,
								},
								send,
							),
					},
					workshop,
					res,
					{
						reauthorize: () => access.authorizeInstructor(workshop.id, req),
						onSignOut: access.onSignOut,
					},
				),
			),
		),
		route(
			'DELETE',
			path(''),
			asInstructor(async (workshop, { res }) => {
				workshop.ended = true;
				workshops.delete(workshop.id);
				await save();
				// Each agent removes its share's labs one at a time; the agents do it side by side.
				await Promise.all(
					live().map(async (agent) => {
						const answer = await call(agent, 'DELETE', `/api/workshops/${workshop.id}`, {
							instructor: workshop.id,
							signal: AbortSignal.timeout(120_000),
						}).catch((error: unknown) => {
							log.warn({ agent: agent.url, err: error }, 'agent did not end its workshop share');
							return null;
						});
						await answer?.body?.cancel();
					}),
				);
				log.info({ workshopId: workshop.id }, 'workshop ended across agents');
				sendNoContent(res);
			}),
		),
		route(
			'POST',
			path('/extend'),
			asInstructor(async (workshop, { req, res }) => {
				parseBody(emptyBody, await readJson(req));
				await Promise.all(
					(await shardViews(workshop)).map(async ({ agent }) => {
						const answer = await call(agent, 'POST', `/api/workshops/${workshop.id}/extend`, {
							instructor: workshop.id,
							body: {},
						});
						await answer.body?.cancel();
					}),
				);
				sendJson(res, 200, await viewOf(workshop));
			}),
		),
		route('DELETE', path(`/labs/(${ID_PATTERN})`), aboutLearner),
		route('POST', path(`/labs/(${ID_PATTERN})/reset`), aboutLearner),
		route('POST', path(`/learners/(${ID_PATTERN})/takeover`), aboutLearner),
		route('DELETE', path(`/learners/(${ID_PATTERN})/takeover`), aboutLearner),
	];

	return {
		routes,
		async start() {
			for (const saved of await store.read()) {
				workshops.set(saved.id, { ...saved, ready: new Map(), starting: 0, ended: false });
			}
		},
		instructorIf(req, labId) {
			const workshop = learnerWorkshop(labId);
			if (!workshop || !config.instructorSecret) return null;
			if (instructorSessions.current(req) !== null) return workshop.id;
			const token = instructorToken(req, workshop.id);
			return token && access.isInstructorToken(workshop, token) ? workshop.id : null;
		},
		instructorFor(req, labId) {
			const workshop = learnerWorkshop(labId);
			if (!workshop) return null;
			return access.authorizeInstructor(workshop.id, req).id;
		},
	};
}
