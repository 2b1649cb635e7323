/**
 * Keeps a lab's check results current without the learner asking: whenever a node's state or the
 * VIP holder changes, the checks run again (debounced) and every result that changed is pushed as
 * a `check` event. «Проверить» on the page runs them on demand as well. There is at most one run
 * per lab at a time: whoever asks while one is under way gets its results (fifty tabs, or a
 * script, asking at once cost one exec per node).
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { runChecks } from './run';
import type { CheckResult } from '../api';
import type { Lab } from '../labs/lab';

const DEBOUNCE_MS = 1_500;

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

	const schedule = () => {
		if (stopped) return;
		if (timer) clearTimeout(timer);
		timer = setTimeout(() => {
			timer = null;
			if (running) stale = true;
			else
				run().catch((error: unknown) => log.debug({ labId: lab.id, err: error }, 'checks failed'));
		}, DEBOUNCE_MS);
	};

	lab.events.on('node', schedule);
	lab.events.on('vip', schedule);
	return {
		runNow: run,
		stop() {
			stopped = true;
			if (timer) clearTimeout(timer);
			lab.events.off('node', schedule);
			lab.events.off('vip', schedule);
		},
	};
}
