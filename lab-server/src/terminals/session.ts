/**
 * Terminal sessions: one shell of the learner's on one node, kept in a ring buffer, with at most
 * one WebSocket client attached at a time (socket.ts speaks the protocol), plus any
 * number of read-only viewers (an instructor watching, viewers.ts), who never count in flow
 * control.
 *
 * Lifecycle of a session (key: lab / node / term):
 * - created when a client first says HELLO for it: the terminal's holder in the node (holder.ts,
 *   docker/node/labterm) runs the shell, so the shell outlives the exec and a restarted lab
 *   server attaches to it again, asking for its output from where the saved ring ends: what
 *   the shell printed while nobody was attached comes first, or a line saying how much was lost;
 * - output is batched (output-batch.ts), appended to the ring and sent to the attached client, if
 *   any; the exec's stream is paused while more than `high` bytes are unacknowledged (by the
 *   client's ACKs), and since `high` is below the ring's capacity nothing a client has not seen
 *   is ever overwritten;
 * - a client that goes away detaches: the shell keeps running for `graceMs` so a reconnect with
 *   `resumeOffset` gets exactly what it missed; a clean close (1000) or the end of the grace
 *   period ends the shell *inside the node* (killing the exec alone would leave it running) —
 *   after the grace period its scrollback is kept, for the next terminal opened under that name
 *   (a learner back the next day sees what they did, then a new shell);
 * - when the shell exits, the attached client gets EXIT and the session is gone.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Replay, SizeFrom } from '../api/protocol';
import type { Clock } from '../lib/clock';
import { FlowControl } from './flow-control';
import { attachHolder, endHolder, type HolderLink } from './holder';
import type { TerminalLinks } from './links';
import type { TerminalOptions } from './options';
import { OutputBatch } from './output-batch';
import { OutputRing } from './output-ring';
import { ResizeThrottle } from './resize-throttle';
import { ShellMarks } from './shell-marks';
import { SizeHistory } from './size-history';
import { removeSnapshot, saveSnapshot, type SessionKey } from './snapshots';
import { TerminalViewers, type TerminalViewer } from './viewers';
import type { Recording } from '../recordings/recording';

export type { SessionKey } from './snapshots';

/** The attached client, as the session sees it. */
export interface TerminalSink {
	/**
	 * Where the client's stream of OUTPUT starts (sent before any output), and the size the
	 * replayed part of it was written for.
	 */
	ready(offset: number, resumed: boolean, replay: Replay | undefined): void;
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

/** A line in the terminal where the holder says output was lost (more than its ring held). */
const gapLine = (bytes: number) =>
	`\r\n\x1b[33m[лаборатория: пока сервер был недоступен, оболочка вывела больше, чем хранится; пропущено ${bytes} байт]\x1b[0m\r\n`;
/** …or that the shell there now is a new one (the old one ended while nobody was attached). */
const NEW_SHELL_LINE =
	'\r\n\x1b[33m[лаборатория: прежняя оболочка завершилась, это новая]\x1b[0m\r\n';

export interface SessionContext {
	docker: Docker;
	containerId: string;
	/** The sockets terminals dial back to (links.ts). */
	links: TerminalLinks;
	clock: Clock;
	log: Logger;
	options: TerminalOptions;
	stateDir: string;
	onGone: (session: TerminalSession) => void;
	/** The shell printed a command-finished mark (shell-marks.ts): a hint, never a fact. */
	onCommandFinished?: (key: SessionKey, status: number | null) => void;
	/** Where the terminal's output and sizes are recorded (recordings/), if they are. */
	recording?: Pick<Recording, 'output' | 'resize'>;
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
	#link: HolderLink | null = null;
	/** The holder's number of the next byte of output: where a re-attach asks it to go on. */
	#holderEnd: number;
	/** The shell's exit status, once the holder has said it. */
	#exitCode: number | null = null;
	#sink: TerminalSink | null = null;
	#viewers = new TerminalViewers();
	#batch: OutputBatch;
	#graceTimer: unknown = null;
	#ending = false;
	readonly #resizer = new ResizeThrottle((cols, rows) => this.#applySize(cols, rows));
	/** The sizes the ring's output was written for (replayed at them: size-history.ts). */
	readonly #sizes: SizeHistory;
	#marks = new ShellMarks();
	#holderGone: boolean;

	/**
	 * `saved`: the ring and holder offset a suspended session left; `holderGone` when its node
	 * has started again since (resumed, or the host rebooted): every process in it is new, so the
	 * saved offset means nothing to the holder there now.
	 */
	constructor(
		key: SessionKey,
		ctx: SessionContext,
		saved?: {
			ring: OutputRing;
			holderEnd: number;
			holderGone?: boolean;
			sizes?: readonly SizeFrom[];
		},
	) {
		this.key = key;
		this.#ctx = ctx;
		this.ring = saved?.ring ?? new OutputRing(ctx.options.ringBytes);
		this.#sizes = new SizeHistory(saved?.sizes);
		this.#holderEnd = saved?.holderEnd ?? 0;
		this.#holderGone = saved?.holderGone ?? false;
		this.#batch = new OutputBatch(ctx.options.batchMs, (data) => this.#deliver(data));
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
		const { docker, containerId, links, log } = this.#ctx;
		// A new holder numbers from 0: asking it for an old offset could land inside its own first
		// prompt (the old shell had printed no more than that), and the new shell go unannounced.
		const gone = this.#holderGone;
		this.#holderGone = false;
		const asked = gone ? 0 : this.#holderEnd;
		this.#link = await attachHolder({ docker, containerId, links }, this.key.term, asked, {
			attached: (from, dropped) => {
				if (dropped > 0) this.#batch.push(Buffer.from(gapLine(dropped)));
				else if (gone || from < asked) this.#batch.push(Buffer.from(NEW_SHELL_LINE));
				this.#holderEnd = from;
				log.debug({ ...this.key, asked, from, dropped }, 'terminal holder attached');
			},
			output: (data) => {
				this.#holderEnd += data.byteLength;
				this.#batch.push(data);
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
		this.#batch.flush();
		const wanted = resumeOffset ?? this.ring.start;
		const { offset, data } = this.ring.since(Math.min(wanted, this.ring.end));
		// What the new client has not rendered (or been sent) yet is all that is outstanding now.
		this.#acks.reset();
		this.#socket.reset();
		this.#sink = sink;
		const resumed = resumeOffset !== undefined && resumeOffset <= this.ring.end;
		sink.ready(offset, resumed, this.#sizes.replay(offset, this.ring.end));
		if (data.byteLength > 0) this.#send(sink, data);
		return { offset, resumed, backlog: data.byteLength };
	}

	/** Adds a read-only viewer; it gets the ring from `fromOffset` (default: all it holds). */
	addViewer(
		viewer: TerminalViewer,
		fromOffset?: number,
	): { offset: number; backlog: Uint8Array; replay: Replay | undefined } {
		this.#batch.flush();
		const wanted = Math.min(fromOffset ?? this.ring.start, this.ring.end);
		const { offset, data } = this.ring.since(wanted);
		this.#viewers.add(viewer);
		return { offset, backlog: data, replay: this.#sizes.replay(offset, this.ring.end) };
	}

	removeViewer(viewer: TerminalViewer): void {
		this.#viewers.remove(viewer);
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

	/** Sets the terminal's size, ten times a second at most (resize-throttle.ts). */
	resize(cols: number, rows: number): Promise<void> {
		return this.#resizer.set(cols, rows);
	}

	#applySize(cols: number, rows: number): void {
		this.#link?.resize(cols, rows);
		// What the shell printed before this was printed for the size before.
		this.#batch.flush();
		this.#sizes.mark(this.ring.end, cols, rows);
		this.#ctx.recording?.resize(cols, rows);
	}

	get size() {
		return this.#resizer.size;
	}

	/** Sizes applied to the shell so far (tests count them). */
	get resizeCalls(): number {
		return this.#resizer.applied;
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
		this.#batch.flush();
		this.#sink = null;
		this.#viewers.exit(-1);
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
			await saveSnapshot(
				this.#ctx.stateDir,
				this.key,
				this.ring,
				this.#holderEnd,
				this.#sizes.sizes,
			);
		} else await removeSnapshot(this.#ctx.stateDir, this.key);
		this.#ctx.onGone(this);
	}

	/** Lets the session go without ending its shell: the server is stopping, the shell stays. */
	async suspend(): Promise<void> {
		this.#ending = true;
		this.#clearGrace();
		this.#batch.flush();
		this.#sink = null;
		// Their sockets are closed by socket.ts (restart, reset or end of the lab).
		this.#viewers.clear();
		this.#link?.release();
		await saveSnapshot(this.#ctx.stateDir, this.key, this.ring, this.#holderEnd, this.#sizes.sizes);
	}

	/** A batch of output: kept in the ring, recorded, sent to the client and the viewers. */
	#deliver(data: Buffer): void {
		this.ring.append(data);
		if (this.#sink) this.#send(this.#sink, data);
		this.#viewers.output(data);
		// After the socket write: the learner's echo never waits for its recording.
		this.#ctx.recording?.output(data);
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

	async #onClosed(): Promise<void> {
		this.#batch.flush();
		if (this.#ending) return;
		this.#ending = true;
		this.#clearGrace();
		// Without the holder's word (it was killed, or the node is gone) the status is unknown.
		const code = this.#exitCode ?? -1;
		this.#ctx.log.info({ ...this.key, code }, 'terminal exited');
		this.#sink?.exit(code);
		this.#sink = null;
		this.#viewers.exit(code);
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
