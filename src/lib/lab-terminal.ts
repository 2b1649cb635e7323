/**
 * `<lab-terminal node="hap1" lab-id="…">`: one terminal on a lab node, over terminal protocol v1
 * (`lab-server/src/api/protocol.ts`, the same codec the server uses).
 *
 * Lifecycle: nothing happens until `lab-id` is set (the panel sets it once the lab runs). Then
 * xterm.js, its fit addon and CSS are imported, the terminal opens, and the socket connects:
 * HELLO (size + `resumeOffset`) → READY → OUTPUT… Rendered OUTPUT is acknowledged in batches
 * (ACK deltas from xterm's write callbacks), which is the server's flow control.
 *
 * Resume: the offset of OUTPUT received is kept in sessionStorage per lab + node + term, so a
 * reconnect, a navigation away and back, or a page reload continues the same shell. A reconnect
 * asks for exactly what it missed; a fresh xterm (reload, new panel) asks for up to
 * `REPLAY_BYTES` before that too, so the server's ring repaints the screen instead of leaving it
 * blank. Closing with 1000 would end the shell on the server; this element never does that except
 * when the lab goes.
 *
 * State (`data-conn`): connecting | connected | reconnecting | disconnected | exited, shown in an
 * aria-live line. Typing is blocked unless connected; `run()` queues until then.
 *
 * On touch screens an extra-keys bar under the screen (extra-keys-bar.ts) adds the keys a phone's
 * keyboard lacks, through the same input path as typing.
 *
 * Public: `run(command, report?)` types a command (as a bracketed paste when the shell accepts
 * one) plus Enter once the shell is at its prompt — never into a running command or a pager
 * (command-queue.ts, from the shell's OSC 133 marks) — and reports its status; `focus()`.
 */
import {
	CloseCode,
	MAX_INPUT_BYTES,
	PROTOCOL_VERSION,
	ProtocolError,
	decodeServerFrame,
	encodeClientFrame,
	shouldReconnect,
	type ClientFrame,
} from '../../lab-server/src/api/protocol';
import { CommandQueue } from './command-queue';
import { ExtraKeysBar } from './extra-keys-bar';
import { ReplayAtSize } from './replay-at-size';
import { terminalUrl } from './lab-api';
import type { RunStatus } from './lab-state';
import type { LabNode } from '../../lab-server/src/api';
import { createT, dictFrom, type Translate, type UiKey } from '../i18n/t';
import type { Terminal } from '@xterm/xterm';
import type { FitAddon } from '@xterm/addon-fit';

type Kit = typeof import('./xterm-kit');
type Conn = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'exited';

const TERM_NAME = 'main';
const OFFSET_PREFIX = 'keepalived-lab:term:';
/** ACK when this many rendered bytes are pending, or after ACK_DELAY_MS, whichever is first. */
const ACK_BYTES = 16 * 1024;
const ACK_DELAY_MS = 50;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;
/** After this many failed reconnects in a row, ask the panel to check the lab still exists. */
const VERIFY_AFTER_FAILURES = 3;
/** Close codes of ours (the 3000–3999 range is the application's): keep the shell for a resume. */
const CLOSE_DETACHED = 3000;
const CLOSE_BAD_FRAME = 3001;
/**
 * The page's own lines in a terminal («новый сеанс»): grey #9ca3af, 7:1 on the background. SGR 2
 * (dim) would halve the foreground to 4.47:1, under WCAG's 4.5:1 for text this size.
 */
const NOTE_STYLE = '\x1b[38;2;156;163;175m';
/** How much earlier output a fresh xterm asks the server's ring (1 MiB) to replay. */
const REPLAY_BYTES = 256 * 1024;

let kit: Promise<Kit> | null = null;

class LabTerminal extends HTMLElement {
	static observedAttributes = ['lab-id'];

	#t: Translate = createT({});
	#kit: Kit | null = null;
	#term: Terminal | null = null;
	#fit: FitAddon | null = null;
	/** The ring's replay, written at the size it was written for (replay-at-size.ts). */
	#replay: ReplayAtSize | null = null;
	#resizeObserver: ResizeObserver | null = null;
	#screen: HTMLElement | null = null;
	/** Esc, Tab, Ctrl, arrows for touch screens (extra-keys-bar.ts). */
	#keys: ExtraKeysBar | null = null;

	#labId: string | null = null;
	#ws: WebSocket | null = null;
	/** Bumped on every connect and stop; callbacks of an older connection compare and bail. */
	#generation = 0;
	#conn: Conn = 'idle';
	#received = 0;
	#wroteAny = false;
	#freshSession = false;
	#pendingAck = 0;
	#ackTimer: ReturnType<typeof setTimeout> | undefined;
	#reconnectTimer: ReturnType<typeof setTimeout> | undefined;
	#failures = 0;
	/** Button commands, typed when the shell is at its prompt (command-queue.ts). */
	#commands = new CommandQueue({
		type: (command) => this.#typeCommand(command),
		setTimer: (fn, ms) => {
			const timer = setTimeout(fn, ms);
			return () => clearTimeout(timer);
		},
		onWaiting: (waiting) => this.#showBusy(waiting),
	});
	#wantFocus = false;
	#detachTimer: ReturnType<typeof setTimeout> | undefined;
	#helloSize = { cols: 0, rows: 0 };

	get node(): LabNode {
		return this.getAttribute('node') === 'hap2' ? 'hap2' : 'hap1';
	}

	connectedCallback(): void {
		clearTimeout(this.#detachTimer);
		this.#t = createT(dictFrom(this));
		const id = this.getAttribute('lab-id');
		if (id && id !== this.#labId) void this.#open(id);
		else if (id && !this.#ws && this.#conn !== 'exited' && this.#conn !== 'disconnected')
			this.#connect();
	}

	disconnectedCallback(): void {
		// ClientRouter moves the persisted panel: disconnected and connected again in one task.
		// Only a real removal closes the socket, and never with 1000, so the shell waits for us.
		clearTimeout(this.#detachTimer);
		this.#detachTimer = setTimeout(() => {
			if (!this.isConnected) this.#disconnect(CLOSE_DETACHED, 'detached');
		});
	}

	attributeChangedCallback(_name: string, _old: string | null, value: string | null): void {
		if (!this.isConnected || value === this.#labId) return;
		if (value) void this.#open(value);
		else this.#close();
	}

	/**
	 * Connects again after the server closed the terminal for a reason that needs the learner
	 * (the lab stopped, then «Продолжить»): resumes from the byte shown last. A no-op otherwise.
	 */
	reconnect(): void {
		if (this.#conn !== 'disconnected' || !this.#labId) return;
		this.#failures = 0;
		this.#connect();
	}

	/**
	 * Types `command` and Enter into the shell once it is connected and at its prompt (not into a
	 * running command or a pager); `report` hears what became of it.
	 */
	run(command: string, report?: (status: RunStatus) => void): void {
		this.#commands.push(report ? { command, report } : { command });
	}

	override focus(): void {
		if (this.#term) this.#term.focus();
		else this.#wantFocus = true;
	}

	// ── opening and closing ────────────────────────────────────────────────────

	async #open(labId: string): Promise<void> {
		const previous = this.#labId;
		this.#disconnect(CLOSE_DETACHED, 'detached');
		this.#labId = labId;
		this.#commands.clear();
		try {
			await this.#ensureTerminal();
		} catch {
			return; // #ensureTerminal has shown why
		}
		if (this.#labId !== labId) return;
		if (previous && previous !== labId) {
			this.#term?.reset();
			this.#wroteAny = false;
		}
		this.#received = this.#storedOffset() ?? 0;
		this.#freshSession = this.#storedOffset() === null;
		this.#failures = 0;
		this.#connect();
	}

	/** The lab is gone: end the shell (1000) and forget the offset. */
	#close(): void {
		const labId = this.#labId;
		this.#disconnect(1000, 'lab closed');
		if (labId) this.#forgetOffset(labId);
		this.#labId = null;
		this.#commands.clear();
		this.#setConn('idle');
	}

	#disconnect(code: number, reason: string): void {
		this.#generation += 1;
		clearTimeout(this.#reconnectTimer);
		clearTimeout(this.#ackTimer);
		this.#pendingAck = 0;
		this.#saveOffset();
		const ws = this.#ws;
		this.#ws = null;
		if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
	}

	async #ensureTerminal(): Promise<void> {
		if (this.#term) return;
		this.#buildDom();
		try {
			kit ??= import('./xterm-kit');
			this.#kit = await kit;
			await this.#kit.loadXtermCss(this);
		} catch {
			kit = null;
			this.#setConn('disconnected', this.#t('lab.terminalsFailed'));
			throw new Error('xterm.js failed to load');
		}
		if (this.#term) return;
		const { Terminal, FitAddon } = this.#kit;
		const term = new Terminal({
			cursorBlink: true,
			disableStdin: true,
			fontFamily: getComputedStyle(this).getPropertyValue('--font-mono').trim() || 'monospace',
			fontSize: this.#cssFontSize() ?? 14,
			// At 1.0 the DOM renderer clips underscores of common Linux monospace fonts.
			lineHeight: 1.2,
			scrollback: 5000,
			theme: {
				background: '#0f1216',
				foreground: '#e3e6ea',
				cursor: '#e3e6ea',
				selectionBackground: '#3b4b63',
			},
		});
		const fit = new FitAddon();
		term.loadAddon(fit);
		term.open(this.#screen!);
		term.textarea?.setAttribute('aria-label', this.#t('term.input', { node: this.node }));
		term.onData((data) => this.#sendText(this.#keys?.typed(data) ?? data));
		term.onBinary((data) => this.#sendBytes(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
		term.onResize(({ cols, rows }) => {
			if (this.#conn === 'connected') this.#send({ op: 'resize', cols, rows });
		});
		term.attachCustomKeyEventHandler((event) => this.#onKey(event));
		// The shell's marks (OSC 133): where its prompt is, and when a command starts and ends.
		term.parser.registerOscHandler(133, (data) => {
			this.#commands.mark(data);
			return true;
		});
		this.#term = term;
		this.#fit = fit;
		this.#replay = new ReplayAtSize(term, () => this.#fitNow());
		this.#resizeObserver = new ResizeObserver(() => this.#fitNow());
		this.#resizeObserver.observe(this.#screen!);
		this.#fitNow();
		if (this.#wantFocus) {
			this.#wantFocus = false;
			term.focus();
		}
		addEventListener('pagehide', () => this.#saveOffset());
		// Into or out of presenter mode: the font may change while the size does not.
		document.addEventListener('astro:page-load', () => this.#fitNow());
	}

	#buildDom(): void {
		if (this.#screen) return;
		this.classList.add('lab-terminal');
		const body = el('div', 'lab-terminal__body');
		this.#screen = el('div', 'lab-terminal__screen');
		const overlay = el('div', 'lab-terminal__overlay');
		overlay.hidden = true;
		overlay.dataset.part = 'overlay';
		body.append(this.#screen, overlay);
		const foot = el('div', 'lab-terminal__foot');
		const conn = el('span', 'lab-terminal__conn');
		conn.dataset.part = 'conn';
		conn.setAttribute('aria-live', 'polite');
		const busy = el('span', 'lab-terminal__busy');
		busy.dataset.part = 'busy';
		busy.setAttribute('aria-live', 'polite');
		busy.hidden = true;
		const hints = el('span', 'lab-terminal__hints');
		hints.append(
			el('span', 'lab-terminal__hint', this.#t('term.hint')),
			' · ',
			el('span', 'lab-terminal__hint', this.#t('term.leave')),
		);
		foot.append(conn, busy, hints);
		this.#keys = new ExtraKeysBar(this.#t, this.node, {
			// As typed: xterm scrolls to the prompt and passes it to onData, like a key.
			send: (data) => this.#term?.input(data, true),
			applicationCursor: () => this.#term?.modes.applicationCursorKeysMode ?? false,
			focus: () => this.focus(),
		});
		this.replaceChildren(body, this.#keys.element, foot);
		this.#setConn('connecting');
	}

	#fitNow(): void {
		const screen = this.#screen;
		// A hidden tab has no size; it fits when shown (the observer fires again). A replay keeps
		// its own size until it is written; it fits then.
		if (!screen || !this.#fit || screen.clientWidth === 0 || screen.clientHeight === 0) return;
		if (this.#replay?.holding) return;
		const fontSize = this.#cssFontSize();
		if (this.#term && fontSize !== null && this.#term.options.fontSize !== fontSize) {
			this.#term.options.fontSize = fontSize;
		}
		try {
			this.#fit.fit();
		} catch {
			// Font metrics not ready yet: the next resize fits.
		}
	}

	/** The screen's CSS font size in px (terminal.css: 14 px, larger in presenter mode). */
	#cssFontSize(): number | null {
		const size = this.#screen ? parseFloat(getComputedStyle(this.#screen).fontSize) : NaN;
		return Number.isFinite(size) && size > 0 ? Math.round(size * 10) / 10 : null;
	}

	// ── the connection ─────────────────────────────────────────────────────────

	#connect(): void {
		const labId = this.#labId;
		const term = this.#term;
		if (!labId || !term) return;
		clearTimeout(this.#reconnectTimer);
		const generation = ++this.#generation;
		this.#setConn(this.#failures > 0 || this.#wroteAny ? 'reconnecting' : 'connecting');
		let ws: WebSocket;
		try {
			ws = new WebSocket(terminalUrl(labId, this.node, TERM_NAME));
		} catch {
			this.#scheduleReconnect();
			return;
		}
		ws.binaryType = 'arraybuffer';
		this.#ws = ws;
		ws.addEventListener('open', () => {
			if (generation !== this.#generation) return;
			this.#fitNow();
			this.#helloSize = { cols: term.cols, rows: term.rows };
			this.#send({
				op: 'hello',
				v: PROTOCOL_VERSION,
				cols: term.cols,
				rows: term.rows,
				...(this.#freshSession ? {} : { resumeOffset: this.#resumeOffset() }),
			});
		});
		ws.addEventListener('message', (event) => {
			if (generation !== this.#generation || !(event.data instanceof ArrayBuffer)) return;
			this.#onFrame(generation, new Uint8Array(event.data));
		});
		ws.addEventListener('close', (event) => {
			if (generation !== this.#generation) return;
			this.#onClose(event);
		});
	}

	/** Where to resume: what was missed, or for a fresh xterm a screenful or so before that. */
	#resumeOffset(): number {
		return this.#wroteAny ? this.#received : Math.max(0, this.#received - REPLAY_BYTES);
	}

	#onFrame(generation: number, bytes: Uint8Array): void {
		let frame;
		try {
			frame = decodeServerFrame(bytes);
		} catch (error) {
			const code = error instanceof ProtocolError ? error.code : 'bad-frame';
			this.#setConn('disconnected', this.#t('term.close.protocol', { code }));
			this.#disconnect(CLOSE_BAD_FRAME, code);
			return;
		}
		const term = this.#term!;
		switch (frame.op) {
			case 'output': {
				this.#received += frame.data.length;
				this.#wroteAny = true;
				// A view into this message's own ArrayBuffer, which nothing reuses: no copy needed.
				this.#replay!.write(frame.data, (bytes) => this.#rendered(generation, bytes));
				break;
			}
			case 'ready': {
				if (!frame.resumed && this.#wroteAny) {
					term.write(`\r\n${NOTE_STYLE}── ${this.#t('term.newShell')} ──\x1b[0m\r\n`);
				} else if (
					frame.resumed &&
					!this.#wroteAny &&
					frame.offset > 0 &&
					frame.offset >= this.#received
				) {
					// A fresh xterm on a running shell, and nothing earlier left to replay.
					term.write(`${NOTE_STYLE}${this.#t('term.resumed')}\x1b[0m\r\n`);
				}
				this.#received = frame.offset;
				this.#freshSession = false;
				this.#failures = 0;
				this.#saveOffset();
				term.options.disableStdin = false;
				// Before «connected»: this resize is the replay's, not one to send to the shell.
				this.#replay!.begin(frame.offset, frame.replay);
				this.#setConn('connected');
				// The box may have changed between HELLO and READY (a tab shown, a window resized). A
				// replay fits when it is written, and its resize goes out then (onResize).
				this.#fitNow();
				const moved = term.cols !== this.#helloSize.cols || term.rows !== this.#helloSize.rows;
				if (moved && !this.#replay!.holding) {
					this.#send({ op: 'resize', cols: term.cols, rows: term.rows });
				}
				if (!frame.resumed) this.#commands.newShell();
				this.#commands.setConnected(true);
				break;
			}
			case 'exit':
				this.#exited(frame.code);
				break;
			case 'error':
				this.#showError(this.#t('term.serverError', { message: frame.message }));
				break;
		}
	}

	#onClose(event: CloseEvent): void {
		this.#ws = null;
		this.#replay?.cancel();
		this.#commands.setConnected(false);
		clearTimeout(this.#ackTimer);
		this.#pendingAck = 0;
		this.#saveOffset();
		if (this.#term) this.#term.options.disableStdin = true;
		if (this.#conn === 'exited' || event.code === CloseCode.TERMINAL_EXITED) {
			if (this.#conn !== 'exited') this.#exited(null);
			return;
		}
		if (event.code === CloseCode.LAB_ENDED || event.code === CloseCode.LAB_STOPPED) {
			const stopped = event.code === CloseCode.LAB_STOPPED;
			this.#setConn(
				'disconnected',
				this.#t(stopped ? 'term.close.labStopped' : 'term.close.labEnded'),
			);
			this.dispatchEvent(new CustomEvent('lab:ended', { bubbles: true }));
			return;
		}
		if (event.code === CloseCode.NODE_RESET) {
			// A new shell is waiting: no old output to resume.
			this.#freshSession = true;
			this.#failures = 0;
		}
		if (shouldReconnect(event.code)) {
			this.#scheduleReconnect(event.code === CloseCode.NODE_RESET ? 200 : undefined);
			return;
		}
		this.#setConn(
			'disconnected',
			this.#closeMessage(event.code),
			event.code === CloseCode.REPLACED ? 'term.takeOver' : 'term.reconnect',
		);
	}

	#scheduleReconnect(delay?: number): void {
		this.#failures += 1;
		this.#setConn('reconnecting');
		if (this.#failures % VERIFY_AFTER_FAILURES === 0) {
			this.dispatchEvent(new CustomEvent('lab:verify', { bubbles: true }));
		}
		const backoff = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** (this.#failures - 1));
		clearTimeout(this.#reconnectTimer);
		this.#reconnectTimer = setTimeout(
			() => this.#connect(),
			delay ?? backoff * (0.75 + Math.random() * 0.5),
		);
	}

	#exited(code: number | null): void {
		this.#setConn('exited');
		this.#commands.clear();
		if (this.#labId) this.#forgetOffset(this.#labId);
		if (this.#term) this.#term.options.disableStdin = true;
		const overlay = this.querySelector<HTMLElement>('[data-part="overlay"]')!;
		const title = el('p', 'lab-terminal__overlay-title', this.#t('term.exited'));
		const parts: HTMLElement[] = [title];
		if (code !== null)
			parts.push(el('p', 'lab-terminal__overlay-code', this.#t('term.exitCode', { code })));
		const again = el('button', 'btn btn--primary', this.#t('term.newSession'));
		again.setAttribute('type', 'button');
		again.addEventListener('click', () => this.#newSession());
		parts.push(again);
		overlay.replaceChildren(...parts);
		overlay.hidden = false;
		again.focus();
	}

	#newSession(): void {
		const overlay = this.querySelector<HTMLElement>('[data-part="overlay"]')!;
		overlay.hidden = true;
		this.#disconnect(CLOSE_DETACHED, 'new session');
		this.#freshSession = true;
		this.#failures = 0;
		this.#received = 0;
		this.#connect();
		this.#term?.focus();
	}

	// ── sending ────────────────────────────────────────────────────────────────

	#send(frame: ClientFrame): void {
		const ws = this.#ws;
		if (!ws || ws.readyState !== WebSocket.OPEN) return;
		ws.send(encodeClientFrame(frame));
	}

	#sendText(text: string): void {
		this.#sendBytes(new TextEncoder().encode(text));
	}

	#sendBytes(bytes: Uint8Array): void {
		if (this.#conn !== 'connected') return;
		// A long paste is split: one frame holds at most MAX_INPUT_BYTES. The server writes the
		// bytes to the pty in order, so a UTF-8 sequence cut in two arrives whole.
		for (let start = 0; start < bytes.length; start += MAX_INPUT_BYTES) {
			this.#send({ op: 'input', data: bytes.subarray(start, start + MAX_INPUT_BYTES) });
		}
	}

	#typeCommand(command: string): void {
		// The button may have just changed the layout («на обоих» shows both terminals): fit now,
		// so the RESIZE goes before the command. Sent after it, the shell would redraw the line
		// at the new width while echoing it, and leave pieces of it drawn over each other.
		this.#fitNow();
		// No escape characters from a page into a shell; newlines as the Enter key sends them.
		// eslint-disable-next-line no-control-regex -- ESC is exactly what is removed
		const text = command.replace(/\x1b/g, '').replace(/\r?\n/g, '\r');
		const pasted = this.#term?.modes.bracketedPasteMode ? `\x1b[200~${text}\x1b[201~` : text;
		this.#sendText(`${pasted}\r`);
	}

	#rendered(generation: number, bytes: number): void {
		if (generation !== this.#generation) return;
		this.#pendingAck += bytes;
		if (this.#pendingAck >= ACK_BYTES) this.#flushAck();
		else this.#ackTimer ??= setTimeout(() => this.#flushAck(), ACK_DELAY_MS);
	}

	#flushAck(): void {
		clearTimeout(this.#ackTimer);
		this.#ackTimer = undefined;
		if (this.#pendingAck > 0) this.#send({ op: 'ack', bytes: this.#pendingAck });
		this.#pendingAck = 0;
		this.#saveOffset();
	}

	// ── keys ───────────────────────────────────────────────────────────────────

	/**
	 * Ctrl+Shift+C copies the selection; Ctrl+Shift+V is left to the browser's own paste;
	 * Shift+Tab leaves the terminal (Tab itself is the shell's completion, so without this a
	 * keyboard user could not get out).
	 */
	#onKey(event: KeyboardEvent): boolean {
		if (
			event.key === 'Tab' &&
			event.shiftKey &&
			!event.ctrlKey &&
			!event.altKey &&
			!event.metaKey
		) {
			return false; // not prevented: the browser moves focus back
		}
		if (!event.ctrlKey || !event.shiftKey || event.altKey || event.metaKey) return true;
		// `code`, not `key`: with a Russian layout `key` is «С» / «М».
		if (event.code === 'KeyC') {
			if (event.type === 'keydown') {
				event.preventDefault();
				const selection = this.#term?.getSelection() ?? '';
				if (selection) void this.#copy(selection);
			}
			return false;
		}
		if (event.code === 'KeyV') {
			// Not handled by xterm and not prevented: the browser pastes into xterm's textarea,
			// xterm takes the paste event (bracketed when the shell asks). No clipboard permission
			// prompt, and it works on plain http too, where navigator.clipboard does not exist.
			return false;
		}
		return true;
	}

	async #copy(text: string): Promise<void> {
		const { copyText } = await import('./clipboard');
		if (await copyText(text)) this.#flash(this.#t('term.copied'));
		this.#term?.focus();
	}

	// ── state display ──────────────────────────────────────────────────────────

	#setConn(conn: Conn, message?: string, actionKey?: UiKey): void {
		this.#conn = conn;
		this.dataset.conn = conn;
		const line = this.querySelector<HTMLElement>('[data-part="conn"]');
		if (!line) return;
		const label: Record<Conn, UiKey | null> = {
			idle: null,
			connecting: 'term.connecting',
			connected: 'term.connected',
			reconnecting: 'term.reconnecting',
			disconnected: 'term.disconnected',
			exited: 'term.exited',
		};
		const key = label[conn];
		const parts: (string | HTMLElement)[] = [];
		parts.push(el('span', 'lab-terminal__dot'));
		parts.push(`${this.node}: ${key ? this.#t(key) : ''}`);
		if (message) parts.push(el('span', 'lab-terminal__message', ` — ${message}`));
		if (actionKey) {
			const button = el('button', 'btn btn--small lab-terminal__action', this.#t(actionKey));
			button.setAttribute('type', 'button');
			button.addEventListener('click', () => {
				this.#failures = 0;
				this.#connect();
			});
			parts.push(button);
		}
		line.replaceChildren(...parts);
	}

	/** A button's command waits: the shell runs something (or a pager is open). */
	#showBusy(waiting: boolean): void {
		const line = this.querySelector<HTMLElement>('[data-part="busy"]');
		if (!line) return;
		line.hidden = !waiting;
		if (!waiting) return line.replaceChildren();
		const now = el('button', 'btn btn--small lab-terminal__action', this.#t('term.sendNow'));
		now.setAttribute('type', 'button');
		now.addEventListener('click', () => this.#commands.force());
		line.replaceChildren(`${this.#t('term.busy', { node: this.node })} `, now);
	}

	#showError(message: string): void {
		const line = this.querySelector<HTMLElement>('[data-part="conn"]');
		line?.append(el('span', 'lab-terminal__message lab-terminal__message--error', ` — ${message}`));
	}

	#flash(message: string): void {
		const line = this.querySelector<HTMLElement>('[data-part="conn"]');
		if (!line) return;
		const note = el('span', 'lab-terminal__message', ` — ${message}`);
		line.append(note);
		setTimeout(() => note.remove(), 2000);
	}

	#closeMessage(code: number): string {
		switch (code) {
			case CloseCode.REPLACED:
				return this.#t('term.close.replaced');
			case CloseCode.TOO_MANY_TERMINALS:
				return this.#t('term.close.tooMany');
			case CloseCode.RATE_LIMITED:
				return this.#t('term.close.rateLimited');
			case CloseCode.PROTOCOL_ERROR:
			case CloseCode.HELLO_REQUIRED:
			case CloseCode.UNSUPPORTED_VERSION:
				return this.#t('term.close.protocol', { code });
			default:
				return this.#t('term.close.other', { code });
		}
	}

	// ── resume offset ──────────────────────────────────────────────────────────

	#offsetKey(labId: string): string {
		return `${OFFSET_PREFIX}${labId}:${this.node}:${TERM_NAME}`;
	}

	#storedOffset(): number | null {
		if (!this.#labId) return null;
		try {
			const raw = sessionStorage.getItem(this.#offsetKey(this.#labId));
			const value = raw === null ? NaN : Number(raw);
			return Number.isSafeInteger(value) && value >= 0 ? value : null;
		} catch {
			return null;
		}
	}

	#saveOffset(): void {
		if (!this.#labId || this.#freshSession || this.#conn === 'exited') return;
		try {
			sessionStorage.setItem(this.#offsetKey(this.#labId), String(this.#received));
		} catch {
			// Storage disabled: a reload starts a new shell instead of resuming.
		}
	}

	#forgetOffset(labId: string): void {
		try {
			sessionStorage.removeItem(this.#offsetKey(labId));
		} catch {
			// See #saveOffset.
		}
	}
}

function el<K extends keyof HTMLElementTagNameMap>(
	tag: K,
	className: string,
	text?: string,
): HTMLElementTagNameMap[K] {
	const node = document.createElement(tag);
	node.className = className;
	if (text !== undefined) node.textContent = text;
	return node;
}

/**
 * Starts fetching xterm.js and its CSS before any terminal needs them: the panel calls it as a
 * lab is being started, so the download runs while the server answers.
 */
export function preloadTerminal(): void {
	kit ??= import('./xterm-kit');
	kit
		.then((loaded) => loaded.loadXtermCss(document.head))
		.catch(() => {
			kit = null; // the terminal tries again, and says so if it fails
		});
}

if (!customElements.get('lab-terminal')) customElements.define('lab-terminal', LabTerminal);
