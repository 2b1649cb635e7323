/**
 * The hub's forwarding to an agent, plain node:http: a request with its body piped through
 * (bounded), the answer streamed back as it comes (the SSE stream included), and a WebSocket
 * upgrade passed on as a raw socket pipe once the hub's own checks passed. The agent key and the
 * client's address are added; hop-by-hop headers and anything a client wrote in the hub's own
 * headers are dropped.
 */
import {
	Agent,
	request,
	type IncomingMessage,
	type OutgoingHttpHeaders,
	type ServerResponse,
} from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
	AGENT_CLIENT_HEADER,
	AGENT_INSTRUCTOR_HEADER,
	AGENT_KEY_HEADER,
	AGENT_SESSION_HEADER,
} from '../api/cluster';
import { clientAddress } from '../http/cookies';
import { HttpError } from '../http/errors';

/** Largest request body passed on: every API body is a small JSON object. */
const MAX_BODY_BYTES = 64 * 1024;
/** An answer (or an event stream, which writes a keepalive every 15 s) silent this long is cut. */
const IDLE_MS = 120_000;
const CONNECT_MS = 5_000;

const HOP_BY_HOP = new Set([
	'connection',
	'keep-alive',
	'proxy-connection',
	'proxy-authorization',
	'te',
	'trailer',
	'transfer-encoding',
	'upgrade',
	'x-forwarded-for',
	AGENT_KEY_HEADER,
	AGENT_SESSION_HEADER,
	AGENT_INSTRUCTOR_HEADER,
	AGENT_CLIENT_HEADER,
]);

// No cap on sockets per agent: every open event stream holds one for as long as it lasts, and a
// cap would queue every other call behind them.
const keepAlive = new Agent({ keepAlive: true, maxFreeSockets: 64 });

export interface ForwardOptions {
	key: string;
	/** Behind a trusted TLS proxy the hub keeps its `X-Forwarded-For` (config `TRUST_PROXY`). */
	trustProxy: boolean;
	/** The learner's session hash (hub's sessions.ts), for the agent's per-session counts. */
	session?: string;
	/** The workshop the hub authorized the caller as instructor of (hub-workshops.ts). */
	instructor?: string;
}

/** The request's headers as the agent gets them. */
export function forwardedHeaders(
	req: IncomingMessage,
	options: ForwardOptions,
): OutgoingHttpHeaders {
	const headers: OutgoingHttpHeaders = {};
	for (const [name, value] of Object.entries(req.headers)) {
		if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
	}
	const earlier = options.trustProxy ? req.headers['x-forwarded-for'] : undefined;
	headers['x-forwarded-for'] = [earlier, req.socket.remoteAddress].filter(Boolean).join(', ');
	headers[AGENT_KEY_HEADER] = options.key;
	const client = clientAddress(req, options.trustProxy);
	if (client) headers[AGENT_CLIENT_HEADER] = client;
	if (options.session) headers[AGENT_SESSION_HEADER] = options.session;
	if (options.instructor) headers[AGENT_INSTRUCTOR_HEADER] = options.instructor;
	return headers;
}

/**
 * Forwards `req` to the agent at `base` and streams its answer into `res`. Rejects only when the
 * agent could not be reached before it answered (the caller says 503 or 410); headers the hub set
 * on `res` already (its session cookie) are kept beside the agent's.
 */
export function proxyRequest(
	req: IncomingMessage,
	res: ServerResponse,
	base: string,
	options: ForwardOptions,
): Promise<void> {
	return new Promise((resolve, reject) => {
		const declared = Number(req.headers['content-length'] ?? 0);
		if (declared > MAX_BODY_BYTES) {
			reject(new HttpError(413, 'body-too-large', 'Слишком большой запрос.'));
			return;
		}
		const upstream = request(
			new URL(req.url ?? '/', base),
			{ method: req.method, headers: forwardedHeaders(req, options), agent: keepAlive },
			(answer) => {
				const headers: OutgoingHttpHeaders = {};
				for (const [name, value] of Object.entries(answer.headers)) {
					if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
				}
				const own = res.getHeader('set-cookie');
				if (own !== undefined) {
					headers['set-cookie'] = [own, answer.headers['set-cookie'] ?? []].flat().map(String);
				}
				res.writeHead(answer.statusCode ?? 502, headers);
				res.flushHeaders();
				answer.pipe(res);
				answer.on('end', resolve);
				answer.on('error', () => {
					res.destroy();
					resolve();
				});
			},
		);
		upstream.setTimeout(IDLE_MS, () => upstream.destroy(new Error('agent answer timed out')));
		let tooLarge = false;
		upstream.on('error', (error) => {
			if (res.headersSent) {
				res.destroy();
				resolve();
			} else if (tooLarge) {
				reject(new HttpError(413, 'body-too-large', 'Слишком большой запрос.'));
			} else reject(error);
		});
		// A client that leaves (an event stream closed) ends the agent's side too.
		res.on('close', () => {
			if (!res.writableFinished) upstream.destroy();
		});
		let bytes = 0;
		req.on('data', (chunk: Buffer) => {
			bytes += chunk.length;
			if (bytes > MAX_BODY_BYTES && !tooLarge) {
				tooLarge = true;
				req.unpipe(upstream);
				upstream.destroy();
				// The 413 goes out, then the connection closes: the rest of the body is not read.
				res.setHeader('Connection', 'close');
				res.once('finish', () => req.destroy());
			}
		});
		req.pipe(upstream);
	});
}

/**
 * Passes a WebSocket upgrade on to the agent at `base` as a raw byte pipe both ways (no frame is
 * parsed here: the agent's terminal server speaks to the browser). `onUnreachable` answers the
 * client when the agent cannot be reached at all; after that, either side closing closes both.
 */
export function proxyUpgrade(
	req: IncomingMessage,
	socket: Duplex,
	head: Buffer,
	base: string,
	options: ForwardOptions,
	onUnreachable: (error: Error) => void,
): void {
	const { hostname, port } = new URL(base);
	const upstream = connect({ host: hostname, port: Number(port || 80) });
	let connected = false;
	upstream.setNoDelay(true);
	upstream.setTimeout(CONNECT_MS, () => upstream.destroy(new Error('agent did not accept')));
	upstream.once('connect', () => {
		connected = true;
		upstream.setTimeout(0);
		const headers = forwardedHeaders(req, options);
		headers.connection = 'Upgrade';
		headers.upgrade = req.headers.upgrade;
		// The path as the hub routed it (normalized like the agent will): the agent sees that lab.
		const target = new URL(req.url ?? '/', 'http://hub');
		let text = `${req.method} ${target.pathname}${target.search} HTTP/1.1\r\n`;
		for (const [name, value] of Object.entries(headers)) {
			if (value === undefined) continue;
			for (const one of [value].flat())
				text += `${name}: ${String(one).replace(/[\r\n]/g, '')}\r\n`;
		}
		upstream.write(`${text}\r\n`);
		if (head.length > 0) upstream.write(head);
		socket.pipe(upstream);
		upstream.pipe(socket);
	});
	upstream.on('error', (error) => {
		if (connected) socket.destroy();
		else onUnreachable(error);
	});
	upstream.on('close', () => {
		if (connected) socket.destroy();
	});
	socket.on('error', () => upstream.destroy());
	socket.on('close', () => upstream.destroy());
	(socket as Partial<Socket>).setNoDelay?.(true);
}
