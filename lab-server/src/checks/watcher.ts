/**
 * Keeps a lab's check results current without the learner asking: whenever a node's state or the
 * VIP holder changes, or a command in one of its terminals finishes (the shell's mark: an install
 * that just ended changes no node state), the checks run again (debounced) and every result that
 * changed is pushed as a `check` event. «Проверить» on the page runs them on demand as well. There is at most one run
 * per lab at a time: whoever asks while one is under way gets its results (fifty tabs, or a
 * script, asking at once cost one exec per node).
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { runChecks } from './run';
import type { CheckResult } from '../api';
import type { Lab } from '../labs/lab';

const DEBOUNCE_MS = 1_500;
/** After a command ends: soon, so a step passes within a couple of seconds of its command. */
const AFTER_COMMAND_MS = 300;

export interface CheckWatcher {
	/** Runs every check now, pushes what changed, and returns all results. */
	runNow(): Promise<CheckResult[]>;
	stop(): void;
}

export function watchChecks(docker: Docker, lab: Lab, log: Logger): CheckWatcher {
	const last = new Map<string, string>();
	let timer: NodeJS.Timeout | null = null;
	let running: Promise<CheckResult[]> | null = null;
	/** Something changed while a run was under way: its results may predate it, run again. */
	let stale = false;
	let stopped = false;

	const run = (): Promise<CheckResult[]> => {
		running ??= runChecks(docker, lab)
			.then((results) => {
				for (const result of results) {
					const key = `${result.status}\0${result.message}`;
					if (last.get(result.id) === key) continue;
					last.set(result.id, key);
					if (!stopped) lab.events.emit('check', result);
				}
				return results;
			})
			.finally(() => {
				running = null;
				if (stale) {
					stale = false;
					schedule();
				}
			});
		return running;
	};

	const schedule = (delay = DEBOUNCE_MS) => {
		if (stopped) return;
		if (timer) clearTimeout(timer);
		timer = setTimeout(() => {
			timer = null;
			if (running) stale = true;
			else
				run().catch((error: unknown) => log.debug({ labId: lab.id, err: error }, 'checks failed'));
		}, delay);
	};
	const onState = () => schedule();
	const onCommand = () => schedule(AFTER_COMMAND_MS);

	lab.events.on('node', onState);
	lab.events.on('vip', onState);
	lab.events.on('command', onCommand);
	return {
		runNow: run,
		stop() {
			stopped = true;
			if (timer) clearTimeout(timer);
			lab.events.off('node', onState);
			lab.events.off('vip', onState);
			lab.events.off('command', onCommand);
		},
	};
}
