/**
 * The learner's terminal socket: HELLO starts (or re-attaches to) the session, then INPUT under
 * the lab's input rate, RESIZE and ACK, strictly in order. Frames wait in a bounded queue while
 * an earlier one is asynchronous (HELLO, RESIZE): RESIZEs in a row are folded into the last one,
 * and the socket stops being read while the queue is deep, so no client can make the server
 * hold more than a few frames of it. A clean close (1000) ends the shell; any other close keeps
 * it for a resume.
 */
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CloseCode, type ClientFrame } from '../api/protocol';
import type { LabManager } from '../labs/manager';
import type { Clock } from '../lib/clock';
import type { TokenBucket } from '../lib/rate-limit';
import type { TerminalRegistry } from './registry';
import type { TerminalSession, TerminalSink } from './session';
import { socketBasics } from './socket-basics';
import type { TerminalTarget } from './upgrade';

/** Frames waiting behind an asynchronous one: reading the socket stops at this depth… */
const QUEUE_PAUSE_AT = 64;
/** …and goes on below this one. */
const QUEUE_RESUME_AT = 16;

export interface LearnerSocketDeps {
	labs: LabManager;
	terminals: TerminalRegistry;
	terminalsPerLab: number;
	clock: Clock;
	log: Logger;
}

export function serveTerminal(
	ws: WebSocket,
	{ lab, node, term }: TerminalTarget,
	bucket: TokenBucket,
	deps: LearnerSocketDeps,
): void {
	const log = deps.log.child({ labId: lab.id, node, term });
	const { send, close, decode, helloReceived, release } = socketBasics(ws, lab, node, deps.clock);
	let session: TerminalSession | null = null;
	let opening = false;
	const sink: TerminalSink = {
		ready: (offset, resumed, replay) => send({ op: 'ready', offset, resumed, replay }),
		output: (data, written) => send({ op: 'output', data }, written),
		tooSlow: () => close(CloseCode.CLIENT_TOO_SLOW, 'client not reading its output'),
		exit: (code) => {
			send({ op: 'exit', code });
			close(CloseCode.TERMINAL_EXITED, 'shell exited');
		},
		replaced: () => close(CloseCode.REPLACED, 'terminal opened elsewhere'),
	};

	// Frames are handled strictly in order (a RESIZE must take effect before the INPUT after it),
	// though some steps are asynchronous: each waits for the one before.
	const queue: ClientFrame[] = [];
	let pumping = false;
	ws.on('message', (data: Buffer, isBinary: boolean) => {
		const frame = decode(data, isBinary);
		if (!frame) return log.info('terminal frame refused');
		const last = queue.at(-1);
		if (frame.op === 'resize' && last?.op === 'resize') queue[queue.length - 1] = frame;
		else queue.push(frame);
		if (queue.length >= QUEUE_PAUSE_AT && !ws.isPaused) ws.pause();
		void pump();
	});

	const pump = async (): Promise<void> => {
		if (pumping) return;
		pumping = true;
		try {
			for (let frame = queue.shift(); frame; frame = queue.shift()) {
				if (queue.length < QUEUE_RESUME_AT && ws.isPaused) ws.resume();
				await handle(frame);
			}
		} catch (error) {
			log.error({ err: error }, 'terminal frame failed');
			close(1011, 'internal error');
		} finally {
			pumping = false;
			if (ws.isPaused) ws.resume();
		}
	};

	const handle = async (frame: ClientFrame): Promise<void> => {
		if (frame.op === 'hello') {
			if (session || opening) return close(CloseCode.PROTOCOL_ERROR, 'HELLO twice');
			helloReceived();
			if (lab.status !== 'running') return close(CloseCode.LAB_STOPPED, 'lab stopped: resume it');
			opening = true;
			// A reconnect right after «Сбросить» opens on the new node, not on the one going away
			// (that shell would print nothing, and the terminal would wait for a prompt forever).
			await lab.resetting[node];
			if (ws.readyState !== ws.OPEN) return;
			const open = deps.terminals.get({ labId: lab.id, node, term });
			if (!open && deps.terminals.countForLab(lab.id) >= deps.terminalsPerLab) {
				return close(
					CloseCode.TOO_MANY_TERMINALS,
					`at most ${deps.terminalsPerLab} terminals per lab`,
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
			if (session.size.cols !== frame.cols || session.size.rows !== frame.rows) {
				await session.resize(frame.cols, frame.rows);
			}
			log.info({ resumed, offset, backlog }, 'terminal attached');
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
