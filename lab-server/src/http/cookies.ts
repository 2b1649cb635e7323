/**
 * Cookies as the server sets them: httpOnly, `SameSite=Strict`, and over HTTPS (or behind a TLS
 * proxy, `TRUST_PROXY`) `Secure` with a `__Host-` (whole site) or `__Secure-` (one path) name, so
 * that nothing served over plain HTTP, nor a sibling domain, can plant one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Whether cookies for this request are `Secure`: served over TLS, or behind a TLS proxy. */
export function isSecure(req: IncomingMessage, trustProxy: boolean): boolean {
	return trustProxy || Boolean((req.socket as Partial<TLSSocket>).encrypted);
}

/**
 * The client's address: the socket's peer, or behind a trusted proxy the last address it added
 * to `X-Forwarded-For` (earlier ones are whatever the client wrote).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string | null {
	const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined;
	const last = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? ''))
		.split(',')
		.map((part) => part.trim())
		.filter(Boolean)
		.at(-1);
	return last ?? req.socket.remoteAddress ?? null;
}

/** The cookie's name as set: prefixed when secure (`__Host-` needs `Path=/`). */
export function cookieName(name: string, path: string, secure: boolean): string {
	if (!secure) return name;
	return path === '/' ? `__Host-${name}` : `__Secure-${name}`;
}

/** The cookie's value, under its secure name or its plain one (the server may have moved). */
export function readCookie(req: IncomingMessage, name: string, path: string): string | undefined {
	const cookies = parseCookies(req.headers.cookie);
	return cookies[cookieName(name, path, true)] ?? cookies[name];
}

export function setCookie(
	res: ServerResponse,
	name: string,
	value: string,
	o: { path: string; maxAgeS: number; secure: boolean },
): void {
	const header = [
		`${cookieName(name, o.path, o.secure)}=${encodeURIComponent(value)}`,
		`Path=${o.path}`,
		`Max-Age=${Math.max(0, Math.floor(o.maxAgeS))}`,
		'HttpOnly',
		'SameSite=Strict',
		...(o.secure ? ['Secure'] : []),
	].join('; ');
	const existing = res.getHeader('Set-Cookie');
	const list = Array.isArray(existing) ? existing : existing ? [String(existing)] : [];
	res.setHeader('Set-Cookie', [...list, header]);
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
