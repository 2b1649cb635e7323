/**
 * Keystroke echo: one character typed into bash's readline on a fresh terminal, timed from the
 * INPUT frame leaving until the OUTPUT frame carrying it back arrives (WebSocket, lab server,
 * `docker exec`, the terminal's holder, the pty, readline, and back), while the pool's other terminals sit open and
 * idle. A small pause between keystrokes, as a person types; the line is cleared now and then
 * (Ctrl-U, not timed) so it never wraps.
 */
import { progress, type LabJson, type TerminalOpener } from './harness';
import { watchHost, type HostSample } from './host-watch';
import { sleep } from './terminal';

const KEYS = 'abcdefghijklmnopqrstuvwxyz';
const CLEAR_EVERY = 60;
const ECHO_TIMEOUT_MS = 2_000;
let opened = 0;

export async function measureEcho(
	opener: TerminalOpener,
	lab: LabJson,
	samples: number,
	pauseMs: number,
	deadline: number,
	/** Called once the terminal is ready, as the first keystroke goes (what the echo is measured beside). */
	beside?: () => void,
): Promise<{ times: number[]; host: HostSample }> {
	// A shell of its own each time (a closed one may still be ending when the next opens).
	const terminal = opener.openTerminal(lab, 'hap1', `bench-echo-${++opened}`);
	try {
		await terminal.prompt('hap1', 30_000);
		await sleep(200);
		beside?.();
		const times: number[] = [];
		progress(`echo: ${samples} keystrokes, ${pauseMs} ms apart`);
		const watch = await watchHost();
		let host: HostSample | null = null;
		try {
			for (let i = 0; i < samples; i++) {
				if (Date.now() > deadline) throw new Error('echo: out of time');
				if (i > 0 && i % CLEAR_EVERY === 0) {
					terminal.type('\x15');
					await sleep(50);
				}
				const key = KEYS[i % KEYS.length]!;
				terminal.mark();
				const sent = performance.now();
				const arrived = terminal.until(
					(text) => text.includes(key),
					ECHO_TIMEOUT_MS,
					`echo of "${key}"`,
				);
				terminal.type(key);
				times.push((await arrived) - sent);
				await sleep(pauseMs);
			}
		} finally {
			host = await watch.stop();
		}
		terminal.type('\x15');
		return { times, host };
	} finally {
		await terminal.close();
	}
}
