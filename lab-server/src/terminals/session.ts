/**
 * Terminal sessions: one shell of the learner's on one node, kept in a ring buffer, with at most
 * one WebSocket client attached at a time (terminal-socket.ts speaks the protocol), plus any
 * number of read-only viewers (an instructor watching), who never count in flow control.
 *
 * Lifecycle of a session (key: lab / node / term):
 * - created when a client first says HELLO for it: the terminal's holder in the node (holder.ts,
 *   docker/node/labterm) runs the shell, so the shell outlives the exec and a restarted lab
 *   server attaches to it again, asking for its output from where the saved ring ends: what
 *   the shell printed while nobody was attached comes first, or a line saying how much was lost;
 * - output is batched, appended to the ring and sent to the attached client, if any; the exec's
 *   stream is paused while more than `high` bytes are unacknowledged (by the client's ACKs), and
 *   since `high` is below the ring's capacity nothing a client has not seen is ever overwritten;
 * - a client that goes away detaches: the shell keeps running for `graceMs` so a reconnect with
 *   `resumeOffset` gets exactly what it missed; a clean close (1000) or the end of the grace
 *   period ends the shell *inside the node* (killing the exec alone would leave it running) —
 *   after the grace period its scrollback is kept, for the next terminal opened under that name
 *   (a learner back the next day sees what they did, then a new shell);
 * - when the shell exits, the attached client gets EXIT and the session is gone.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock';
import { FlowControl } from './flow-control';
import { attachHolder, endHolder, type HolderLink } from './holder';
import { OutputRing } from './output-ring';
import { ShellMarks } from './shell-marks';
import { removeSnapshot, saveSnapshot, type SessionKey } from './snapshots';

export type { SessionKey } from './snapshots';

/** The attached client, as the session sees it. */
export interface TerminalSink {
	/** Where the client's stream of OUTPUT starts (sent before any output). */
	ready(offset: number, resumed: boolean): void;
	/**
	 * Sends OUTPUT. `written` is called once the bytes have left the server (the socket's write
	 * callback): until then they sit in the server's memory, and they count in flow control.
	 */
	output(data: Uint8Array, written: () => void): void;
	exit(code: number): void;
	/** Another client attached to the same terminal and took it over. */
	replaced(): void;
	/** The client has not taken its output for `slowClientMs`: close it (the shell stays). */
	tooSlow(): void;
}

/**
 * A read-only viewer (an instructor watching a learner's terminal): it gets every OUTPUT byte
 * but never counts in flow control, so a viewer can neither slow nor stall the learner.
 */
export interface TerminalViewer {
	output(data: Uint8Array): void;
	/** The shell exited, or the session ended. */
	exit(code: number): void;
	/** Bytes queued towards the viewer and not yet sent (the socket's `bufferedAmount`). */
	readonly buffered: number;
	/** The viewer fell too far behind and was detached; close its connection. */
	dropped(): void;
}

/** A viewer with more than this queued is dropped rather than waited for. */
export const VIEWER_MAX_BUFFERED = 1024 * 1024;

export interface TerminalOptions {
	/** Bytes kept for resuming. Default 1 MiB. */
	ringBytes: number;
	/** Pause the shell's output above this many unacknowledged bytes. Default 256 KiB. */
	highWatermark: number;
	/** …and resume below this. Default 64 KiB. */
	lowWatermark: number;
	/** Output arriving within this window after a write is sent as one frame. Default 5 ms. */
	batchMs: number;
	/** A detached shell is kept this long for a resume. Default 5 min. */
	graceMs: number;
	/**
	 * A client whose socket holds more than `highWatermark` unwritten bytes for this long is
	 * dropped (it stopped reading); the shell stays for a resume. Default 30 s.
	 */
	slowClientMs: number;
}

export const TERMINAL_DEFAULTS: TerminalOptions = {
	ringBytes: 1024 * 1024,
	highWatermark: 256 * 1024,
	lowWatermark: 64 * 1024,
	batchMs: 5,
	graceMs: 5 * 60_000,
	slowClientMs: 30_000,
};

/** At most one resize per this interval (`resize`). */
const RESIZE_EVERY_MS = 100;

/** A line in the terminal where the holder says output was lost (more than its ring held). */
const gapLine = (bytes: number) =>
	`\r\n\x1b[33m[лаборатория: пока сервер был недоступен, оболочка вывела больше, чем хранится; пропущено ${bytes} байт]\x1b[0m\r\n`;
/** …or that the shell there now is a new one (the old one ended while nobody was attached). */
const NEW_SHELL_LINE =
	'\r\n\x1b[33m[лаборатория: прежняя оболочка завершилась, это новая]\x1b[0m\r\n';

export interface SessionContext {
	docker: Docker;
	containerId: string;
	clock: Clock;
	log: Logger;
	options: TerminalOptions;
	stateDir: string;
	onGone: (session: TerminalSession) => void;
	/** The shell printed a command-finished mark (shell-marks.ts): a hint, never a fact. */
	onCommandFinished?: (key: SessionKey, status: number | null) => void;
}

export class TerminalSession {
	readonly key: SessionKey;
	readonly ring: OutputRing;
	#ctx: SessionContext;
	/** OUTPUT the client has not rendered yet (it ACKs what xterm.js wrote). */
	#acks: FlowControl;
	/** OUTPUT the server's socket has not written out yet: what a client that stops reading costs. */
	#socket: FlowControl;
	#slowTimer: unknown = null;
	#resizing: Promise<void> | null = null;
	#lastResizeAt = -Infinity;
	/** Resizes applied (the hostile tests read it). */
	resizeCalls = 0;
	#link: HolderLink | null = null;
	/** The holder's number of the next byte of output: where a re-attach asks it to go on. */
	#holderEnd: number;
	/** The shell's exit status, once the holder has said it. */
	#exitCode: number | null = null;
	#sink: TerminalSink | null = null;
	#viewers = new Set<TerminalViewer>();
	#pending: Buffer[] = [];
	#batchTimer: NodeJS.Timeout | null = null;
	#graceTimer: unknown = null;
	#ending = false;
	#size = { cols: 80, rows: 24 };
	#marks = new ShellMarks();

	constructor(
		key: SessionKey,
		ctx: SessionContext,
		saved?: { ring: OutputRing; holderEnd: number },
	) {
		this.key = key;
		this.#ctx = ctx;
		this.ring = saved?.ring ?? new OutputRing(ctx.options.ringBytes);
		this.#holderEnd = saved?.holderEnd ?? 0;
		// The shell is paused while either is over the high watermark: a client cannot cheat the
		// first by ACKing what it never read, nor the second by reading without rendering.
		const gate = () => ({
			high: ctx.options.highWatermark,
			low: ctx.options.lowWatermark,
			onPause: () => this.#applyFlow(),
			onResume: () => this.#applyFlow(),
		});
		this.#acks = new FlowControl(gate());
		this.#socket = new FlowControl(gate());
	}

	get attached(): boolean {
		return this.#sink !== null;
	}

	/** Starts the shell (or re-attaches to one that survived a server restart). */
	async start(cols: number, rows: number): Promise<void> {
		const { docker, containerId, log } = this.#ctx;
		this.#size = { cols, rows };
		const asked = this.#holderEnd;
		this.#link = await attachHolder(docker, containerId, this.key.term, asked, {
			attached: (from, dropped) => {
				if (dropped > 0) this.#onOutput(Buffer.from(gapLine(dropped)));
				else if (from < asked) this.#onOutput(Buffer.from(NEW_SHELL_LINE));
				this.#holderEnd = from;
				log.debug({ ...this.key, asked, from, dropped }, 'terminal holder attached');
			},
			output: (data) => {
				this.#holderEnd += data.byteLength;
				this.#onOutput(data);
				const ends = this.#marks.scan(data);
				if (ends.length > 0) this.#ctx.onCommandFinished?.(this.key, ends.at(-1)!);
			},
			exit: (code) => (this.#exitCode = code),
			closed: () => void this.#onClosed(),
			malformed: (error) => log.warn({ ...this.key, err: error }, 'terminal holder misbehaved'),
		});
		this.#applyFlow();
		await this.resize(cols, rows);
	}

	/**
	 * Attaches a client: READY, then everything the ring holds from `resumeOffset` (or a fresh
	 * view from the ring's start when it has none); the previous client, if any, is told it was
	 * replaced.
	 */
	attach(
		sink: TerminalSink,
		resumeOffset: number | undefined,
	): { offset: number; resumed: boolean; backlog: number } {
		const previous = this.#sink;
		this.#sink = null;
		previous?.replaced();
		this.#clearGrace();
		this.#flush();
		const wanted = resumeOffset ?? this.ring.start;
		const { offset, data } = this.ring.since(Math.min(wanted, this.ring.end));
		// What the new client has not rendered (or been sent) yet is all that is outstanding now.
		this.#acks.reset();
		this.#socket.reset();
		this.#sink = sink;
		const resumed = resumeOffset !== undefined && resumeOffset <= this.ring.end;
		sink.ready(offset, resumed);
		if (data.byteLength > 0) this.#send(sink, data);
		return { offset, resumed, backlog: data.byteLength };
	}

	/** Adds a read-only viewer; it gets the ring from `fromOffset` (default: all it holds). */
	addViewer(viewer: TerminalViewer, fromOffset?: number): { offset: number; backlog: Uint8Array } {
		this.#flush();
		const wanted = Math.min(fromOffset ?? this.ring.start, this.ring.end);
		const { offset, data } = this.ring.since(wanted);
		this.#viewers.add(viewer);
		return { offset, backlog: data };
	}

	removeViewer(viewer: TerminalViewer): void {
		this.#viewers.delete(viewer);
	}

	get viewers(): number {
		return this.#viewers.size;
	}

	/** The client went away without closing cleanly: keep the shell for a resume, for a while. */
	detach(sink: TerminalSink): void {
		if (this.#sink !== sink) return;
		this.#sink = null;
		this.#clearGrace();
		this.#graceTimer = this.#ctx.clock.setTimeout(() => {
			this.#ctx.log.info({ ...this.key }, 'terminal grace period over');
			void this.end({ keepScrollback: true });
		}, this.#ctx.options.graceMs);
	}

	input(data: Uint8Array): void {
		this.#link?.input(data);
	}

	/**
	 * Sets the terminal's size. At most once per RESIZE_EVERY_MS: sizes asked for in between are
	 * folded into the latest, which is applied when the interval is over (a window being dragged,
	 * or a client sending nothing but RESIZE, signals the shell ten times a second at most).
	 */
	resize(cols: number, rows: number): Promise<void> {
		this.#size = { cols, rows };
		this.#resizing ??= this.#applySize().finally(() => (this.#resizing = null));
		return this.#resizing;
	}

	async #applySize(): Promise<void> {
		for (;;) {
			const wait = this.#lastResizeAt + RESIZE_EVERY_MS - performance.now();
			if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
			const { cols, rows } = this.#size;
			this.#lastResizeAt = performance.now();
			this.#link?.resize(cols, rows);
			this.resizeCalls++;
			if (this.#size.cols === cols && this.#size.rows === rows) return;
		}
	}

	get size() {
		return this.#size;
	}

	ack(bytes: number): void {
		this.#acks.acked(bytes);
	}

	/**
	 * Ends the shell inside the node, and the session with it. The scrollback goes too, unless
	 * `keepScrollback` (a learner who went away: the next terminal they open shows it, then a
	 * new shell).
	 */
	async end(options: { keepScrollback?: boolean } = {}): Promise<void> {
		if (this.#ending) return;
		this.#ending = true;
		this.#clearGrace();
		this.#flush();
		this.#sink = null;
		this.#releaseViewers(-1);
		// The holder hangs the shell up, which passes SIGHUP on to its jobs — what closing an SSH
		// session does.
		await endHolder(this.#ctx.docker, this.#ctx.containerId, this.key.term).catch(
			(error: unknown) => {
				// The node may be gone already (lab removed, node reset): nothing left to end.
				this.#ctx.log.debug({ ...this.key, err: error }, 'terminal end: node unreachable');
			},
		);
		this.#link?.release();
		if (options.keepScrollback) {
			await saveSnapshot(this.#ctx.stateDir, this.key, this.ring, this.#holderEnd);
		} else await removeSnapshot(this.#ctx.stateDir, this.key);
		this.#ctx.onGone(this);
	}

	/** Lets the session go without ending its shell: the server is stopping, the shell stays. */
	async suspend(): Promise<void> {
		this.#ending = true;
		this.#clearGrace();
		this.#flush();
		this.#sink = null;
		// Their sockets are closed by terminal-socket.ts (restart, reset or end of the lab).
		this.#viewers.clear();
		this.#link?.release();
		await saveSnapshot(this.#ctx.stateDir, this.key, this.ring, this.#holderEnd);
	}

	#onOutput(chunk: Buffer): void {
		if (chunk.byteLength === 0) return;
		this.#pending.push(chunk);
		// Leading edge: the first output after a quiet spell goes out at once (keystroke echo);
		// whatever follows within `batchMs` is folded into one frame (bulk output).
		if (this.#batchTimer === null) {
			this.#flush();
			this.#armBatch();
		}
	}

	// Batching is I/O scheduling, not a policy timeout: it runs on real timers even when tests
	// drive lifetimes with a manual clock.
	#armBatch(): void {
		this.#batchTimer = setTimeout(() => {
			this.#batchTimer = null;
			if (this.#pending.length > 0) {
				this.#flush();
				this.#armBatch();
			}
		}, this.#ctx.options.batchMs);
	}

	#flush(): void {
		if (this.#pending.length === 0) return;
		const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
		this.#pending = [];
		this.ring.append(data);
		if (this.#sink) this.#send(this.#sink, data);
		for (const viewer of this.#viewers) {
			if (viewer.buffered > VIEWER_MAX_BUFFERED) {
				this.#viewers.delete(viewer);
				viewer.dropped();
			} else viewer.output(data);
		}
	}

	/** Sends to the client, counting the bytes in both gates until they are rendered and written. */
	#send(sink: TerminalSink, data: Uint8Array): void {
		const socket = this.#socket;
		this.#acks.sent(data.byteLength);
		socket.sent(data.byteLength);
		let written = false;
		sink.output(data, () => {
			// A gate reset by a new client must not be credited with the old client's bytes.
			if (written || this.#sink !== sink) return;
			written = true;
			socket.acked(Math.min(data.byteLength, socket.unacked));
		});
	}

	/** Pauses the shell while either gate is closed; a client that stays behind is dropped. */
	#applyFlow(): void {
		// Called from the gates' constructors' callbacks too: they may not exist yet.
		const paused = Boolean(this.#acks?.paused || this.#socket?.paused);
		if (paused) this.#link?.pause();
		else this.#link?.resume();
		const stalled = Boolean(this.#socket?.paused);
		if (stalled && this.#slowTimer === null) {
			this.#slowTimer = this.#ctx.clock.setTimeout(() => {
				this.#slowTimer = null;
				const sink = this.#sink;
				if (!sink || !this.#socket.paused) return;
				this.#ctx.log.info(
					{ ...this.key, unwritten: this.#socket.unacked },
					'slow terminal client dropped',
				);
				this.detach(sink);
				sink.tooSlow();
			}, this.#ctx.options.slowClientMs);
		} else if (!stalled && this.#slowTimer !== null) {
			this.#ctx.clock.clearTimeout(this.#slowTimer);
			this.#slowTimer = null;
		}
	}

	#releaseViewers(code: number): void {
		const viewers = [...this.#viewers];
		this.#viewers.clear();
		for (const viewer of viewers) viewer.exit(code);
	}

	async #onClosed(): Promise<void> {
		this.#flush();
		if (this.#ending) return;
		this.#ending = true;
		this.#clearGrace();
		// Without the holder's word (it was killed, or the node is gone) the status is unknown.
		const code = this.#exitCode ?? -1;
		this.#ctx.log.info({ ...this.key, code }, 'terminal exited');
		this.#sink?.exit(code);
		this.#sink = null;
		this.#releaseViewers(code);
		await removeSnapshot(this.#ctx.stateDir, this.key);
		this.#ctx.onGone(this);
	}

	#clearGrace(): void {
		if (this.#graceTimer !== null) this.#ctx.clock.clearTimeout(this.#graceTimer);
		this.#graceTimer = null;
		if (this.#slowTimer !== null) this.#ctx.clock.clearTimeout(this.#slowTimer);
		this.#slowTimer = null;
	}
}
