/**
 * `WS /api/labs/:id/terminals/:node?term=NAME`: terminal protocol v1 (protocol.ts) between a
 * browser and a TerminalSession (terminal.ts).
 *
 * The upgrade is checked before `handleUpgrade` (ws's README recipe): unknown path 404, foreign
 * Origin 403, no token 401, another lab's token 403, unknown lab 404 — refused as plain HTTP with
 * a JSON body, so no WebSocket ever exists for a request that should not have one. After that a
 * malformed frame closes only its own socket with a 4xxx code and a reason.
 *
 * With `view=1` the socket is a read-only viewer for the instructor of the lab's workshop (their
 * cookie or Bearer token, checked before `handleUpgrade` as well): READY and the ring's backlog,
 * then live OUTPUT; INPUT and RESIZE get an ERROR frame `read-only`. A terminal the learner has
 * not opened yet is not started for a viewer: ERROR `not-started`, then close 4015.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { labToken, originAllowed } from '../http/auth';
import type { Clock } from '../lib/clock';
import type { Config } from '../config/config';
import { HttpError, errorResponse } from '../http/errors';
import type { Lab, LabManager } from '../labs/manager';
import {
	CloseCode,
	MAX_FRAME_BYTES,
	ProtocolError,
	decodeClientFrame,
	encodeServerFrame,
	type ServerFrame,
} from '../api/protocol';
import { LAB_NODES, type LabNode } from '../docker/provision';
import { TokenBucket } from '../lib/rate-limit';
import type { TerminalRegistry, TerminalSession, TerminalSink, TerminalViewer } from './session';

const PATH = /^\/api\/labs\/([a-z0-9]{10})\/terminals\/([a-z0-9]+)$/;
const TERM_NAME = /^[a-z0-9-]{1,32}$/;
const HELLO_TIMEOUT_MS = 10_000;
const PING_EVERY_MS = 20_000;

export interface TerminalServerDeps {
	labs: LabManager;
	terminals: TerminalRegistry;
	config: Config;
	clock: Clock;
	log: Logger;
	/**
	 * The lab, if the request carries the instructor credentials of its workshop (workshops.ts);
	 * throws an HttpError (401, 403, 404) otherwise. Without it `view=1` is refused.
	 */
	authorizeViewer?: (req: IncomingMessage, labId: string) => Lab;
}

const READ_ONLY_ERROR = {
	op: 'error',
	code: 'read-only',
	message: 'Только просмотр: вводить команды может только слушатель.',
} as const;

export interface TerminalServer {
	/** Closes every terminal socket with `code` (e.g. 4013 when the server restarts). */
	closeAll(code: number, reason: string): void;
	readonly connections: number;
}

export function attachTerminalServer(server: Server, deps: TerminalServerDeps): TerminalServer {
	const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
	const buckets = new Map<string, TokenBucket>();
	const alive = new WeakSet<WebSocket>();

	server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
		let target: { lab: Lab; node: LabNode; term: string; view: boolean };
		try {
			target = authorizeUpgrade(req, deps);
		} catch (error) {
			refuse(socket, error);
			return;
		}
		wss.handleUpgrade(req, socket, head, (ws) => {
			alive.add(ws);
			ws.on('pong', () => alive.add(ws));
			if (target.view) return serveViewer(ws, target, deps);
			let bucket = buckets.get(target.lab.id);
			if (!bucket) {
				bucket = new TokenBucket({
					ratePerSecond: deps.config.terminalInputBytesPerSecond,
					burst: deps.config.terminalInputBurst,
					clock: deps.clock,
				});
				buckets.set(target.lab.id, bucket);
				target.lab.events.once('ended', () => buckets.delete(target.lab.id));
			}
			serveTerminal(ws, target, bucket, deps);
		});
	});

	// Heartbeat (ws's README): a socket that has not answered the previous ping is dead.
	const heartbeat = setInterval(() => {
		for (const ws of wss.clients) {
			if (!alive.has(ws)) {
				ws.terminate();
				continue;
			}
			alive.delete(ws);
			ws.ping();
		}
	}, PING_EVERY_MS);
	heartbeat.unref();
	server.on('close', () => clearInterval(heartbeat));

	return {
		closeAll(code, reason) {
			for (const ws of wss.clients) ws.close(code, reason);
		},
		get connections() {
			return wss.clients.size;
		},
	};
}

function authorizeUpgrade(req: IncomingMessage, deps: TerminalServerDeps) {
	const url = new URL(req.url ?? '/', 'http://localhost');
	const match = PATH.exec(url.pathname);
	const node = match?.[2];
	if (!match || !LAB_NODES.includes(node as LabNode)) {
		throw new HttpError(404, 'not-found', 'Такого терминала нет: узлы стенда — hap1 и hap2.');
	}
	const term = url.searchParams.get('term') ?? 'main';
	if (!TERM_NAME.test(term)) {
		throw new HttpError(
			400,
			'bad-request',
			'Имя терминала: латинские буквы, цифры и дефис, до 32 символов.',
		);
	}
	if (!originAllowed(req, deps.config.allowedOrigins)) {
		throw new HttpError(
			403,
			'origin-not-allowed',
			'Терминал можно открыть только со страницы курса.',
		);
	}
	if (url.searchParams.get('view') === '1') {
		if (!deps.authorizeViewer) {
			throw new HttpError(403, 'forbidden', 'Просмотр терминалов доступен только на воркшопе.');
		}
		return { lab: deps.authorizeViewer(req, match[1]!), node: node as LabNode, term, view: true };
	}
	const lab = deps.labs.authorize(match[1]!, labToken(req, match[1]!));
	return { lab, node: node as LabNode, term, view: false };
}

/** A read-only viewer: HELLO, then READY + backlog + live output; it never starts a shell. */
function serveViewer(
	ws: WebSocket,
	{ lab, node, term }: { lab: Lab; node: LabNode; term: string },
	deps: TerminalServerDeps,
) {
	const log = deps.log.child({ labId: lab.id, node, term, viewer: true });
	const { send, close, helloReceived, release } = socketBasics(ws, lab, node, deps);
	let session: TerminalSession | null = null;
	const viewer: TerminalViewer = {
		output: (data) => send({ op: 'output', data }),
		exit: (code) => {
			send({ op: 'exit', code });
			close(CloseCode.TERMINAL_EXITED, 'shell exited');
		},
		get buffered() {
			return ws.bufferedAmount;
		},
		dropped: () => {
			log.info({ buffered: ws.bufferedAmount }, 'slow terminal viewer dropped');
			close(CloseCode.VIEWER_TOO_SLOW, 'viewer too slow');
		},
	};

	ws.on('message', (data: Buffer, isBinary: boolean) => {
		if (!isBinary)
			return close(CloseCode.PROTOCOL_ERROR, 'text frames are not part of the protocol');
		let frame;
		try {
			frame = decodeClientFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
		} catch (error) {
			const reason =
				error instanceof ProtocolError ? `${error.code}: ${error.message}` : 'bad frame';
			return close(CloseCode.PROTOCOL_ERROR, truncateReason(reason));
		}
		if (frame.op === 'hello') {
			if (session) return close(CloseCode.PROTOCOL_ERROR, 'HELLO twice');
			helloReceived();
			const open = deps.terminals.get({ labId: lab.id, node, term });
			if (!open) {
				send({
					op: 'error',
					code: 'not-started',
					message: 'Слушатель ещё не открыл этот терминал. Попробуйте чуть позже.',
				});
				return close(CloseCode.NOT_STARTED, 'terminal not started');
			}
			session = open;
			const { offset, backlog } = open.addViewer(viewer, frame.resumeOffset);
			send({ op: 'ready', offset, resumed: frame.resumeOffset === offset });
			if (backlog.byteLength > 0) send({ op: 'output', data: backlog });
			log.info({ offset, backlog: backlog.byteLength }, 'terminal viewer attached');
			return;
		}
		if (!session) return close(CloseCode.HELLO_REQUIRED, 'the first frame must be HELLO');
		// ACKs are fine and ignored: a viewer never counts in flow control.
		if (frame.op === 'input' || frame.op === 'resize') send(READ_ONLY_ERROR);
	});
	ws.on('close', () => {
		release();
		session?.removeViewer(viewer);
	});
	ws.on('error', (error) => log.debug({ err: error }, 'terminal viewer socket error'));
}

function refuse(socket: Duplex, error: unknown) {
	const { status, body } = errorResponse(error);
	const json = JSON.stringify(body);
	socket.end(
		`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\n` +
			'Content-Type: application/json; charset=utf-8\r\n' +
			`Content-Length: ${Buffer.byteLength(json)}\r\n` +
			'Connection: close\r\n\r\n' +
			json,
	);
}

function serveTerminal(
	ws: WebSocket,
	{ lab, node, term }: { lab: Lab; node: LabNode; term: string },
	bucket: TokenBucket,
	deps: TerminalServerDeps,
) {
	const log = deps.log.child({ labId: lab.id, node, term });
	const { send, close, helloReceived, release } = socketBasics(ws, lab, node, deps);
	let session: TerminalSession | null = null;
	let opening = false;
	const sink: TerminalSink = {
		output: (data) => send({ op: 'output', data }),
		exit: (code) => {
			send({ op: 'exit', code });
			close(CloseCode.TERMINAL_EXITED, 'shell exited');
		},
		replaced: () => close(CloseCode.REPLACED, 'terminal opened elsewhere'),
	};

	// Frames are handled strictly in order (a RESIZE must take effect before the INPUT after it),
	// though some steps are asynchronous: each waits for the one before.
	let queue = Promise.resolve();
	ws.on('message', (data: Buffer, isBinary: boolean) => {
		queue = queue
			.then(() => handle(data, isBinary))
			.catch((error: unknown) => {
				log.error({ err: error }, 'terminal frame failed');
				close(1011, 'internal error');
			});
	});

	const handle = async (data: Buffer, isBinary: boolean): Promise<void> => {
		if (!isBinary)
			return close(CloseCode.PROTOCOL_ERROR, 'text frames are not part of the protocol');
		let frame;
		try {
			frame = decodeClientFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
		} catch (error) {
			const reason =
				error instanceof ProtocolError ? `${error.code}: ${error.message}` : 'bad frame';
			log.info({ reason }, 'terminal frame refused');
			return close(CloseCode.PROTOCOL_ERROR, truncateReason(reason));
		}
		if (frame.op === 'hello') {
			if (session || opening) return close(CloseCode.PROTOCOL_ERROR, 'HELLO twice');
			helloReceived();
			opening = true;
			const open = deps.terminals.get({ labId: lab.id, node, term });
			if (!open && deps.terminals.countForLab(lab.id) >= deps.config.terminalsPerLab) {
				return close(
					CloseCode.TOO_MANY_TERMINALS,
					`at most ${deps.config.terminalsPerLab} terminals per lab`,
				);
			}
			try {
				session = await deps.terminals.open(
					{ labId: lab.id, node, term },
					lab.containers[node],
					frame.cols,
					frame.rows,
				);
			} catch (error) {
				log.error({ err: error }, 'terminal could not start');
				send({
					op: 'error',
					code: 'terminal-start-failed',
					message: 'Не удалось открыть терминал: узел не отвечает. Попробуйте «Сбросить стенд».',
				});
				return close(1011, 'terminal could not start');
			}
			if (ws.readyState !== ws.OPEN) return;
			const { offset, resumed, backlog } = session.attach(sink, frame.resumeOffset);
			send({ op: 'ready', offset, resumed });
			if (backlog.byteLength > 0) send({ op: 'output', data: backlog });
			if (session.size.cols !== frame.cols || session.size.rows !== frame.rows) {
				await session.resize(frame.cols, frame.rows);
			}
			log.info({ resumed, offset, backlog: backlog.byteLength }, 'terminal attached');
			return;
		}
		if (!session) return close(CloseCode.HELLO_REQUIRED, 'the first frame must be HELLO');
		switch (frame.op) {
			case 'input':
				if (!bucket.take(frame.data.byteLength)) {
					return close(CloseCode.RATE_LIMITED, 'input faster than the lab allows');
				}
				session.input(frame.data);
				deps.labs.noteActivity(lab.id);
				break;
			case 'resize':
				await session.resize(frame.cols, frame.rows);
				break;
			case 'ack':
				session.ack(frame.bytes);
				break;
		}
	};

	ws.on('close', (code: number) => {
		release();
		if (!session) return;
		// A clean close is the learner closing the terminal: its shell ends with it. Anything
		// else (reload, network drop, server restart) keeps the shell for a resume.
		if (code === 1000) void session.end();
		else session.detach(sink);
		if (!deps.terminals.anyAttached(lab.id)) deps.labs.touch(lab);
	});
	ws.on('error', (error) => log.debug({ err: error }, 'terminal socket error'));
}

/**
 * What every terminal socket needs, learner's or viewer's: framed sends, a close that is safe to
 * call twice, the HELLO deadline, and closing when the lab ends or the node is reset. `release()`
 * undoes the timer and listeners when the socket closes.
 */
function socketBasics(ws: WebSocket, lab: Lab, node: LabNode, deps: TerminalServerDeps) {
	const send = (frame: ServerFrame) => {
		if (ws.readyState === ws.OPEN) ws.send(encodeServerFrame(frame));
	};
	const close = (code: number, reason: string) => {
		if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
	};
	const helloTimer = deps.clock.setTimeout(
		() => close(CloseCode.HELLO_REQUIRED, 'no HELLO within 10 s'),
		HELLO_TIMEOUT_MS,
	);
	const onEnded = () => close(CloseCode.LAB_ENDED, 'lab ended');
	const onReset = ({ node: reset }: { node: LabNode }) => {
		if (reset === node) close(CloseCode.NODE_RESET, 'node reset');
	};
	lab.events.on('ended', onEnded);
	lab.events.on('reset', onReset);
	return {
		send,
		close,
		helloReceived: () => deps.clock.clearTimeout(helloTimer),
		release: () => {
			deps.clock.clearTimeout(helloTimer);
			lab.events.off('ended', onEnded);
			lab.events.off('reset', onReset);
		},
	};
}

/** A close reason is at most 123 bytes of UTF-8. */
function truncateReason(reason: string): string {
	let out = reason;
	while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
	return out;
}
