/** The API's workshop calls (`/api/workshops…`): the instructor's, and joining by code. */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config/config';
import type { DrillService } from '../drills/service';
import { labView } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import { ID_PATTERN } from '../lib/ids';
import type { Workshop, WorkshopManager } from '../workshops/manager';
import { bearer, browserSession, setInstructorCookie } from './auth';
import { readJson, sendJson, sendNoContent } from './body';
import { HttpError, parseBody } from './errors';
import { emptyBody, resetBody, resetLab, sendCreatedLab } from './lab-routes';
import { route, type Route, type RouteContext } from './router';

/** `POST /api/workshops`. */
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

/** How long a learner is asked to wait while the pool refills. */
const POOL_RETRY_AFTER_S = 15;

export interface WorkshopRouteDeps {
	labs: LabManager;
	workshops: WorkshopManager;
	drills: DrillService;
	config: Config;
	log: Logger;
}

const WORKSHOP = `^/api/workshops/(${ID_PATTERN})`;
const path = (rest: string) => new RegExp(`${WORKSHOP}${rest}$`);

export function workshopRoutes(deps: WorkshopRouteDeps): Route[] {
	const { workshops, config } = deps;
	const secure = config.trustProxy;

	/** A handler for a workshop the request's instructor credentials open. */
	const asInstructor =
		(handle: (workshop: Workshop, ctx: RouteContext) => Promise<void>) =>
		async (ctx: RouteContext) =>
			handle(workshops.authorizeInstructor(ctx.params[0]!, ctx.req), ctx);

	return [
		route('POST', /^\/api\/workshops$/, async ({ req, res }) => {
			workshops.authorizeCreate(req);
			const body = parseBody(createWorkshopBody, await readJson(req));
			sendJson(res, 201, workshops.create(body));
		}),
		route(
			'POST',
			/^\/api\/workshops\/([A-Za-z0-9 -]{1,16})\/join$/,
			async ({ req, res, params }) => {
				const { name } = parseBody(joinBody, await readJson(req));
				const sessionHash = browserSession(req, res, secure);
				let joined;
				try {
					joined = workshops.join(decodeURIComponent(params[0]!), name, sessionHash);
				} catch (error) {
					if (error instanceof HttpError && error.code === 'pool-refilling') {
						res.setHeader('Retry-After', String(POOL_RETRY_AFTER_S));
					}
					throw error;
				}
				sendCreatedLab(res, joined.again ? 200 : 201, joined.lab, joined.token, secure);
			},
		),
		route(
			'POST',
			path('/instructor-session'),
			asInstructor(async (workshop, { req, res }) => {
				parseBody(emptyBody, await readJson(req));
				const token = bearer(req);
				if (!token) {
					throw new HttpError(
						401,
						'unauthorized',
						'Нужен ключ преподавателя в заголовке Authorization.',
					);
				}
				const maxAgeS = config.labMaxLifetimeMs / 1000 + 24 * 3600;
				setInstructorCookie(res, workshop.id, token, maxAgeS, secure);
				sendNoContent(res);
			}),
		),
		route(
			'GET',
			path(''),
			asInstructor(async (workshop, { res }) => sendJson(res, 200, workshops.view(workshop))),
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
			'POST',
			path(`/labs/(${ID_PATTERN})/reset`),
			asInstructor(async (workshop, { req, res, params }) => {
				const lab = workshops.learnerLab(workshop, params[1]!);
				const { node } = parseBody(resetBody, await readJson(req));
				sendJson(res, 200, labView(await resetLab(deps, lab, node)));
			}),
		),
	];
}
