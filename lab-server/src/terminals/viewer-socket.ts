/**
 * A viewer (`view=1`, the instructor of the lab's workshop): READY and the ring's backlog, then
 * live OUTPUT. INPUT reaches the shell only while the learner allows the takeover
 * (workshops/help-desk.ts), looked at on every frame and under the lab's input budget like the
 * learner's own; otherwise it gets an ERROR frame `read-only`. RESIZE always does: the learner's
 * window sets the size. When a granted takeover ends, an ERROR `takeover-ended` says so and the
 * viewer goes on watching; a granted takeover that no viewer watches ends (help-desk.ts). A terminal the learner has not opened yet is not started for a viewer:
 * ERROR `not-started`, then close 4015.
 */
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CloseCode } from '../api/protocol';
import type { TakeoverEvent } from '../api';
import type { Clock } from '../lib/clock';
import type { Lab } from '../labs/lab';
import type { TokenBucket } from '../lib/rate-limit';
import { instructorMayType } from '../workshops/help-desk';
import type { TerminalRegistry } from './registry';
import type { TerminalSession } from './session';
import type { TerminalViewer } from './viewers';
import { socketBasics } from './socket-basics';
import type { TerminalTarget } from './upgrade';

const READ_ONLY_ERROR = {
	op: 'error',
	code: 'read-only',
	message: 'Только просмотр: вводить команды можно, когда слушатель разрешит доступ к вводу.',
} as const;

/** Why the instructor's input rights ended, by who ended them. */
const ENDED_MESSAGES: Record<TakeoverEvent['by'], string> = {
	learner: 'Слушатель прекратил доступ к вводу: терминал снова только для просмотра.',
	instructor: 'Доступ к вводу прекращён: терминал снова только для просмотра.',
	server:
		'Доступ к вводу прекращён (стенд остановлен или сброшен): терминал снова только для просмотра.',
};

export function serveViewer(
	ws: WebSocket,
	{ lab, node, term }: TerminalTarget,
	deps: {
		terminals: TerminalRegistry;
		clock: Clock;
		log: Logger;
		/** The lab's input budget, the same the learner's sockets draw from. */
		bucket: TokenBucket;
		/** Says this socket watches the lab (help-desk.ts: input rights outlive no view). */
		watch?: (lab: Lab) => () => void;
	},
): void {
	const log = deps.log.child({ labId: lab.id, node, term, viewer: true });
	const { send, close, decode, helloReceived, release } = socketBasics(ws, lab, node, deps.clock);
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
		const frame = decode(data, isBinary);
		if (!frame) return;
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
			const { offset, backlog, replay } = open.addViewer(viewer, frame.resumeOffset);
			send({ op: 'ready', offset, resumed: frame.resumeOffset === offset, replay });
			if (backlog.byteLength > 0) send({ op: 'output', data: backlog });
			log.info({ offset, backlog: backlog.byteLength }, 'terminal viewer attached');
			return;
		}
		if (!session) return close(CloseCode.HELLO_REQUIRED, 'the first frame must be HELLO');
		// ACKs are fine and ignored: a viewer never counts in flow control.
		if (frame.op === 'resize') return send(READ_ONLY_ERROR);
		if (frame.op !== 'input') return;
		// Per frame, not per socket: a revoke takes effect on the very next keystroke.
		if (!instructorMayType(lab)) return send(READ_ONLY_ERROR);
		if (!deps.bucket.take(frame.data.byteLength)) {
			return close(CloseCode.RATE_LIMITED, 'input faster than the lab allows');
		}
		session.input(frame.data);
	});
	let typing = instructorMayType(lab);
	const onTakeover = ({ state, by }: TakeoverEvent) => {
		if (state !== 'allowed' && typing && session) {
			send({ op: 'error', code: 'takeover-ended', message: ENDED_MESSAGES[by] });
		}
		typing = state === 'allowed';
	};
	lab.events.on('takeover', onTakeover);
	const unwatch = deps.watch?.(lab);
	ws.on('close', () => {
		unwatch?.();
		lab.events.off('takeover', onTakeover);
		release();
		session?.removeViewer(viewer);
	});
	ws.on('error', (error) => log.debug({ err: error }, 'terminal viewer socket error'));
}
