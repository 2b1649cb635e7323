/**
 * The API's workshop calls (`/api/workshops…`): the instructor's (creating and listing take the
 * secret or a sign-in, instructor-routes.ts), and joining by code.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { WORKSHOP_LIMITS, type TakeoverAnswer } from '../api';
import type { Config } from '../config/config';
import type { DrillService } from '../drills/service';
import { labView } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import { ID_PATTERN } from '../lib/ids';
import type { Workshop, WorkshopManager } from '../workshops/manager';
import { bearer, setInstructorCookie } from './auth';
import { isSecure } from './cookies';
import type { BrowserSessions } from './sessions';
import { readJson, sendJson, sendNoContent } from './body';
import { HttpError, parseBody } from './errors';
import { emptyBody, resetBody, resetLab, sendCreatedLab } from './lab-routes';
import { route, type Route, type RouteContext } from './router';
import { streamWorkshop } from './workshop-sse';

/** `POST /api/workshops` (the hub checks it too, cluster/hub-workshops.ts). */
export const createWorkshopBody = z
	.object({
		title: z.string().trim().min(1).max(WORKSHOP_LIMITS.title).optional(),
		pool: z.number().int().min(WORKSHOP_LIMITS.pool.min).max(WORKSHOP_LIMITS.pool.max),
		seats: z
			.number()
			.int()
			.min(WORKSHOP_LIMITS.seats.min)
			.max(WORKSHOP_LIMITS.seats.max)
			.optional(),
	})
	.strict()
	.refine((body) => body.seats === undefined || body.seats >= body.pool, {
		path: ['seats'],
		message: 'мест должно быть не меньше, чем стендов в пуле (pool)',
	});
/** `POST /api/workshops/:code/join`: the name the instructor sees on the dashboard. */
export const joinBody = z.object({ name: z.string().trim().min(1).max(40) }).strict();

export interface WorkshopRouteDeps {
	labs: LabManager;
	workshops: WorkshopManager;
	drills: DrillService;
	config: Config;
	log: Logger;
	sessions: BrowserSessions;
}

/**
 * `POST /api/workshops/:id/instructor-session` (one machine and the hub alike): the workshop's
 * own key, sent as Bearer, becomes the dashboard's cookie.
 */
export async function openInstructorSession(
	workshop: Workshop,
	{ req, res }: RouteContext,
	isInstructorToken: (workshop: Workshop, token: string) => boolean,
	config: Pick<Config, 'labMaxLifetimeMs' | 'trustProxy'>,
): Promise<void> {
	parseBody(emptyBody, await readJson(req));
	const token = bearer(req);
	// The cookie holds the workshop's own key, never the server's secret (which opens every
	// workshop and would then sit in a browser's cookie jar).
	if (!token || !isInstructorToken(workshop, token)) {
		throw new HttpError(
			403,
			'forbidden',
			'Для входа на панель нужен ключ этого занятия из ссылки преподавателя, а не общий секрет сервера.',
		);
	}
	const maxAgeS = config.labMaxLifetimeMs / 1000 + 24 * 3600;
	setInstructorCookie(res, workshop.id, token, maxAgeS, isSecure(req, config.trustProxy));
	sendNoContent(res);
}

const WORKSHOP = `^/api/workshops/(${ID_PATTERN})`;
const path = (rest: string) => new RegExp(`${WORKSHOP}${rest}$`);

export function workshopRoutes(deps: WorkshopRouteDeps): Route[] {
	const { workshops, config } = deps;

	/** A handler for a workshop the request's instructor credentials open. */
	const asInstructor =
		(handle: (workshop: Workshop, ctx: RouteContext) => Promise<void>) =>
		async (ctx: RouteContext) =>
			handle(workshops.access.authorizeInstructor(ctx.params[0]!, ctx.req), ctx);

	return [
		route('POST', /^\/api\/workshops$/, async ({ req, res }) => {
			workshops.access.authorizeSecretHolder(req);
			const body = parseBody(createWorkshopBody, await readJson(req));
			sendJson(res, 201, workshops.create(body));
		}),
		route('GET', /^\/api\/workshops$/, async ({ req, res }) => {
			workshops.access.authorizeSecretHolder(req);
			sendJson(res, 200, workshops.list());
		}),
		route(
			'POST',
			/^\/api\/workshops\/([A-Za-z0-9 -]{1,16})\/join$/,
			async ({ req, res, params }) => {
				const { name } = parseBody(joinBody, await readJson(req));
				const secure = isSecure(req, config.trustProxy);
				const sessionHash = deps.sessions.hashOf(req, res, secure);
				const joined = workshops.join(decodeURIComponent(params[0]!), name, sessionHash);
				sendCreatedLab(res, joined.again ? 200 : 201, joined.lab, joined.token, {
					secure,
					maxAgeS: deps.labs.cookieMaxAgeS(joined.lab),
				});
			},
		),
		route(
			'POST',
			path('/instructor-session'),
			asInstructor((workshop, ctx) =>
				openInstructorSession(workshop, ctx, workshops.access.isInstructorToken, config),
			),
		),
		route(
			'GET',
			path(''),
			asInstructor(async (workshop, { res }) => sendJson(res, 200, workshops.view(workshop))),
		),
		route(
			'GET',
			path('/events'),
			asInstructor(async (workshop, { req, res }) =>
				streamWorkshop(workshops, workshop, res, {
					reauthorize: () => workshops.access.authorizeInstructor(workshop.id, req),
					onSignOut: workshops.access.onSignOut,
				}),
			),
		),
		route(
			'DELETE',
			path(''),
			asInstructor(async (workshop, { res }) => {
				await workshops.end(workshop);
				sendNoContent(res);
			}),
		),
		route(
			'POST',
			path('/extend'),
			asInstructor(async (workshop, { req, res }) => {
				parseBody(emptyBody, await readJson(req));
				await workshops.extend(workshop);
				sendJson(res, 200, workshops.view(workshop));
			}),
		),
		route(
			'DELETE',
			path(`/labs/(${ID_PATTERN})`),
			asInstructor(async (workshop, { res, params }) => {
				await workshops.removeLearner(workshop, params[1]!);
				sendNoContent(res);
			}),
		),
		route(
			'POST',
			path(`/labs/(${ID_PATTERN})/reset`),
			asInstructor(async (workshop, { req, res, params }) => {
				const lab = workshops.learnerLab(workshop, params[1]!);
				const { node } = parseBody(resetBody, await readJson(req));
				sendJson(res, 200, labView(await resetLab(deps, lab, node, 'instructor')));
			}),
		),
		// A learner is known by their lab's id (workshop.ts): the takeover of their terminals.
		route(
			'POST',
			path(`/learners/(${ID_PATTERN})/takeover`),
			asInstructor(async (workshop, { req, res, params }) => {
				const lab = workshops.learnerLab(workshop, params[1]!);
				parseBody(emptyBody, await readJson(req));
				deps.labs.requireRunning(lab);
				workshops.help.ask(lab);
				const body: TakeoverAnswer = { takeover: lab.takeover!.state };
				sendJson(res, 202, body);
			}),
		),
		route(
			'DELETE',
			path(`/learners/(${ID_PATTERN})/takeover`),
			asInstructor(async (workshop, { res, params }) => {
				workshops.help.end(workshops.learnerLab(workshop, params[1]!), 'instructor');
				sendNoContent(res);
			}),
		),
	];
}
