/**
 * What every terminal socket needs, learner's or viewer's: framed sends, a close that is safe to
 * call twice, the HELLO deadline, frames decoded at the edge (a malformed one closes only its own
 * socket, with a 4xxx code and a reason), and closing when the lab ends or stops (or is not
 * running when the socket opens) or the node is reset.
 */
import type { WebSocket } from 'ws';
import type { LabNode } from '../api';
import {
	CloseCode,
	ProtocolError,
	decodeClientFrame,
	encodeServerFrame,
	type ClientFrame,
	type ServerFrame,
} from '../api/protocol';
import type { Lab } from '../labs/lab';
import type { Clock } from '../lib/clock';

const HELLO_TIMEOUT_MS = 10_000;

export interface SocketBasics {
	/** Sends a frame; `written` is called once it has left the server (or the socket is gone). */
	send(frame: ServerFrame, written?: () => void): void;
	close(code: number, reason: string): void;
	/** The frame, or null after closing the socket for a text or malformed frame. */
	decode(data: Buffer, isBinary: boolean): ClientFrame | null;
	helloReceived(): void;
	/** Undoes the timer and listeners; call when the socket closes. */
	release(): void;
}

export function socketBasics(ws: WebSocket, lab: Lab, node: LabNode, clock: Clock): SocketBasics {
	const send = (frame: ServerFrame, written?: () => void) => {
		if (ws.readyState === ws.OPEN) ws.send(encodeServerFrame(frame), written && (() => written()));
		else written?.();
	};
	const close = (code: number, reason: string) => {
		if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
			ws.close(code, truncateReason(reason));
		}
	};
	const helloTimer = clock.setTimeout(
		() => close(CloseCode.HELLO_REQUIRED, 'no HELLO within 10 s'),
		HELLO_TIMEOUT_MS,
	);
	const onEnded = () => close(CloseCode.LAB_ENDED, 'lab ended');
	const onStopped = () => close(CloseCode.LAB_STOPPED, 'lab stopped: resume it');
	const onReset = ({ node: reset }: { node: LabNode }) => {
		if (reset === node) close(CloseCode.NODE_RESET, 'node reset');
	};
	lab.events.on('ended', onEnded);
	lab.events.on('stopped', onStopped);
	lab.events.on('reset', onReset);
	if (lab.status !== 'running') queueMicrotask(onStopped);
	return {
		send,
		close,
		decode(data, isBinary) {
			if (!isBinary) {
				close(CloseCode.PROTOCOL_ERROR, 'text frames are not part of the protocol');
				return null;
			}
			try {
				return decodeClientFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
			} catch (error) {
				if (!(error instanceof ProtocolError)) close(CloseCode.PROTOCOL_ERROR, 'bad frame');
				else if (error.code === 'unsupported-version') {
					close(CloseCode.UNSUPPORTED_VERSION, `${error.code}: ${error.message}`);
				} else close(CloseCode.PROTOCOL_ERROR, `${error.code}: ${error.message}`);
				return null;
			}
		},
		helloReceived: () => clock.clearTimeout(helloTimer),
		release: () => {
			clock.clearTimeout(helloTimer);
			lab.events.off('ended', onEnded);
			lab.events.off('stopped', onStopped);
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
