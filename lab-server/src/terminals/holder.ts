/**
 * The lab server's end of a terminal's holder (docker/node/labterm): a `docker exec` without a
 * TTY runs `labterm open`, which attaches to the holder of this terminal (starting it and the
 * shell when there is none) and relays frames both ways. The holder numbers every byte the shell
 * prints and keeps the last megabyte, so attaching with an offset gets exactly what came after
 * it — across a lab-server restart too — or says how much was lost.
 */
import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { execInNode } from '../docker/engine';
import {
	HolderFrameParser,
	helloFrame,
	inputFrames,
	resizeFrame,
	type HolderFrame,
} from './holder-frames';

/** Where a node keeps its terminal holders' sockets (created by tmpfiles.d in the image). */
const SOCKET_DIR = '/run/lab-terminals';

export interface HolderEvents {
	/** The holder answered: output follows from its byte `from`; `dropped` bytes were lost. */
	attached(from: number, dropped: number): void;
	output(data: Buffer): void;
	/** The shell exited with `code`. */
	exit(code: number): void;
	/** The link is gone (the holder, the exec or the node); after `exit` too. */
	closed(): void;
	/** What the holder sent could not be parsed: the link is closed. */
	malformed(error: Error): void;
}

export interface HolderLink {
	input(data: Uint8Array): void;
	resize(cols: number, rows: number): void;
	/** Stops reading the holder (flow control: it stops reading the shell's output). */
	pause(): void;
	resume(): void;
	/** Lets go of the link; the holder and its shell keep running. */
	release(): void;
}

export function socketPath(term: string): string {
	return `${SOCKET_DIR}/${term}`;
}

/** Attaches to the terminal `term` of a node, asking for its output from byte `offset`. */
export async function attachHolder(
	docker: Docker,
	containerId: string,
	term: string,
	offset: number,
	events: HolderEvents,
): Promise<HolderLink> {
	const exec = await docker.getContainer(containerId).exec({
		// No WorkingDir: the runtime would resolve a path the learner controls before the process
		// starts (the shape of CVE-2024-21626); the shell goes home by itself.
		Cmd: ['sh', '-c', 'cd ~ 2>/dev/null || cd /; exec labterm open "$0" bash -l', socketPath(term)],
		User: 'ubuntu',
		Env: ['TERM=xterm-256color', 'LANG=C.UTF-8', 'COLORTERM=truecolor'],
		Tty: false,
		AttachStdin: true,
		AttachStdout: true,
		AttachStderr: true,
	});
	const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
	const stdout = new PassThrough();
	docker.modem.demuxStream(stream, stdout, new PassThrough());
	const parser = new HolderFrameParser();
	let closed = false;
	const close = () => {
		if (closed) return;
		closed = true;
		stream.destroy();
		events.closed();
	};
	stdout.on('data', (chunk: Buffer) => {
		let frames: HolderFrame[];
		try {
			frames = parser.push(chunk);
		} catch (error) {
			events.malformed(error as Error);
			close();
			return;
		}
		for (const frame of frames) {
			if (frame.type === 'attached') events.attached(frame.from, frame.dropped);
			else if (frame.type === 'output') events.output(frame.data);
			else events.exit(frame.code);
		}
	});
	stream.on('error', () => close());
	stream.on('close', () => close());
	stream.write(helloFrame(offset));
	return {
		input(data) {
			for (const frame of inputFrames(data)) stream.write(frame);
		},
		resize(cols, rows) {
			stream.write(resizeFrame(cols, rows));
		},
		pause: () => stream.pause(),
		resume: () => stream.resume(),
		release() {
			closed = true;
			stream.destroy();
		},
	};
}

/** Ends the terminal's shell inside the node (its holder hangs it up, as closing a terminal). */
export async function endHolder(docker: Docker, containerId: string, term: string): Promise<void> {
	await execInNode(docker, containerId, ['labterm', 'kill', socketPath(term)], {
		user: 'ubuntu',
		timeoutMs: 5_000,
	});
}
