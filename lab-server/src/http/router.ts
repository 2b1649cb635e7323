/**
 * The API's dispatcher: a table of routes (method, path pattern, handler), 404 for an unknown
 * path, 405 with `Allow` for a known path and another method, and every failure as JSON
 * `{ error: { code, message } }` with its status. Nothing a client sends can crash the server:
 * whatever a handler throws that is not an HttpError becomes a 500 that says nothing of its
 * insides, and is logged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { sendJson } from './body';
import { HttpError, errorResponse } from './errors';
import type { RequestGuard } from './guard';
import type { StaticSite } from './static-site';

export interface RouteContext {
	req: IncomingMessage;
	res: ServerResponse;
	/** The pattern's capture groups, in order. */
	params: string[];
}

export interface Route {
	method: 'GET' | 'POST' | 'PUT' | 'DELETE';
	pattern: RegExp;
	handle(ctx: RouteContext): Promise<void>;
}

export function route(method: Route['method'], pattern: RegExp, handle: Route['handle']): Route {
	return { method, pattern, handle };
}

export function createRequestHandler(deps: {
	routes: readonly Route[];
	site: StaticSite | null;
	guard: RequestGuard;
	log: Logger;
}) {
	const { routes, site, guard, log } = deps;
	return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
		const started = performance.now();
		const url = new URL(req.url ?? '/', 'http://localhost');
		const api = url.pathname.startsWith('/api/');
		res.setHeader('X-Content-Type-Options', 'nosniff');
		res.setHeader('Referrer-Policy', 'same-origin');
		try {
			guard.checkHost(req);
			if (api) guard.checkWrite(req);
			if (api) await dispatch(routes, req, res, url.pathname);
			else if (site && (req.method === 'GET' || req.method === 'HEAD')) {
				await site.serve(req, res, url.pathname);
			} else throw new HttpError(404, 'not-found', 'Страница не найдена.');
		} catch (error) {
			const { status, body, headers } = errorResponse(error);
			// An HttpError of 5xx is a state the server knows and answers (an agent away, the
			// engine busy: warn); anything else that ends here is a bug (error).
			if (status >= 500 && error instanceof HttpError) {
				log.warn({ status, code: error.code, path: url.pathname }, 'request refused');
			} else if (status >= 500) log.error({ err: error, path: url.pathname }, 'request failed');
			if (!res.headersSent) {
				for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
				sendJson(res, status, body);
			} else res.end();
		} finally {
			if (api && !url.pathname.endsWith('/events')) {
				const ms = Math.round(performance.now() - started);
				log.debug(
					{ method: req.method, path: url.pathname, status: res.statusCode, ms },
					'request',
				);
			}
		}
	};
}

async function dispatch(
	routes: readonly Route[],
	req: IncomingMessage,
	res: ServerResponse,
	pathname: string,
): Promise<void> {
	const matching = routes.filter((r) => r.pattern.test(pathname));
	if (matching.length === 0) throw new HttpError(404, 'not-found', 'Такого адреса в API нет.');
	const found = matching.find((r) => r.method === req.method);
	if (!found) {
		res.setHeader('Allow', [...new Set(matching.map((r) => r.method))].join(', '));
		throw new HttpError(405, 'method-not-allowed', `Метод ${req.method} здесь не поддерживается.`);
	}
	await found.handle({ req, res, params: found.pattern.exec(pathname)!.slice(1) });
}
