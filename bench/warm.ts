/**
 * A lab from the warm pool: a server of its own with `WARM_LABS=2`. Each sample waits until the
 * pool is full again (what a learner finds on a server that is not flooded), then `POST
 * /api/labs` → both prompts; the lab is deleted after. Also how long the pool took to boot its
 * labs back (the refill, in the background), and what the refill does to a learner already
 * typing: their keystroke echo with the pool full against while it boots labs back.
 */
import { measureEcho } from './echo';
import { progress, Harness, type ReadySample } from './harness';

export interface WarmResult {
	times: ReadySample[];
	/** A take → the pool full again, ms. */
	refillMs: number[];
	/** A learner's keystroke echo with the pool full, ms… */
	echoQuiet: number[];
	/** …and while the pool boots its ended labs back (one at a time), ms. */
	echoRefilling: number[];
}

/** Keystrokes per echo round: about as long as the pool takes to boot two labs back. */
const ECHO_PER_ROUND = 60;

const POOL = 2;

export async function measureWarm(
	samples: number,
	echoRounds: number,
	deadline: number,
): Promise<WarmResult> {
	progress(`warm: a server with WARM_LABS=${POOL}, ${samples} labs taken one at a time`);
	const harness = await Harness.start(POOL + 2, { warmLabs: POOL });
	const poolFull = async () => {
		while (harness.server.warm.ready.size < POOL) {
			if (Date.now() > deadline) throw new Error('warm: the pool did not fill in time');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	};
	const result: WarmResult = { times: [], refillMs: [], echoQuiet: [], echoRefilling: [] };
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
		// A learner's lab, typed into with the pool full, then while the pool boots labs back (its
		// waiting ones ended, as when their time runs out): what the refill costs a learner.
		progress(`warm: echo beside the refill, ${echoRounds} rounds of ${ECHO_PER_ROUND} keystrokes`);
		const { lab: mine } = await harness.createLab();
		const { labs, warm } = harness.server;
		for (let round = 0; round < echoRounds; round++) {
			await poolFull();
			const quiet = await measureEcho(harness, mine, ECHO_PER_ROUND, 20, deadline);
			result.echoQuiet.push(...quiet.times);
			await poolFull();
			const refilling = await measureEcho(harness, mine, ECHO_PER_ROUND, 20, deadline, () => {
				for (const id of [...warm.ready.keys()]) void labs.end(labs.get(id)!, 'expired');
			});
			result.echoRefilling.push(...refilling.times);
		}
	} finally {
		await harness.cleanup();
	}
	return result;
}
