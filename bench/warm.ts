/**
 * A lab from the warm pool: a server of its own with `WARM_LABS=2`. Each sample waits until the
 * pool is full again (what a learner finds on a server that is not flooded), then `POST
 * /api/labs` → both prompts; the lab is deleted after. Also how long the pool took to boot its
 * labs back (the refill, in the background).
 */
import { progress, Harness, type ReadySample } from './harness';

export interface WarmResult {
	times: ReadySample[];
	/** A take → the pool full again, ms. */
	refillMs: number[];
}

const POOL = 2;

export async function measureWarm(samples: number, deadline: number): Promise<WarmResult> {
	progress(`warm: a server with WARM_LABS=${POOL}, ${samples} labs taken one at a time`);
	const harness = await Harness.start(POOL + 1, { warmLabs: POOL });
	const poolFull = async () => {
		while (harness.server.warm.ready.size < POOL) {
			if (Date.now() > deadline) throw new Error('warm: the pool did not fill in time');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	};
	const result: WarmResult = { times: [], refillMs: [] };
	try {
		await poolFull();
		for (let i = 0; i < samples; i++) {
			const took = performance.now();
			const { lab, sample } = await harness.createLab();
			result.times.push(sample);
			await harness.removeLab(lab);
			await poolFull();
			result.refillMs.push(performance.now() - took);
			progress(
				`  lab ${i + 1}/${samples}: ${Math.round(sample.totalMs)} ms (POST ${Math.round(sample.postMs)}, terminals ${Math.round(sample.terminalsMs)})`,
			);
		}
	} finally {
		await harness.cleanup();
	}
	return result;
}
