/**
 * Serves the built Astro site (`dist/`): `/steps/x/` → `dist/steps/x/index.html`, hashed assets
 * under `/_astro/` cached for a year, everything else revalidated. Text is gzipped once and kept
 * in memory (the site is a few hundred kilobytes).
 *
 * Pages carry a Content-Security-Policy: scripts only from the site itself plus the inline ones
 * Astro wrote into the build (allowed by their SHA-256, collected over every page at start-up:
 * the client-side router runs one page's inline scripts under another page's policy), requests
 * only to the same origin, and framing only by `FRAME_ANCESTORS`. The instructor's pages may also
 * compile WebAssembly (`'wasm-unsafe-eval'`, which allows no JavaScript eval): asciinema-player's
 * terminal is a WebAssembly module, and the dashboard replays recordings with it.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { HttpError } from './errors';

const TYPES: Record<string, string> = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.json': 'application/json; charset=utf-8',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.ico': 'image/x-icon',
	'.woff2': 'font/woff2',
	'.txt': 'text/plain; charset=utf-8',
	'.xml': 'application/xml; charset=utf-8',
};

export interface StaticSite {
	serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
}

export function staticSite(root: string, options: { frameAncestors: string }): StaticSite {
	const base = path.resolve(root);
	const csp = contentSecurityPolicy(base, options.frameAncestors, false);
	const wasmCsp = contentSecurityPolicy(base, options.frameAncestors, true);
	const cache = new Map<string, { body: Buffer; gzip: Buffer | null; type: string }>();

	const load = async (file: string) => {
		const hit = cache.get(file);
		if (hit) return hit;
		const body = await readFile(file);
		const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
		const compressible =
			type.startsWith('text/') ||
			type.includes('json') ||
			type.includes('svg') ||
			type.includes('xml');
		const entry = {
			body,
			gzip: compressible && body.byteLength > 512 ? gzipSync(body) : null,
			type,
		};
		cache.set(file, entry);
		return entry;
	};

	const resolve = async (pathname: string): Promise<string | null> => {
		let decoded: string;
		try {
			decoded = decodeURIComponent(pathname);
		} catch {
			return null;
		}
		const candidate = path.resolve(base, `.${decoded}`);
		if (candidate !== base && !candidate.startsWith(base + path.sep)) return null;
		for (const file of [candidate, path.join(candidate, 'index.html'), `${candidate}.html`]) {
			const info = await stat(file).catch(() => null);
			if (info?.isFile()) return file;
		}
		return null;
	};

	return {
		async serve(req, res, pathname) {
			const file = await resolve(pathname);
			const notFound = file === null;
			const target = file ?? path.join(base, '404.html');
			let entry;
			try {
				entry = await load(target);
			} catch {
				throw new HttpError(404, 'not-found', 'Страница не найдена.');
			}
			const gzip = entry.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
			const body = gzip ? entry.gzip! : entry.body;
			res.writeHead(notFound ? 404 : 200, {
				'Content-Type': entry.type,
				'Content-Length': body.byteLength,
				'Cache-Control': pathname.startsWith('/_astro/')
					? 'public, max-age=31536000, immutable'
					: 'no-cache',
				...(entry.type.startsWith('text/html')
					? { 'Content-Security-Policy': WASM_PAGES.test(pathname) ? wasmCsp : csp }
					: {}),
				...(gzip ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
			});
			res.end(req.method === 'HEAD' ? undefined : body);
		},
	};
}

/** The pages that replay recordings (asciinema-player): the instructor's. */
const WASM_PAGES = /^\/instructor(\/|$)/;

/** The site's policy: see the module comment. */
function contentSecurityPolicy(base: string, frameAncestors: string, wasm: boolean): string {
	const hashes = new Set<string>();
	const inline = /<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g;
	for (const file of readdirSync(base, { recursive: true, encoding: 'utf8' })) {
		if (!file.endsWith('.html')) continue;
		for (const [, script] of readFileSync(path.join(base, file), 'utf8').matchAll(inline)) {
			hashes.add(`'sha256-${createHash('sha256').update(script!).digest('base64')}'`);
		}
	}
	return [
		"default-src 'self'",
		`script-src 'self'${wasm ? " 'wasm-unsafe-eval'" : ''} ${[...hashes].sort().join(' ')}`.trim(),
		// Astro's scoped styles and style attributes are inline.
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src 'self'",
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		`frame-ancestors ${frameAncestors}`,
	].join('; ');
}
