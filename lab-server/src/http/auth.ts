/**
 * Who may open what: the lab's token (an httpOnly cookie scoped to the lab's API path, or
 * `Authorization: Bearer`), the instructor's token for a workshop (likewise), the signed-in
 * instructor's session (a cookie for `/api`), and the Origin check for WebSocket upgrades.
 * Browser sessions are in sessions.ts; cookies in cookies.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readCookie, setCookie } from './cookies';

const labCookie = (labId: string) => ({ name: `klab_lab_${labId}`, path: `/api/labs/${labId}` });
const instructorCookie = (workshopId: string) => ({
	name: `klab_instructor_${workshopId}`,
	path: '/api',
});
/** The signed-in instructor's session (workshops/instructor-sessions.ts): every workshop call. */
const INSTRUCTOR_SESSION_COOKIE = { name: 'klab_instructor', path: '/api' };

/** The `Authorization: Bearer` token, if any. */
export function bearer(req: IncomingMessage): string | undefined {
	return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** The token for `labId` from `Authorization: Bearer …`, else from the lab's cookie. */
export function labToken(req: IncomingMessage, labId: string): string | undefined {
	const { name, path } = labCookie(labId);
	return bearer(req) ?? readCookie(req, name, path);
}

/** The instructor's token for a workshop: `Authorization: Bearer …`, else the workshop's cookie. */
export function instructorToken(req: IncomingMessage, workshopId: string): string | undefined {
	const { name, path } = instructorCookie(workshopId);
	return bearer(req) ?? readCookie(req, name, path);
}

/** The instructor's session token, from its cookie (never from a header). */
export function instructorSessionToken(req: IncomingMessage): string | undefined {
	return readCookie(req, INSTRUCTOR_SESSION_COOKIE.name, INSTRUCTOR_SESSION_COOKIE.path);
}

/** Sets (or, with `maxAgeS` 0 and no token, clears) the instructor's session cookie. */
export function setInstructorSessionCookie(
	res: ServerResponse,
	token: string,
	maxAgeS: number,
	secure: boolean,
): void {
	const { name, path } = INSTRUCTOR_SESSION_COOKIE;
	setCookie(res, name, token, { path, maxAgeS, secure });
}

export function setLabCookie(
	res: ServerResponse,
	labId: string,
	token: string,
	maxAgeS: number,
	secure: boolean,
): void {
	const { name, path } = labCookie(labId);
	setCookie(res, name, token, { path, maxAgeS, secure });
}

export function clearLabCookie(res: ServerResponse, labId: string, secure: boolean): void {
	setLabCookie(res, labId, '', 0, secure);
}

/** The cookie that opens a workshop's instructor calls, read-only terminals included (Path=/api). */
export function setInstructorCookie(
	res: ServerResponse,
	workshopId: string,
	token: string,
	maxAgeS: number,
	secure: boolean,
): void {
	const { name, path } = instructorCookie(workshopId);
	setCookie(res, name, token, { path, maxAgeS, secure });
}

/**
 * Whether a request's Origin may act on the API or open a terminal: the server's own origin
 * (Origin's host:port equals the Host header) or one configured exactly. No Origin at all means a
 * client that is not a browser (it still needs its token): browsers always send one on
 * cross-site requests, which is what cross-site request forgery and WebSocket hijacking would
 * come through.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
	const origin = req.headers.origin;
	if (origin === undefined) return true;
	if (allowed.includes(origin)) return true;
	try {
		return new URL(origin).host === req.headers.host;
	} catch {
		return false;
	}
}
