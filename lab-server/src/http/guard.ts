/**
 * What every request must show before any route sees it:
 * - a Host the server answers to (DNS rebinding: a page on the attacker's name that resolves to
 *   127.0.0.1 sends the attacker's name as Host): loopback names, any IP address (a rebinding
 *   page cannot make the browser send a literal address it did not load), this machine's name,
 *   and the hosts of `PUBLIC_ORIGIN` and `ALLOWED_ORIGINS`;
 * - for anything but GET and HEAD, that it comes from the course's own pages or from a program
 *   that is not a browser: a foreign `Origin` or a cross-site `Sec-Fetch-Site` is refused unless
 *   the request carries a Bearer token (which no cross-site page can attach), and a body must be
 *   declared JSON (a form or `fetch(…, { mode: 'no-cors' })` cannot declare it).
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { IncomingMessage } from 'node:http';
import { bearer, originAllowed } from './auth';
import { HttpError } from './errors';

export interface GuardOptions {
	publicOrigin: string | undefined;
	allowedOrigins: readonly string[];
}

export interface RequestGuard {
	/** 403 unless the Host header is one the server answers to. */
	checkHost(req: IncomingMessage): void;
	/** 403 for a cross-site change, 415 for a body that is not JSON (non-GET requests only). */
	checkWrite(req: IncomingMessage): void;
}

export function requestGuard(options: GuardOptions): RequestGuard {
	const names = new Set(
		['localhost', hostname().toLowerCase()].concat(
			[options.publicOrigin, ...options.allowedOrigins]
				.filter((origin): origin is string => origin !== undefined)
				.map((origin) => new URL(origin).hostname.toLowerCase()),
		),
	);
	const origins = [options.publicOrigin, ...options.allowedOrigins].filter(
		(origin): origin is string => origin !== undefined,
	);
	return {
		checkHost(req) {
			const host = hostOf(req.headers.host);
			if (host !== null && (names.has(host) || host.endsWith('.localhost') || isIP(host))) return;
			throw new HttpError(
				403,
				'host-not-allowed',
				'Этот адрес сервера не разрешён. Откройте курс по адресу, который дал администратор (его задаёт PUBLIC_ORIGIN).',
			);
		},
		checkWrite(req) {
			if (req.method === 'GET' || req.method === 'HEAD') return;
			if (bearer(req) === undefined) {
				const site = req.headers['sec-fetch-site'];
				if (
					!originAllowed(req, origins) ||
					(site !== undefined && site !== 'same-origin' && site !== 'none')
				) {
					throw new HttpError(
						403,
						'cross-site',
						'Запрос пришёл не со страницы курса: изменять стенды можно только с неё.',
					);
				}
			}
			const length = Number(req.headers['content-length'] ?? 0);
			const hasBody = length > 0 || req.headers['transfer-encoding'] !== undefined;
			const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
			if (hasBody && type !== 'application/json') {
				throw new HttpError(
					415,
					'unsupported-media-type',
					'Тело запроса должно быть JSON (Content-Type: application/json).',
				);
			}
		},
	};
}

/** The host name of a Host header, lower-case, without the port; null when it is not one. */
function hostOf(header: string | undefined): string | null {
	if (!header) return null;
	try {
		const { hostname: host } = new URL(`http://${header}`);
		// `[::1]` → `::1`, so that isIP recognises it.
		return host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
	} catch {
		return null;
	}
}
