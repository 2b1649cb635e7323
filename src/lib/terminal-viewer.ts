/**
 * A view of a learner's terminal for the instructor's dashboard, loaded with `await import()`
 * when the instructor first opens one (it pulls in xterm.js).
 *
 * It connects to `WS /api/labs/:labId/terminals/:node?term=main&view=1`, which the server opens
 * with the workshop's instructor cookie, says HELLO without a `resumeOffset` (so the server's ring
 * replays what the learner's screen showed), and writes OUTPUT. It sends no resize or ACK: a
 * viewer must not touch the learner's window size or flow control. It types (INPUT) only after
 * `setInput(true)`, while the learner allows the takeover (dashboard-help.ts); the server checks
 * that on every frame, and its ERROR `takeover-ended` turns typing off here at once. A dropped connection (a slow viewer
 * is dropped by design) reconnects and repaints from the ring.
 */
import {
	CloseCode,
	PROTOCOL_VERSION,
	decodeServerFrame,
	encodeClientFrame,
	shouldReconnect,
} from '../../lab-server/src/api/protocol';
import { labPath } from './lab-api';
import { ReplayAtSize } from './replay-at-size';
import type { LabNode } from '../../lab-server/src/api';
import { FitAddon, Terminal, loadXtermCss } from './xterm-kit';

export type ViewerState =
	| { kind: 'connecting' | 'connected' | 'reconnecting' | 'lab-ended' }
	| { kind: 'closed'; code: number }
	/** the server's Russian message from an ERROR frame (e.g. the learner has not opened it yet) */
	| { kind: 'error'; message: string };

export interface ViewerOptions {
	/** the element the terminal fills */
	host: HTMLElement;
	labId: string;
	node: LabNode;
	onState(state: ViewerState): void;
}

export interface Viewer {
	/** Whether keystrokes go to the learner's shell (the learner allowed it). */
	setInput(on: boolean): void;
	/** Closes the socket (not with 1000: that code ends a shell; the learner's is not ours to end). */
	dispose(): void;
}

const RECONNECT_MS = 1500;
/** The learner has not opened this terminal yet: look again now and then. */
const NOT_STARTED_RETRY_MS = 5000;
/** Our own close code for «the viewer went away» (3000–3999 belongs to the application). */
const CLOSE_VIEWER_GONE = 3000;

export async function openViewer({ host, labId, node, onState }: ViewerOptions): Promise<Viewer> {
	await loadXtermCss(host);
	const term = new Terminal({
		disableStdin: true,
		cursorBlink: false,
		fontFamily: getComputedStyle(host).getPropertyValue('--font-mono').trim() || 'monospace',
		fontSize: 14,
		lineHeight: 1.2,
		scrollback: 5000,
		theme: { background: '#0f1216', foreground: '#e3e6ea', cursor: '#e3e6ea' },
	});
	const fit = new FitAddon();
	term.loadAddon(fit);
	term.open(host);
	const refit = (): void => {
		if (host.clientWidth === 0 || host.clientHeight === 0 || replay.holding) return;
		try {
			fit.fit();
		} catch {
			// Font metrics not ready: the next resize fits.
		}
	};
	// The learner's screen, drawn at the learner's size first (replay-at-size.ts).
	const replay = new ReplayAtSize(term, () => refit());
	const observer = new ResizeObserver(refit);
	observer.observe(host);
	refit();

	let ws: WebSocket | null = null;
	let disposed = false;
	let typing = false;
	const encoder = new TextEncoder();
	const setInput = (on: boolean): void => {
		typing = on;
		term.options.disableStdin = !on;
		term.options.cursorBlink = on;
	};
	term.onData((data) => {
		if (!typing || ws?.readyState !== WebSocket.OPEN) return;
		ws.send(encodeClientFrame({ op: 'input', data: encoder.encode(data) }));
	});
	let retry: ReturnType<typeof setTimeout> | undefined;

	const connect = (): void => {
		const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
		const url = `${scheme}//${location.host}${labPath(labId)}/terminals/${node}?term=main&view=1`;
		const socket = new WebSocket(url);
		socket.binaryType = 'arraybuffer';
		ws = socket;
		socket.addEventListener('open', () => {
			socket.send(
				encodeClientFrame({ op: 'hello', v: PROTOCOL_VERSION, cols: term.cols, rows: term.rows }),
			);
		});
		socket.addEventListener('message', (event) => {
			if (ws !== socket || !(event.data instanceof ArrayBuffer)) return;
			let frame;
			try {
				frame = decodeServerFrame(new Uint8Array(event.data));
			} catch {
				return; // a frame we cannot read is skipped: this is only a view
			}
			if (frame.op === 'output') {
				replay.write(frame.data, () => {});
			} else if (frame.op === 'ready') {
				// The ring replays from its start: paint it on a clean screen.
				term.reset();
				replay.begin(frame.offset, frame.replay);
				onState({ kind: 'connected' });
			} else if (frame.op === 'error') {
				if (frame.code === 'takeover-ended' || frame.code === 'read-only') setInput(false);
				onState({ kind: 'error', message: frame.message });
			}
		});
		socket.addEventListener('close', (event) => {
			if (ws !== socket || disposed) return;
			ws = null;
			replay.cancel();
			if (event.code === CloseCode.LAB_ENDED) return onState({ kind: 'lab-ended' });
			if (event.code === CloseCode.NOT_STARTED) {
				retry = setTimeout(connect, NOT_STARTED_RETRY_MS);
				return;
			}
			if (
				shouldReconnect(event.code) ||
				event.code === CloseCode.TERMINAL_EXITED ||
				event.code === CloseCode.VIEWER_TOO_SLOW
			) {
				onState({ kind: 'reconnecting' });
				retry = setTimeout(connect, RECONNECT_MS);
				return;
			}
			onState({ kind: 'closed', code: event.code });
		});
	};

	onState({ kind: 'connecting' });
	connect();
	return {
		setInput,
		dispose() {
			disposed = true;
			clearTimeout(retry);
			observer.disconnect();
			const socket = ws;
			ws = null;
			if (socket && socket.readyState <= WebSocket.OPEN)
				socket.close(CLOSE_VIEWER_GONE, 'viewer closed');
			term.dispose();
			host.replaceChildren();
		},
	};
}
