/** Small helpers shared by the Docker tests. */
import type Docker from 'dockerode';
import { execInNode, type ExecResult } from '../src/docker';

/** Runs a bash script in a node, as root unless `user` says otherwise. */
export function sh(
	docker: Docker,
	containerId: string,
	script: string,
	options: { user?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
	return execInNode(docker, containerId, ['bash', '-c', script], options);
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
	what: string,
	probe: () => Promise<T | undefined>,
	timeoutMs: number,
	intervalMs = 200,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe();
		if (value !== undefined) return value;
		if (Date.now() > deadline)
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
	}
}

export function stripAnsi(text: string): string {
	// eslint-disable-next-line no-control-regex
	return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g, '');
}
