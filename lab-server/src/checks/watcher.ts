/**
 * Keeps a lab's check results current without the learner asking: whenever a node's state or the
 * VIP holder changes, the checks run again (debounced, one batch at a time) and every result that
 * changed is pushed as a `check` event. «Проверить» on the page runs them on demand as well.
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
	let stopped = false;

	const run = async (): Promise<CheckResult[]> => {
		if (running) await running.catch(() => undefined);
		running = runChecks(docker, lab);
		try {
			const results = await running;
			for (const result of results) {
				const key = `${result.status}\0${result.message}`;
				if (last.get(result.id) === key) continue;
				last.set(result.id, key);
				if (!stopped) lab.events.emit('check', result);
			}
			return results;
		} finally {
			running = null;
		}
	};

	const schedule = () => {
		if (stopped) return;
		if (timer) clearTimeout(timer);
		timer = setTimeout(() => {
			timer = null;
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
