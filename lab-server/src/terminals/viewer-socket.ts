/**
 * A read-only viewer (`view=1`, the instructor of the lab's workshop): READY and the ring's
 * backlog, then live OUTPUT; INPUT and RESIZE get an ERROR frame `read-only`. A terminal the
 * learner has not opened yet is not started for a viewer: ERROR `not-started`, then close 4015.
 */
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CloseCode } from '../api/protocol';
import type { Clock } from '../lib/clock';
import type { TerminalRegistry } from './registry';
import type { TerminalSession } from './session';
import type { TerminalViewer } from './viewers';
import { socketBasics } from './socket-basics';
import type { TerminalTarget } from './upgrade';

const READ_ONLY_ERROR = {
	op: 'error',
	code: 'read-only',
	message: 'Только просмотр: вводить команды может только слушатель.',
} as const;

export function serveViewer(
	ws: WebSocket,
	{ lab, node, term }: TerminalTarget,
	deps: { terminals: TerminalRegistry; clock: Clock; log: Logger },
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
		if (frame.op === 'input' || frame.op === 'resize') send(READ_ONLY_ERROR);
	});
	ws.on('close', () => {
		release();
		session?.removeViewer(viewer);
	});
	ws.on('error', (error) => log.debug({ err: error }, 'terminal viewer socket error'));
}
