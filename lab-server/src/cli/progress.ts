/**
 * Prints image-build progress for a person at a terminal: every build step on its own line, and
 * the command output of the current step on one line that keeps being overwritten (on a TTY) so
 * long `apt-get` runs show they are alive without flooding the screen. In CI every line is kept.
 */
import type { ProgressEvent } from '../docker/images';

export function printProgress(out: NodeJS.WriteStream = process.stdout) {
	const live = out.isTTY === true;
	const started = Date.now();
	let pending = false;
	const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
	const clear = () => {
		if (pending) out.write('\r\x1b[2K');
		pending = false;
	};
	return (event: ProgressEvent) => {
		switch (event.phase) {
			case 'base':
				clear();
				out.write(`[images] ${event.message}\n`);
				break;
			case 'build':
				clear();
				out.write(`[images] step ${event.step}/${event.steps} (${elapsed()}): ${event.message}\n`);
				break;
			case 'output':
				if (live) {
					clear();
					out.write(`  ${event.message.slice(0, (out.columns ?? 100) - 4)}`);
					pending = true;
				} else out.write(`  ${event.message}\n`);
				break;
			case 'done':
				clear();
				out.write(`[images] ${event.message} in ${elapsed()}\n`);
				break;
		}
	};
}
