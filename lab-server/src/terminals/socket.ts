/**
 * `WS /api/labs/:id/terminals/:node?term=NAME`: terminal protocol v1 (api/protocol.ts) between a
 * browser and a TerminalSession (session.ts). The upgrade is authorized first (upgrade.ts); the
 * learner's socket (learner-socket.ts) and the instructor's read-only one (viewer-socket.ts)
 * share their basics (socket-basics.ts). Every socket is pinged; one that does not answer is
 * dropped.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_FRAME_BYTES } from '../api/protocol';
import type { Config } from '../config/config';
import type { RequestGuard } from '../http/guard';
import type { Lab } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import type { Clock } from '../lib/clock';
import { HttpError } from '../http/errors';
import { TokenBucket } from '../lib/rate-limit';
import { serveTerminal } from './learner-socket';
import type { TerminalRegistry } from './registry';
import { authorizeUpgrade, refuseUpgrade, type TerminalTarget } from './upgrade';
import { serveViewer } from './viewer-socket';

const PING_EVERY_MS = 20_000;
/** Sockets one lab may hold open, learner's and viewers' together (beyond, 429 at upgrade). */
const socketsPerLab = (terminalsPerLab: number) => 2 * terminalsPerLab + 4;

export interface TerminalServerDeps {
	labs: LabManager;
	terminals: TerminalRegistry;
	config: Config;
	clock: Clock;
	log: Logger;
	/** The Host allow-list (http/guard.ts): upgrades are refused like any request. */
	guard: RequestGuard;
	/** See upgrade.ts: the instructor's access to a lab's terminals, read-only. */
	authorizeViewer?: (req: IncomingMessage, labId: string) => Lab;
	/** Told when an instructor's viewer socket opens (the result: when it closes): help-desk.ts. */
	watch?: (lab: Lab) => () => void;
}

export interface TerminalServer {
	/** Closes every terminal socket with `code` (e.g. 4013 when the server restarts). */
	closeAll(code: number, reason: string): void;
	readonly connections: number;
}

export function attachTerminalServer(server: Server, deps: TerminalServerDeps): TerminalServer {
	const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
	const buckets = new Map<string, TokenBucket>();
	const openByLab = new Map<string, number>();
	const alive = new WeakSet<WebSocket>();
	const learner = { ...deps, terminalsPerLab: deps.config.terminalsPerLab };
	const { publicOrigin, allowedOrigins } = deps.config;
	const origins = publicOrigin ? [publicOrigin, ...allowedOrigins] : allowedOrigins;

	server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
		let target: TerminalTarget;
		try {
			deps.guard.checkHost(req);
			target = authorizeUpgrade(req, {
				labs: deps.labs,
				allowedOrigins: origins,
				...(deps.authorizeViewer ? { authorizeViewer: deps.authorizeViewer } : {}),
			});
		} catch (error) {
			refuseUpgrade(socket, error);
			return;
		}
		const labId = target.lab.id;
		const count = openByLab.get(labId) ?? 0;
		if (count >= socketsPerLab(deps.config.terminalsPerLab)) {
			refuseUpgrade(
				socket,
				new HttpError(
					429,
					'too-many-connections',
					'К стенду открыто слишком много соединений: закройте лишние вкладки.',
				),
			);
			return;
		}
		wss.handleUpgrade(req, socket, head, (ws) => {
			// Counted once the socket exists (ws completes a valid upgrade synchronously).
			openByLab.set(labId, (openByLab.get(labId) ?? 0) + 1);
			ws.once('close', () => {
				const left = (openByLab.get(labId) ?? 1) - 1;
				if (left > 0) openByLab.set(labId, left);
				else openByLab.delete(labId);
			});
			alive.add(ws);
			ws.on('pong', () => alive.add(ws));
			if (target.view) {
				return serveViewer(ws, target, { ...deps, bucket: inputBucket(target.lab) });
			}
			serveTerminal(ws, target, inputBucket(target.lab), learner);
		});
	});

	/** One input budget per lab, shared by its terminals. */
	const inputBucket = (lab: Lab): TokenBucket => {
		let bucket = buckets.get(lab.id);
		if (!bucket) {
			bucket = new TokenBucket({
				ratePerSecond: deps.config.terminalInputBytesPerSecond,
				burst: deps.config.terminalInputBurst,
				clock: deps.clock,
			});
			buckets.set(lab.id, bucket);
			lab.events.once('ended', () => buckets.delete(lab.id));
		}
		return bucket;
	};

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
