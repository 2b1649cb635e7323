/**
 * The HTTP API (v1, DESIGN.md «HTTP API») and the built site. Every body is parsed once with its
 * schema; every failure is JSON `{ error: { code, message } }` with the right status; nothing a
 * client sends can crash the server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
	browserSession,
	clearLabCookie,
	labToken,
	setInstructorCookie,
	setLabCookie,
} from './auth';
import type { Config } from '../config/config';
import { HttpError, errorResponse, parseBody } from './errors';
import { nodeImageStatus } from '../docker/images';
import type { Lab, LabManager } from '../labs/manager';
import { LAB_NODES } from '../docker/provision';
import type { StaticSite } from './static-site';
import { completeStep } from '../checks/autopilot';
import type { CheckWatcher } from '../checks/watcher';
import type { DrillService } from '../drills/service';
import { CHECKS } from '../checks/run';
import type { WorkshopManager } from '../workshops/manager';

const MAX_BODY_BYTES = 16 * 1024;
const SSE_KEEPALIVE_MS = 25_000;

/** `POST /api/labs`: no fields yet; unknown ones are refused so typos do not pass silently. */
const createLabBody = z.object({}).strict();
/** `POST /api/labs/:id/reset`: one node, or both when `node` is absent. */
const resetBody = z.object({ node: z.enum(LAB_NODES).optional() }).strict();

/** `POST /api/workshops` (contracts.md «Workshops»). */
const createWorkshopBody = z
	.object({
		title: z.string().trim().min(1).max(80).optional(),
		pool: z.number().int().min(1).max(50),
		seats: z.number().int().min(1).max(200).optional(),
	})
	.strict()
	.refine((body) => body.seats === undefined || body.seats >= body.pool, {
		path: ['seats'],
		message: 'мест должно быть не меньше, чем стендов в пуле (pool)',
	});
/** `POST /api/workshops/:code/join`: the name the instructor sees on the dashboard. */
const joinBody = z.object({ name: z.string().trim().min(1).max(40) }).strict();

export interface ApiDeps {
	labs: LabManager;
	docker: Docker;
	config: Config;
	log: Logger;
	site: StaticSite | null;
	/** The lab's check watcher (check-runner.ts). */
	checks: (labId: string) => CheckWatcher | undefined;
	drills: DrillService;
	workshops: WorkshopManager;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>;

export function createRequestHandler(deps: ApiDeps) {
	const { labs, config } = deps;
	const secure = config.trustProxy;

	const { workshops } = deps;
	const asInstructor =
		(
			handler: (
				workshop: NonNullable<ReturnType<WorkshopManager['get']>>,
				req: IncomingMessage,
				res: ServerResponse,
				params: string[],
			) => Promise<void>,
		): Handler =>
		async (req, res, params) =>
			handler(workshops.authorizeInstructor(params[0]!, req), req, res, params);

	const withLab =
		(handler: (lab: Lab, req: IncomingMessage, res: ServerResponse) => Promise<void>): Handler =>
		async (req, res, [id]) =>
			handler(labs.authorize(id!, labToken(req, id!)), req, res);

	const routes: [string, RegExp, Handler][] = [
		['GET', /^\/api\/health$/, async (_req, res) => health(res, deps)],
		[
			'POST',
			/^\/api\/labs$/,
			async (req, res) => {
				parseBody(createLabBody, await readJson(req));
				const sessionHash = browserSession(req, res, secure);
				const { lab, token } = await labs.create({ sessionHash });
				setLabCookie(res, lab.id, token, (lab.expiresAt - Date.now()) / 1000 + 3600, secure);
				json(res, 201, { ...labs.view(lab), token });
			},
		],
		[
			'GET',
			/^\/api\/labs\/([a-z0-9]{10})$/,
			withLab(async (lab, _req, res) => json(res, 200, labs.view(lab))),
		],
		[
			'POST',
			/^\/api\/labs\/([a-z0-9]{10})\/extend$/,
			withLab(async (lab, req, res) => {
				parseBody(createLabBody, await readJson(req));
				json(res, 200, labs.view(await labs.extend(lab)));
			}),
		],
		[
			'POST',
			/^\/api\/labs\/([a-z0-9]{10})\/reset$/,
			withLab(async (lab, req, res) => {
				const { node } = parseBody(resetBody, await readJson(req));
				// Undo a running drill first: an intruder or a filter on the other node must not
				// outlive the reset.
				if (deps.drills.active(lab)) await deps.drills.start(lab, 'restore').catch(() => undefined);
				json(res, 200, labs.view(await labs.reset(lab, node)));
			}),
		],
		[
			'DELETE',
			/^\/api\/labs\/([a-z0-9]{10})$/,
			withLab(async (lab, _req, res) => {
				await labs.end(lab, 'deleted');
				clearLabCookie(res, lab.id, secure);
				res.writeHead(204).end();
			}),
		],
		[
			'GET',
			/^\/api\/labs\/([a-z0-9]{10})\/checks$/,
			withLab(async (lab, _req, res) => json(res, 200, await runLabChecks(lab))),
		],
		[
			'POST',
			/^\/api\/labs\/([a-z0-9]{10})\/checks\/([a-z-]{1,32})\/complete$/,
			async (req, res, [id, check]) => {
				const lab = labs.authorize(id!, labToken(req, id!));
				if (!CHECKS.some((c) => c.id === check)) {
					throw new HttpError(404, 'unknown-check', `Проверки «${check}» нет.`);
				}
				const commands = await completeStep(deps.docker, lab, check!);
				json(res, 200, { commands, checks: await runLabChecks(lab) });
			},
		],
		[
			'GET',
			/^\/api\/labs\/([a-z0-9]{10})\/drills$/,
			withLab(async (lab, _req, res) => json(res, 200, await deps.drills.view(lab))),
		],
		[
			'POST',
			/^\/api\/labs\/([a-z0-9]{10})\/drills\/([a-z-]{1,32})$/,
			async (req, res, [id, name]) => {
				const lab = labs.authorize(id!, labToken(req, id!));
				json(res, 202, await deps.drills.start(lab, name!));
			},
		],
		[
			'GET',
			/^\/api\/labs\/([a-z0-9]{10})\/events$/,
			withLab(async (lab, req, res) => events(lab, req, res, labs)),
		],
		[
			'POST',
			/^\/api\/workshops$/,
			async (req, res) => {
				workshops.authorizeCreate(req);
				const body = parseBody(createWorkshopBody, await readJson(req));
				json(res, 201, workshops.create(body));
			},
		],
		[
			'POST',
			/^\/api\/workshops\/([A-Za-z0-9 -]{1,16})\/join$/,
			async (req, res, [code]) => {
				const { name } = parseBody(joinBody, await readJson(req));
				const sessionHash = browserSession(req, res, secure);
				let joined;
				try {
					joined = workshops.join(decodeURIComponent(code!), name, sessionHash);
				} catch (error) {
					if (error instanceof HttpError && error.code === 'pool-refilling') {
						res.setHeader('Retry-After', '15');
					}
					throw error;
				}
				const { lab, token, again } = joined;
				setLabCookie(res, lab.id, token, (lab.expiresAt - Date.now()) / 1000 + 3600, secure);
				json(res, again ? 200 : 201, { ...labs.view(lab), token });
			},
		],
		[
			'POST',
			/^\/api\/workshops\/([a-z0-9]{10})\/instructor-session$/,
			asInstructor(async (workshop, req, res) => {
				parseBody(createLabBody, await readJson(req));
				const maxAgeS = config.labMaxLifetimeMs / 1000 + 24 * 3600;
				const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
				if (!token) {
					throw new HttpError(
						401,
						'unauthorized',
						'Нужен ключ преподавателя в заголовке Authorization.',
					);
				}
				setInstructorCookie(res, workshop.id, token, maxAgeS, secure);
				res.writeHead(204).end();
			}),
		],
		[
			'GET',
			/^\/api\/workshops\/([a-z0-9]{10})$/,
			asInstructor(async (workshop, _req, res) => json(res, 200, workshops.view(workshop))),
		],
		[
			'DELETE',
			/^\/api\/workshops\/([a-z0-9]{10})$/,
			asInstructor(async (workshop, _req, res) => {
				await workshops.end(workshop);
				res.writeHead(204).end();
			}),
		],
		[
			'POST',
			/^\/api\/workshops\/([a-z0-9]{10})\/extend$/,
			asInstructor(async (workshop, req, res) => {
				parseBody(createLabBody, await readJson(req));
				await workshops.extend(workshop);
				json(res, 200, workshops.view(workshop));
			}),
		],
		[
			'POST',
			/^\/api\/workshops\/([a-z0-9]{10})\/labs\/([a-z0-9]{10})\/reset$/,
			asInstructor(async (workshop, req, res, [, labId]) => {
				const lab = workshops.learnerLab(workshop, labId!);
				const { node } = parseBody(resetBody, await readJson(req));
				if (deps.drills.active(lab)) await deps.drills.start(lab, 'restore').catch(() => undefined);
				json(res, 200, labs.view(await labs.reset(lab, node)));
			}),
		],
	];

	const runLabChecks = async (lab: Lab) => {
		const watcher = deps.checks(lab.id);
		if (!watcher) throw new HttpError(404, 'lab-not-found', 'Стенд не найден.');
		return watcher.runNow();
	};

	return async (req: IncomingMessage, res: ServerResponse) => {
		const started = performance.now();
		const url = new URL(req.url ?? '/', 'http://localhost');
		try {
			if (url.pathname.startsWith('/api/')) {
				const route = routes.find(([, pattern]) => pattern.test(url.pathname));
				if (!route) throw new HttpError(404, 'not-found', 'Такого адреса в API нет.');
				const matching = routes.filter(([, pattern]) => pattern.test(url.pathname));
				const found = matching.find(([method]) => method === req.method);
				if (!found) {
					res.setHeader('Allow', matching.map(([m]) => m).join(', '));
					throw new HttpError(
						405,
						'method-not-allowed',
						`Метод ${req.method} здесь не поддерживается.`,
					);
				}
				await found[2](req, res, found[1].exec(url.pathname)!.slice(1));
			} else if (deps.site && (req.method === 'GET' || req.method === 'HEAD')) {
				await deps.site.serve(req, res, url.pathname);
			} else {
				throw new HttpError(404, 'not-found', 'Страница не найдена.');
			}
		} catch (error) {
			const { status, body } = errorResponse(error);
			if (status >= 500) deps.log.error({ err: error, path: url.pathname }, 'request failed');
			if (!res.headersSent) json(res, status, body);
			else res.end();
		} finally {
			if (url.pathname.startsWith('/api/') && !url.pathname.endsWith('/events')) {
				deps.log.debug(
					{
						method: req.method,
						path: url.pathname,
						status: res.statusCode,
						ms: Math.round(performance.now() - started),
					},
					'request',
				);
			}
		}
	};
}

async function health(res: ServerResponse, { docker, config }: ApiDeps) {
	let engine = false;
	try {
		await docker.ping();
		engine = true;
	} catch {
		// Reported below.
	}
	const images = engine ? await nodeImageStatus(docker) : null;
	const ok = engine && images !== null && images.present;
	const missing = !engine
		? `Docker engine not reachable at "${config.dockerSocket}": start it`
		: !images?.present
			? `node image "${images?.tag}" is missing${images?.stale.length ? ` (stale: ${images.stale.join(', ')})` : ''}: run "npm run images"`
			: undefined;
	json(res, ok ? 200 : 503, {
		ok,
		docker: engine,
		images: images ? { node: images.tag, present: images.present } : null,
		...(missing ? { missing } : {}),
	});
}

/** Server-sent events: the lab's current state first, then every change as it happens. */
async function events(lab: Lab, req: IncomingMessage, res: ServerResponse, labs: LabManager) {
	res.writeHead(200, {
		'Content-Type': 'text/event-stream; charset=utf-8',
		'Cache-Control': 'no-store',
		Connection: 'keep-alive',
		'X-Accel-Buffering': 'no',
	});
	const send = (event: string, data: unknown) =>
		res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
	const at = new Date().toISOString();
	for (const node of LAB_NODES) {
		const { keepalived, haproxy, hasVip } = lab.nodes[node];
		send('node', { node, keepalived, haproxy, hasVip, at });
	}
	send('vip', { holder: labs.view(lab).vipHolder, at });
	const names = ['node', 'vip', 'lab', 'ended', 'reset', 'check', 'drill', 'outage'] as const;
	const listeners = names.map((name) => {
		const listener = (data: unknown) => {
			send(name, data);
			if (name === 'ended') res.end();
		};
		lab.events.on(name, listener);
		return [name, listener] as const;
	});
	const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
	req.on('close', () => {
		clearInterval(keepalive);
		for (const [name, listener] of listeners) lab.events.off(name, listener);
	});
}

async function readJson(req: IncomingMessage): Promise<unknown> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of req as AsyncIterable<Buffer>) {
		size += chunk.byteLength;
		if (size > MAX_BODY_BYTES)
			throw new HttpError(413, 'body-too-large', 'Слишком большой запрос.');
		chunks.push(chunk);
	}
	const text = Buffer.concat(chunks).toString('utf8').trim();
	if (text === '') return {};
	try {
		return JSON.parse(text);
	} catch {
		throw new HttpError(400, 'bad-json', 'Тело запроса — не JSON.');
	}
}

function json(res: ServerResponse, status: number, body: unknown) {
	const text = JSON.stringify(body);
	res.writeHead(status, {
		'Content-Type': 'application/json; charset=utf-8',
		'Content-Length': Buffer.byteLength(text),
		'Cache-Control': 'no-store',
	});
	res.end(text);
}
