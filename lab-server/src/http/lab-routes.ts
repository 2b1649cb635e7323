/** The API's lab calls (`/api/labs…`), each body parsed once with its schema. */
import type { IncomingMessage } from 'node:http';
import type Docker from 'dockerode';
import { z } from 'zod';
import {
	HELP_MESSAGE_MAX,
	LAB_NODES,
	isCheckId,
	type CompletedStep,
	type CreatedLab,
	type ResetBy,
	type TakeoverAnswer,
} from '../api';
import { completeStep } from '../checks/autopilot';
import type { CheckWatcher } from '../checks/watcher';
import type { Config } from '../config/config';
import { stepSlugSchema } from '../course/steps';
import type { DrillService } from '../drills/service';
import { labView, type Lab } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import { ID_PATTERN } from '../lib/ids';
import type { Admission } from '../labs/admission';
import type { WarmLabs } from '../labs/warm-labs';
import type { HelpDesk } from '../workshops/help-desk';
import { bearer, clearLabCookie, labToken, setLabCookie } from './auth';
import { clientAddress, isSecure } from './cookies';
import type { BrowserSessions } from './sessions';
import { readJson, sendJson, sendNoContent } from './body';
import { HttpError, parseBody } from './errors';
import { route, type Route, type RouteContext } from './router';
import { streamLabEvents } from './sse';

/** A call without fields: unknown ones are refused so that typos do not pass silently. */
export const emptyBody = z.object({}).strict();
/** `POST /api/labs/:id/reset`: one node, or both when `node` is absent. */
export const resetBody = z.object({ node: z.enum(LAB_NODES).optional() }).strict();
/** `PUT /api/labs/:id/viewing`: the slug of the step page the learner has open. */
const viewingBody = z.object({ step: stepSlugSchema() }).strict();
/** C0 and C1 controls, line and paragraph separators, bidi embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex
const NOT_ONE_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/**
 * `POST /api/labs/:id/help`: the learner's words for the instructor's screen, one short line:
 * control characters (and bidi overrides, which would reorder the text shown) are refused.
 */
const helpBody = z
	.object({
		message: z
			.string()
			.trim()
			.max(HELP_MESSAGE_MAX)
			.refine((text) => !NOT_ONE_LINE.test(text), {
				message: 'только текст в одну строку, без управляющих символов',
			})
			.optional(),
	})
	.strict();
/** `POST /api/labs/:id/takeover`: the learner's answer to the instructor's ask. */
const takeoverBody = z.object({ allow: z.boolean() }).strict();

export interface LabRouteDeps {
	labs: LabManager;
	docker: Docker;
	config: Config;
	/** The lab's check watcher (checks/watcher.ts). */
	checks: (labId: string) => CheckWatcher | undefined;
	drills: DrillService;
	sessions: BrowserSessions;
	admission: Admission;
	/** Labs booted ahead (`WARM_LABS`): a new learner takes one when there is one. */
	warm: Pick<WarmLabs, 'take'>;
	/** A workshop learner's raised hand and their answer to the instructor's takeover. */
	help: HelpDesk;
	/** The learner's address, when not the socket's or `TRUST_PROXY`'s (an agent: the hub's). */
	clientAddress?: (req: IncomingMessage) => string | null;
}

const LAB = `^/api/labs/(${ID_PATTERN})`;
const path = (rest: string) => new RegExp(`${LAB}${rest}$`);

export function labRoutes(deps: LabRouteDeps): Route[] {
	const { labs, config } = deps;

	/** A handler for a lab the request's token opens. */
	const withLab =
		(handle: (lab: Lab, ctx: RouteContext) => Promise<void>) => async (ctx: RouteContext) =>
			handle(labs.authorize(ctx.params[0]!, labToken(ctx.req, ctx.params[0]!)), ctx);
	/** …and that runs: its nodes are up (409 `lab-stopped` otherwise). */
	const withRunningLab = (handle: (lab: Lab, ctx: RouteContext) => Promise<void>) =>
		withLab(async (lab, ctx) => {
			labs.requireRunning(lab);
			await handle(lab, ctx);
		});
	/** The lab's view; where the token came in its cookie, the cookie lives as long as the lab. */
	const sendLab = (lab: Lab, { req, res }: RouteContext) => {
		const token = labToken(req, lab.id);
		if (token && !bearer(req)) {
			setLabCookie(res, lab.id, token, labs.cookieMaxAgeS(lab), isSecure(req, config.trustProxy));
		}
		sendJson(res, 200, labView(lab));
	};

	const runChecks = (lab: Lab) => {
		const watcher = deps.checks(lab.id);
		if (!watcher) throw new HttpError(404, 'lab-not-found', 'Стенд не найден.');
		return watcher.runNow();
	};

	return [
		route('POST', /^\/api\/labs$/, async ({ req, res }) => {
			parseBody(emptyBody, await readJson(req));
			const secure = isSecure(req, config.trustProxy);
			const sessionHash = deps.sessions.hashOf(req, res, secure);
			const ip = deps.clientAddress?.(req) ?? clientAddress(req, config.trustProxy);
			// Over the session's or the address's share: refused before taking a place in line.
			labs.checkOwnerCaps(sessionHash, ip);
			deps.admission.admit(sessionHash);
			// A lab from the warm pool when one waits (nothing to boot), else a new one.
			const { lab, token } =
				(await deps.warm.take({ sessionHash, ip })) ?? (await labs.create({ sessionHash, ip }));
			sendCreatedLab(res, 201, lab, token, { secure, maxAgeS: labs.cookieMaxAgeS(lab) });
		}),
		route(
			'GET',
			path(''),
			withLab(async (lab, ctx) => sendLab(lab, ctx)),
		),
		route(
			'POST',
			path('/extend'),
			withLab(async (lab, ctx) => {
				parseBody(emptyBody, await readJson(ctx.req));
				sendLab(await labs.exclusive(lab, 'продление', () => labs.extend(lab)), ctx);
			}),
		),
		route(
			'POST',
			path('/resume'),
			withLab(async (lab, ctx) => {
				parseBody(emptyBody, await readJson(ctx.req));
				sendLab(await labs.resume(lab), ctx);
			}),
		),
		route(
			'POST',
			path('/reset'),
			withLab(async (lab, { req, res }) => {
				const { node } = parseBody(resetBody, await readJson(req));
				sendJson(res, 200, labView(await resetLab(deps, lab, node, 'learner')));
			}),
		),
		route(
			'DELETE',
			path(''),
			withLab(async (lab, { req, res }) => {
				await labs.exclusive(lab, 'завершение', () => labs.end(lab, 'deleted'));
				clearLabCookie(res, lab.id, isSecure(req, config.trustProxy));
				sendNoContent(res);
			}),
		),
		route(
			'GET',
			path('/checks'),
			withRunningLab(async (lab, { res }) => sendJson(res, 200, await runChecks(lab))),
		),
		route(
			'POST',
			path('/checks/([a-z-]{1,32})/complete'),
			withRunningLab(async (lab, { res, params }) => {
				const check = params[1]!;
				if (!isCheckId(check))
					throw new HttpError(404, 'unknown-check', `Проверки «${check}» нет.`);
				const done = await completeStep(deps.docker, lab, check);
				const body: CompletedStep = { ...done, checks: await runChecks(lab) };
				sendJson(res, 200, body);
			}),
		),
		route(
			'GET',
			path('/drills'),
			withRunningLab(async (lab, { res }) => sendJson(res, 200, await deps.drills.view(lab))),
		),
		route(
			'POST',
			path('/drills/([a-z-]{1,32})'),
			withRunningLab(async (lab, { res, params }) =>
				sendJson(
					res,
					202,
					await labs.exclusive(lab, 'учения', () => deps.drills.start(lab, params[1]!)),
				),
			),
		),
		route(
			'PUT',
			path('/viewing'),
			// Said by the learner's page on load and when it is shown again: idempotent, and it
			// changes nothing else (not the lab's activity: reading is not typing).
			withLab(async (lab, { req, res }) => {
				const { step } = parseBody(viewingBody, await readJson(req));
				if (step !== lab.viewing) {
					lab.viewing = step;
					lab.events.emit('viewing', { step, at: new Date().toISOString() });
				}
				sendNoContent(res);
			}),
		),
		route(
			'POST',
			path('/help'),
			withLab(async (lab, { req, res }) => {
				const { message } = parseBody(helpBody, await readJson(req));
				deps.help.raise(lab, message || null);
				sendNoContent(res);
			}),
		),
		route(
			'DELETE',
			path('/help'),
			withLab(async (lab, { res }) => {
				deps.help.lower(lab);
				sendNoContent(res);
			}),
		),
		route(
			'POST',
			path('/takeover'),
			withLab(async (lab, { req, res }) => {
				const { allow } = parseBody(takeoverBody, await readJson(req));
				deps.help.answer(lab, allow);
				const body: TakeoverAnswer = { takeover: lab.takeover!.state };
				sendJson(res, 200, body);
			}),
		),
		route(
			'DELETE',
			path('/takeover'),
			withLab(async (lab, { res }) => {
				deps.help.end(lab, 'learner');
				sendNoContent(res);
			}),
		),
		route(
			'GET',
			path('/events'),
			withLab(async (lab, { req, res }) => streamLabEvents(lab, req, res)),
		),
	];
}

/**
 * Resets a node (or both), undoing a running drill first: an intruder or a filter on the other
 * node must not outlive the reset. `by`: the lab's learner, or the workshop's instructor.
 */
export async function resetLab(
	deps: Pick<LabRouteDeps, 'labs' | 'drills'>,
	lab: Lab,
	node: (typeof LAB_NODES)[number] | undefined,
	by: ResetBy,
): Promise<Lab> {
	return deps.labs.exclusive(lab, 'сброс', async () => {
		if (deps.drills.active(lab)) await deps.drills.start(lab, 'restore').catch(() => undefined);
		return deps.labs.reset(lab, node, by);
	});
}

/** A lab handed to a browser: its view with the token, and the token's cookie. */
export function sendCreatedLab(
	res: RouteContext['res'],
	status: 200 | 201,
	lab: Lab,
	token: string,
	cookie: { secure: boolean; maxAgeS: number },
): void {
	setLabCookie(res, lab.id, token, cookie.maxAgeS, cookie.secure);
	const body: CreatedLab = { ...labView(lab), token };
	sendJson(res, status, body);
}
