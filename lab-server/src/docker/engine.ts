/**
 * The Docker Engine API as the lab server uses it (dockerode): connecting, commands run in a
 * node and collected, and the errors that mean "already gone". Learners' terminals stream
 * through terminals/ instead.
 */
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';

export interface ExecResult {
	exitCode: number;
	stdout: string;
	stderr: string;
}

export class DockerUnavailableError extends Error {
	constructor(socketPath: string, cause: unknown) {
		super(
			`Docker engine not reachable at "${socketPath}": start it (sudo dockerd, or systemctl start docker) — see README, «Требования»`,
			{ cause },
		);
		this.name = 'DockerUnavailableError';
	}
}

export function connectDocker(socketPath: string): Docker {
	return new Docker({ socketPath });
}

/** Resolves when the engine answers; throws DockerUnavailableError saying what to do otherwise. */
export async function pingDocker(docker: Docker, socketPath: string): Promise<void> {
	try {
		await docker.ping();
	} catch (error) {
		throw new DockerUnavailableError(socketPath, error);
	}
}

/**
 * Runs a command in a node and collects its output. Used for checks, readiness and resets; never
 * for the learner's terminals (terminal.ts streams those).
 */
export async function execInNode(
	docker: Docker,
	containerId: string,
	cmd: string[],
	options: { user?: string; timeoutMs?: number; stdin?: string; maxOutputBytes?: number } = {},
): Promise<ExecResult> {
	const container = docker.getContainer(containerId);
	const exec = await container.exec({
		Cmd: cmd,
		User: options.user ?? 'root',
		AttachStdout: true,
		AttachStderr: true,
		AttachStdin: options.stdin !== undefined,
		Tty: false,
	});
	const stream = await exec.start({ hijack: true, stdin: options.stdin !== undefined });
	const stdout = new PassThrough();
	const stderr = new PassThrough();
	const out: Buffer[] = [];
	const err: Buffer[] = [];
	// Learners are root in their nodes: what a command prints is bounded, or one `yes` in the
	// right place would stream into the server's memory until the timeout.
	const maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
	let size = 0;
	const collect = (into: Buffer[]) => (chunk: Buffer) => {
		size += chunk.byteLength;
		if (size > maxOutputBytes)
			stream.destroy(new Error(`command output over ${maxOutputBytes} bytes`));
		else into.push(chunk);
	};
	stdout.on('data', collect(out));
	stderr.on('data', collect(err));
	docker.modem.demuxStream(stream, stdout, stderr);
	if (options.stdin !== undefined) stream.end(options.stdin);

	const timeoutMs = options.timeoutMs ?? 15_000;
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => {
			stream.destroy();
			reject(new Error(`command ${JSON.stringify(cmd.join(' '))} timed out after ${timeoutMs} ms`));
		}, timeoutMs);
		stream.on('end', () => {
			clearTimeout(timer);
			resolve();
		});
		stream.on('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
	});
	const { ExitCode } = await exec.inspect();
	return {
		exitCode: ExitCode ?? -1,
		stdout: Buffer.concat(out).toString('utf8'),
		stderr: Buffer.concat(err).toString('utf8'),
	};
}

export function isNotFound(error: unknown): boolean {
	return (error as { statusCode?: number } | null)?.statusCode === 404;
}

// Removing something that is gone, or going, is success: two reapers, or a restart mid-removal.
export function ignoreGone(error: unknown): void {
	if (isNotFound(error)) return;
	const { statusCode, message } = error as { statusCode?: number; message?: string };
	if (statusCode === 409 && /already in progress/.test(message ?? '')) return;
	throw error;
}
