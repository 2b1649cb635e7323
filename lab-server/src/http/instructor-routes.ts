/**
 * The instructor's sign-in (`/api/instructor/session`): `POST { secret }` signs in with
 * `INSTRUCTOR_SECRET` and sets the session's httpOnly cookie, `GET` says whether this browser is
 * signed in, `DELETE` signs out. Sessions and the guard on the secret: workshops/instructor-sessions.ts.
 */
import { z } from 'zod';
import type { InstructorSession } from '../api';
import type { Config } from '../config/config';
import { SESSION_TTL_MS, type InstructorSessions } from '../workshops/instructor-sessions';
import { setInstructorSessionCookie } from './auth';
import { readJson, sendJson, sendNoContent } from './body';
import { isSecure } from './cookies';
import { parseBody } from './errors';
import { route, type Route } from './router';

/** `POST /api/instructor/session`: the secret as typed (its length is checked, not echoed). */
const signInBody = z.object({ secret: z.string().min(1).max(1024) }).strict();

const SESSION = /^\/api\/instructor\/session$/;

export function instructorRoutes(deps: {
	sessions: InstructorSessions;
	config: Pick<Config, 'trustProxy'>;
}): Route[] {
	const { sessions, config } = deps;
	return [
		route('POST', SESSION, async ({ req, res }) => {
			sessions.requireEnabled();
			const { secret } = parseBody(signInBody, await readJson(req));
			sessions.verifySecret(req, secret);
			const { token, expiresAt } = sessions.open();
			const secure = isSecure(req, config.trustProxy);
			setInstructorSessionCookie(res, token, SESSION_TTL_MS / 1000, secure);
			sendJson(res, 200, sessionView(expiresAt));
		}),
		route('GET', SESSION, async ({ req, res }) => {
			sessions.requireEnabled();
			sendJson(res, 200, sessionView(sessions.current(req)));
		}),
		route('DELETE', SESSION, async ({ req, res }) => {
			sessions.close(req);
			setInstructorSessionCookie(res, '', 0, isSecure(req, config.trustProxy));
			sendNoContent(res);
		}),
	];
}

function sessionView(expiresAt: number | null): InstructorSession {
	return {
		signedIn: expiresAt !== null,
		expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
	};
}
