/**
 * Who may do what: the lab's token (an httpOnly cookie scoped to the lab's API path, or
 * `Authorization: Bearer`), the browser session cookie that per-client limits count by (never the
 * IP address: a classroom shares one NAT address), and the Origin check for WebSocket upgrades.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sha256 } from '../lib/hash';

export const SESSION_COOKIE = 'klab_session';

export function labCookieName(labId: string): string {
	return `klab_lab_${labId}`;
}

export function parseCookies(header: string | undefined): Record<string, string> {
	const cookies: Record<string, string> = {};
	for (const part of (header ?? '').split(';')) {
		const eq = part.indexOf('=');
		if (eq <= 0) continue;
		const name = part.slice(0, eq).trim();
		const value = part.slice(eq + 1).trim();
		try {
			cookies[name] = decodeURIComponent(value);
		} catch {
			// A cookie that is not valid percent-encoding is someone else's: ignore it.
		}
	}
	return cookies;
}

/** The token for `labId` from `Authorization: Bearer …`, else from the lab's cookie. */
export function labToken(req: IncomingMessage, labId: string): string | undefined {
	const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
	if (bearer) return bearer[1];
	return parseCookies(req.headers.cookie)[labCookieName(labId)];
}

export function instructorCookieName(workshopId: string): string {
	return `klab_instructor_${workshopId}`;
}

/** The instructor's token for a workshop: `Authorization: Bearer …`, else the workshop's cookie. */
export function instructorToken(req: IncomingMessage, workshopId: string): string | undefined {
	return bearer(req) ?? parseCookies(req.headers.cookie)[instructorCookieName(workshopId)];
}

/** The `Authorization: Bearer` token, if any. */
export function bearer(req: IncomingMessage): string | undefined {
	return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** The cookie that opens a workshop's instructor calls, read-only terminals included (Path=/api). */
export function setInstructorCookie(
	res: ServerResponse,
	workshopId: string,
	token: string,
	maxAgeS: number,
	secure: boolean,
) {
	appendCookie(
		res,
		cookie(instructorCookieName(workshopId), token, { path: '/api', maxAgeS, secure }),
	);
}

/** The browser session's hash, creating the session cookie when the request has none. */
export function browserSession(req: IncomingMessage, res: ServerResponse, secure: boolean): string {
	let id = parseCookies(req.headers.cookie)[SESSION_COOKIE];
	if (!id || !/^[A-Za-z0-9_-]{22,64}$/.test(id)) {
		id = randomBytes(24).toString('base64url');
		appendCookie(res, cookie(SESSION_COOKIE, id, { path: '/', maxAgeS: 30 * 24 * 3600, secure }));
	}
	return sha256(id);
}

export function setLabCookie(
	res: ServerResponse,
	labId: string,
	token: string,
	maxAgeS: number,
	secure: boolean,
) {
	appendCookie(
		res,
		cookie(labCookieName(labId), token, { path: `/api/labs/${labId}`, maxAgeS, secure }),
	);
}

export function clearLabCookie(res: ServerResponse, labId: string, secure: boolean) {
	appendCookie(
		res,
		cookie(labCookieName(labId), '', { path: `/api/labs/${labId}`, maxAgeS: 0, secure }),
	);
}

/**
 * Whether a WebSocket upgrade's Origin may open a terminal: the server's own origin (Origin's
 * host:port equals the Host header) or one configured exactly. No Origin at all means a client
 * that is not a browser (it still needs the token): browsers always send one, which is what
 * cross-site WebSocket hijacking would come through.
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

function cookie(
	name: string,
	value: string,
	o: { path: string; maxAgeS: number; secure: boolean },
) {
	return [
		`${name}=${encodeURIComponent(value)}`,
		`Path=${o.path}`,
		`Max-Age=${Math.max(0, Math.floor(o.maxAgeS))}`,
		'HttpOnly',
		'SameSite=Strict',
		...(o.secure ? ['Secure'] : []),
	].join('; ');
}

function appendCookie(res: ServerResponse, value: string) {
	const existing = res.getHeader('Set-Cookie');
	const list = Array.isArray(existing) ? existing : existing ? [String(existing)] : [];
	res.setHeader('Set-Cookie', [...list, value]);
}
