/**
 * The lab server's sockets that terminals dial back to (docker/node-links.ts has the node's
 * side of the directory): one listening unix socket per node, in the node's link directory.
 * To attach a terminal, holder.ts asks `expect` for a nonce, starts `labterm open --dial` with it
 * (one `docker exec`), and gets the connection labterm makes back here and hands to the holder:
 * from then on the holder's frames go straight between the holder and this process, not through
 * the Docker engine nor any relay.
 *
 * Every process in the node can connect (the socket is the node's, mounted read-only), so every
 * connection is hostile until it has said a nonce the server is waiting for:
 * - the first frame must be the nonce frame ('n', length 32, 32 hex digits), read to exactly its
 *   size, within NONCE_MS; it is compared in constant time with the node's pending nonces, and
 *   each nonce is good for one connection; anything else is closed;
 * - at most MAX_UNVERIFIED connections per node wait to say theirs, the others are closed at once;
 * - a node with more than FLOOD_PER_SECOND connections refused in a second gets its socket closed
 *   for FLOOD_PAUSE_MS: its connects then fail inside the node, at no cost here (labterm dials
 *   again for a few seconds, so an attach under way still gets through);
 * - what a verified connection sends is parsed as before (holder-frames.ts: bounded frames).
 * A node reaches its own socket only: this is the learner talking to their own lab's server.
 *
 * After a server restart the socket is made again (unlink + bind) in the same directory at the
 * first attach: the directory is what is mounted, so the node sees the new socket.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { LINK_SOCKET } from '../docker/node-links';
import { networkName } from '../docker/labels';
import type { Clock } from '../lib/clock';

/** How long a connection has to say its nonce. */
export const NONCE_MS = 2_000;
/** How long an attach waits for labterm to dial back (its exec goes through a busy engine). */
export const DIAL_MS = 15_000;
/** Connections of one node still to say their nonce, at most. */
export const MAX_UNVERIFIED = 4;
/**
 * Refused connections of one node in a second above which its socket is closed for a while (only
 * refusals count: a burst of attaches, each with its nonce, is no flood).
 */
export const FLOOD_PER_SECOND = 32;
export const FLOOD_PAUSE_MS = 1_000;
/** Open connections of one node's socket, at most (each verified one is a terminal). */
const MAX_CONNECTIONS = 64;

const NONCE_BYTES = 16;
/** 'n', a 4-byte length, the nonce in hex. */
const NONCE_FRAME = 5 + NONCE_BYTES * 2;
const HEX = /^[0-9a-f]{32}$/;

interface Pending {
	nonce: Buffer;
	resolve: (socket: net.Socket) => void;
	reject: (error: Error) => void;
	timer: unknown;
}

interface NodeLink {
	dir: string;
	server: net.Server | null;
	listening: Promise<void> | null;
	pending: Set<Pending>;
	unverified: number;
	/** Connections refused in the current second, and when it started. */
	recent: number;
	windowStart: number;
	paused: boolean;
	closed: boolean;
}

export interface ExpectedDial {
	/** For `labterm open --dial` (LABTERM_NONCE): 32 hex digits. */
	nonce: string;
	/** The verified connection; rejects after DIAL_MS, or when cancelled. */
	connection: Promise<net.Socket>;
	cancel(reason: Error): void;
}

export class TerminalLinks {
	#links = new Map<string, NodeLink>();
	/** Connections refused (bad nonce, too many, flood): tests and logs count them. */
	refused = 0;

	constructor(private readonly deps: { clock: Clock; log: Logger }) {}

	/** Waits for a connection with a fresh nonce on the node's link in `dir`, listening first. */
	async expect(dir: string): Promise<ExpectedDial> {
		const link = this.#link(dir);
		// While a flood pause lasts the socket stays closed: labterm dials for longer than that.
		if (!link.paused) await this.#listen(link);
		const nonce = randomBytes(NONCE_BYTES).toString('hex');
		let pending!: Pending;
		const connection = new Promise<net.Socket>((resolve, reject) => {
			pending = { nonce: Buffer.from(nonce), resolve, reject, timer: null };
		});
		const settle = (error: Error) => {
			if (!link.pending.delete(pending)) return;
			this.deps.clock.clearTimeout(pending.timer);
			pending.reject(error);
		};
		pending.timer = this.deps.clock.setTimeout(
			() => settle(new Error(`the terminal did not dial back within ${DIAL_MS} ms`)),
			DIAL_MS,
		);
		link.pending.add(pending);
		// A caller that gave up does not await it: no unhandled rejection.
		connection.catch(() => undefined);
		return { nonce, connection, cancel: settle };
	}

	/** Cancels `dial` after NONCE_MS unless its connection has come by then. */
	cancelLater(dial: ExpectedDial, reason: Error): void {
		this.deps.clock.setTimeout(() => dial.cancel(reason), NONCE_MS);
	}

	/** Closes the sockets of a lab's nodes (the lab is going away; connections end with it). */
	forgetLab(labId: string): void {
		const prefix = `${networkName(labId)}-`;
		for (const [dir, link] of this.#links) {
			if (path.basename(dir).startsWith(prefix)) this.#close(link);
		}
	}

	/** Closes every socket (the server stops; the next one makes them again). */
	closeAll(): void {
		for (const link of this.#links.values()) this.#close(link);
	}

	#link(dir: string): NodeLink {
		let link = this.#links.get(dir);
		if (!link || link.closed) {
			link = {
				dir,
				server: null,
				listening: null,
				pending: new Set(),
				unverified: 0,
				recent: 0,
				windowStart: 0,
				paused: false,
				closed: false,
			};
			this.#links.set(dir, link);
		}
		return link;
	}

	#listen(link: NodeLink): Promise<void> {
		link.listening ??= this.#bind(link).catch((error: unknown) => {
			link.listening = null;
			throw error;
		});
		return link.listening;
	}

	async #bind(link: NodeLink): Promise<void> {
		const file = path.join(link.dir, LINK_SOCKET);
		// Left by a previous server (or this one before a flood pause): the directory is ours and
		// read-only in the node, so nothing else can have put a file here.
		await unlink(file).catch((error: NodeJS.ErrnoException) => {
			if (error.code !== 'ENOENT') throw error;
		});
		const server = net.createServer({ pauseOnConnect: true }, (socket) =>
			this.#accept(link, socket),
		);
		server.maxConnections = MAX_CONNECTIONS;
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(file, () => {
				server.off('error', reject);
				resolve();
			});
		});
		server.on('error', (error) => this.deps.log.warn({ dir: link.dir, err: error }, 'link error'));
		if (link.closed) {
			server.close();
			return;
		}
		link.server = server;
		// The node's `ubuntu` runs labterm: it needs write permission on the socket to connect.
		await chmod(file, 0o666);
	}

	#accept(link: NodeLink, socket: net.Socket): void {
		if (link.unverified >= MAX_UNVERIFIED) {
			this.#refuse(link, socket);
			return;
		}
		link.unverified++;
		let got = Buffer.alloc(0);
		let done = false;
		const finish = (frame: Buffer | null) => {
			if (done) return;
			done = true;
			link.unverified--;
			this.deps.clock.clearTimeout(timer);
			socket.off('data', onData);
			socket.off('end', onEnd);
			const pending = frame ? this.#match(link, frame) : null;
			if (!pending) {
				this.#refuse(link, socket);
				return;
			}
			socket.pause();
			// Whatever came after the nonce frame is the holder's already.
			if (frame!.byteLength > NONCE_FRAME) socket.unshift(frame!.subarray(NONCE_FRAME));
			link.pending.delete(pending);
			this.deps.clock.clearTimeout(pending.timer);
			pending.resolve(socket);
		};
		const onData = (chunk: Buffer) => {
			got = Buffer.concat([got, chunk]);
			if (got.byteLength >= NONCE_FRAME) finish(got);
		};
		const onEnd = () => finish(null);
		const timer = this.deps.clock.setTimeout(() => finish(null), NONCE_MS);
		socket.on('data', onData);
		socket.on('end', onEnd);
		socket.on('error', () => finish(null));
		socket.resume();
	}

	/** Closes a connection that is nobody's; a node refused too often is paused (a flood). */
	#refuse(link: NodeLink, socket: net.Socket): void {
		this.refused++;
		socket.destroy();
		const now = this.deps.clock.now();
		if (now - link.windowStart >= 1_000) {
			link.windowStart = now;
			link.recent = 0;
		}
		if (++link.recent > FLOOD_PER_SECOND) this.#pause(link);
	}

	/** The pending attach whose nonce `frame` carries, if any. */
	#match(link: NodeLink, frame: Buffer): Pending | null {
		if (frame[0] !== 'n'.charCodeAt(0) || frame.readUInt32BE(1) !== NONCE_BYTES * 2) return null;
		const said = frame.subarray(5, NONCE_FRAME);
		if (!HEX.test(said.toString('latin1'))) return null;
		let found: Pending | null = null;
		// Every pending nonce is compared, each in constant time.
		for (const pending of link.pending) {
			if (timingSafeEqual(pending.nonce, said) && !found) found = pending;
		}
		return found;
	}

	/** Stops accepting for FLOOD_PAUSE_MS: the socket file goes, connects fail in the node. */
	#pause(link: NodeLink): void {
		if (link.paused || !link.server) return;
		link.paused = true;
		this.deps.log.warn({ dir: link.dir }, 'terminal link flooded: paused');
		link.server.close();
		link.server = null;
		link.listening = null;
		this.deps.clock.setTimeout(() => {
			link.paused = false;
			if (link.closed) return;
			void this.#listen(link).catch((error: unknown) =>
				this.deps.log.warn({ dir: link.dir, err: error }, 'terminal link not listening again'),
			);
		}, FLOOD_PAUSE_MS);
	}

	#close(link: NodeLink): void {
		link.closed = true;
		link.server?.close();
		link.server = null;
		for (const pending of [...link.pending]) {
			link.pending.delete(pending);
			this.deps.clock.clearTimeout(pending.timer);
			pending.reject(new Error('the terminal link was closed'));
		}
		this.#links.delete(link.dir);
	}
}
