/**
 * The peer our terminal path is measured against: node-pty running `docker exec -it` into the
 * same node, as the same user, with the same login shell, its output sent as it comes over a
 * plain WebSocket — the path of wetty and most web terminals (wetty adds socket.io and a pty per
 * connection on top; this is its lean form, so a stricter bar). Not a product: no auth, no flow
 * control, loopback only, started and stopped by the benchmark.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node-pty';
import { WebSocket, WebSocketServer } from 'ws';
import type { LabNode } from '../lab-server/src/api';
import type { LabJson, TerminalOpener } from './harness';
import { sleep, TimedTerminal } from './terminal';

const COLS = 120;
const ROWS = 40;

export interface Peer extends TerminalOpener {
	close(): Promise<void>;
}

/**
 * Starts the peer's server on 127.0.0.1, port 0. `containerOf` names the Docker container of a
 * lab's node (the peer has no lab server: it goes straight to the container).
 */
export async function startPeer(
	containerOf: (lab: LabJson, node: LabNode) => string,
): Promise<Peer> {
	const server = createServer();
	const wss = new WebSocketServer({ server });
	wss.on('connection', (ws, req) => {
		const container = new URL(req.url ?? '/', 'http://peer').searchParams.get('container') ?? '';
		const pty = spawn(
			'docker',
			['exec', '-it', '-u', 'ubuntu', '-w', '/home/ubuntu', container, 'bash', '-l'],
			{ name: 'xterm-256color', cols: COLS, rows: ROWS, env: process.env },
		);
		pty.onData((data) => {
			if (ws.readyState === WebSocket.OPEN) ws.send(data);
		});
		pty.onExit(() => ws.close(1000));
		ws.on('message', (data: Buffer) => pty.write(data.toString('utf8')));
		ws.on('close', () => pty.kill());
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		openTerminal(lab, node) {
			const container = encodeURIComponent(containerOf(lab, node));
			return new PeerTerminal(`ws://127.0.0.1:${port}/?container=${container}`);
		},
		async close() {
			for (const client of wss.clients) client.terminate();
			await new Promise<void>((resolve) => wss.close(() => resolve()));
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

/** A client of the peer: text frames of output, text frames of input. */
class PeerTerminal extends TimedTerminal {
	protected readonly socket: WebSocket;
	readonly #opened: Promise<void>;
	readonly #closed: Promise<void>;

	constructor(url: string) {
		super();
		this.socket = new WebSocket(url);
		this.#opened = new Promise((resolve) => this.socket.once('open', () => resolve()));
		this.#closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
		this.socket.on('message', (data: Buffer) => {
			this.arrived(performance.now(), data.toString('utf8'), data.byteLength);
		});
	}

	type(text: string): void {
		if (this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
		else void this.#opened.then(() => this.socket.send(text));
	}

	async close(timeoutMs = 5_000): Promise<void> {
		this.socket.close(1000);
		await Promise.race([this.#closed, sleep(timeoutMs)]);
	}
}
