/**
 * The lab server's end of a terminal's holder (docker/node/labterm): a `docker exec` without a
 * TTY runs `labterm open`, which attaches to the holder of this terminal (starting it and the
 * shell when there is none) and relays frames both ways. The holder numbers every byte the shell
 * prints and keeps the last megabyte, so attaching with an offset gets exactly what came after
 * it — across a lab-server restart too — or says how much was lost.
 *
 * Two ways the frames travel, behind the one HolderLink:
 * - a node with a link directory (docker/node-links.ts): labterm dials back to the server's
 *   socket in it (links.ts) and the exec's stdio carries nothing — no terminal byte goes through
 *   the Docker engine, so a busy engine (a warm pool booting labs) does not delay keystrokes;
 * - a node made before that (no link mount, adopted after an upgrade): over the exec's stdio.
 */
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { execInNode } from '../docker/engine';
import { LINK_MOUNT, LINK_SOCKET, linkDirOf } from '../docker/node-links';
import {
	HolderFrameParser,
	helloFrame,
	inputFrames,
	resizeFrame,
	type HolderFrame,
} from './holder-frames';
import type { TerminalLinks } from './links';

/** Where a node keeps its terminal holders' sockets (created by tmpfiles.d in the image). */
const SOCKET_DIR = '/run/lab-terminals';

/** The shell's environment, and how labterm is started (no WorkingDir: see attachOverExec). */
const ENV = ['TERM=xterm-256color', 'LANG=C.UTF-8', 'COLORTERM=truecolor'];
const GO_HOME = 'cd ~ 2>/dev/null || cd /';

/** What labterm prints on stderr when it cannot dial, kept for the error (bounded). */
const STDERR_BYTES = 2_048;

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

/** Where the lab server reaches a node's terminals. */
export interface HolderTarget {
	docker: Docker;
	containerId: string;
	links: TerminalLinks;
}

/** Attaches to the terminal `term` of a node, asking for its output from byte `offset`. */
export async function attachHolder(
	target: HolderTarget,
	term: string,
	offset: number,
	events: HolderEvents,
): Promise<HolderLink> {
	const dir = await linkDirOfNode(target.docker, target.containerId);
	return dir === null
		? attachOverExec(target.docker, target.containerId, term, offset, events)
		: attachOverLink(target, dir, term, offset, events);
}

/** A node's link directory (null: made before links) — a container's mounts never change. */
const linkDirs = new Map<string, string | null>();

async function linkDirOfNode(docker: Docker, containerId: string): Promise<string | null> {
	const known = linkDirs.get(containerId);
	if (known !== undefined) return known;
	const info = await docker.getContainer(containerId).inspect();
	const dir = linkDirOf(info.Mounts);
	// Ids of removed nodes pile up slowly (a reset makes a new one): start over now and then.
	if (linkDirs.size >= 10_000) linkDirs.clear();
	linkDirs.set(containerId, dir);
	return dir;
}

/**
 * labterm dials back to the server's socket with a nonce and hands that connection to the
 * holder: from then on the server talks to the holder directly. The exec is only watched until
 * then, for the reason if labterm fails (its stderr).
 */
async function attachOverLink(
	{ docker, containerId, links }: HolderTarget,
	dir: string,
	term: string,
	offset: number,
	events: HolderEvents,
): Promise<HolderLink> {
	const dial = await links.expect(dir);
	let stream: Duplex | null = null;
	try {
		const exec = await docker.getContainer(containerId).exec({
			Cmd: [
				'sh',
				'-c',
				`${GO_HOME}; exec labterm open --dial "$0" "$1" bash -l`,
				`${LINK_MOUNT}/${LINK_SOCKET}`,
				socketPath(term),
			],
			User: 'ubuntu',
			// The nonce in the environment, not the command line: `ps` shows every user's argv.
			Env: [...ENV, `LABTERM_NONCE=${dial.nonce}`],
			Tty: false,
			AttachStdin: false,
			AttachStdout: true,
			AttachStderr: true,
		});
		const execStream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
		stream = execStream;
		const stderr = new PassThrough();
		let said = '';
		stderr.on('data', (chunk: Buffer) => {
			if (said.length < STDERR_BYTES) said += chunk.toString('utf8').slice(0, STDERR_BYTES);
		});
		docker.modem.demuxStream(execStream, new PassThrough().resume(), stderr);
		execStream.on('error', () => undefined);
		// labterm ends once it has handed its connection to the holder: the connection may still
		// be on its way here. Ended with something said, it failed.
		execStream.on('close', () => {
			const reason = new Error(
				`labterm ended without dialling back: ${said.trim() || 'no reason'}`,
			);
			if (said.trim()) dial.cancel(reason);
			else links.cancelLater(dial, reason);
		});
		const socket = await dial.connection;
		return holderLink(socket, socket, offset, events);
	} catch (error) {
		dial.cancel(error as Error);
		throw error;
	} finally {
		// Nothing more comes over the exec; labterm goes on relaying over its own connection.
		stream?.destroy();
	}
}

/** Frames over the exec's stdio (a node made before links). */
async function attachOverExec(
	docker: Docker,
	containerId: string,
	term: string,
	offset: number,
	events: HolderEvents,
): Promise<HolderLink> {
	const exec = await docker.getContainer(containerId).exec({
		// No WorkingDir: the runtime would resolve a path the learner controls before the process
		// starts (the shape of CVE-2024-21626); the shell goes home by itself.
		Cmd: ['sh', '-c', `${GO_HOME}; exec labterm open "$0" bash -l`, socketPath(term)],
		User: 'ubuntu',
		Env: ENV,
		Tty: false,
		AttachStdin: true,
		AttachStdout: true,
		AttachStderr: true,
	});
	const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
	const stdout = new PassThrough();
	docker.modem.demuxStream(stream, stdout, new PassThrough());
	return holderLink(stdout, stream, offset, events);
}

/**
 * The link over a connection to labterm: `from` carries the holder's frames, `to` takes ours
 * (and is what pauses, and what is let go).
 */
function holderLink(from: Readable, to: Duplex, offset: number, events: HolderEvents): HolderLink {
	const parser = new HolderFrameParser();
	let closed = false;
	const close = () => {
		if (closed) return;
		closed = true;
		to.destroy();
		events.closed();
	};
	from.on('data', (chunk: Buffer) => {
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
	to.on('error', () => close());
	to.on('close', () => close());
	to.write(helloFrame(offset));
	// A socket handed over paused (links.ts) starts flowing here.
	from.resume();
	return {
		input(data) {
			for (const frame of inputFrames(data)) to.write(frame);
		},
		resize(cols, rows) {
			to.write(resizeFrame(cols, rows));
		},
		pause: () => to.pause(),
		resume: () => to.resume(),
		release() {
			closed = true;
			to.destroy();
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
