/**
 * A lab from the warm pool: a server of its own with `WARM_LABS=2`. Each sample waits until the
 * pool is full again (what a learner finds on a server that is not flooded), then `POST
 * /api/labs` → both prompts; the lab is deleted after. Also how long the pool took to boot its
 * labs back (the refill, in the background), and what the refill does to a learner already
 * typing: their keystroke echo with the pool full against while two other learners take the
 * pool's labs (its boots then give way to the typing: docker/boot-yield.ts), how long the pool
 * took to be full again meanwhile, and the echo when typing starts while a boot is under way
 * (the pool's labs ended first, so that their teardown is not counted as the refill).
 */
import { measureEcho } from './echo';
import type { Lab } from '../lab-server/src/labs/lab';
import { progress, Harness, type ReadySample } from './harness';

export interface WarmResult {
	times: ReadySample[];
	/** A take → the pool full again, ms. */
	refillMs: number[];
	/** A learner's keystroke echo with the pool full, ms… */
	echoQuiet: number[];
	/** …and while two labs are taken from the pool, which is then due to boot two back, ms… */
	echoRefilling: number[];
	/** …and when the learner starts typing while the pool is booting a lab, ms. */
	echoBootUnderWay: number[];
	/** Two labs taken while the learner types → the pool full again, ms. */
	refillTypingMs: number[];
}

/** Keystrokes per echo round: about as long as the pool takes to boot two labs back. */
const ECHO_PER_ROUND = 60;

const POOL = 2;
/** How long into a round of typing the pool's labs are taken. */
const TAKE_AFTER_MS = 300;

export async function measureWarm(
	samples: number,
	echoRounds: number,
	deadline: number,
): Promise<WarmResult> {
	progress(`warm: a server with WARM_LABS=${POOL}, ${samples} labs taken one at a time`);
	const harness = await Harness.start(POOL + 3, { warmLabs: POOL });
	const poolFull = async () => {
		while (harness.server.warm.ready.size < POOL) {
			if (Date.now() > deadline) throw new Error('warm: the pool did not fill in time');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	};
	const result: WarmResult = {
		times: [],
		refillMs: [],
		echoQuiet: [],
		echoRefilling: [],
		echoBootUnderWay: [],
		refillTypingMs: [],
	};
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
		// A learner's lab, typed into with the pool full; then while two other learners take the
		// pool's labs, so that the pool is due to boot two back while this one types.
		progress(`warm: echo beside the refill, ${echoRounds} rounds of ${ECHO_PER_ROUND} keystrokes`);
		const { lab: mine } = await harness.createLab();
		const { labs, warm } = harness.server;
		const echo = (beside?: () => void) =>
			measureEcho(harness, mine, ECHO_PER_ROUND, 20, deadline, beside).then((r) => r.times);
		for (let round = 0; round < echoRounds; round++) {
			await poolFull();
			result.echoQuiet.push(...(await echo()));
			let takes: Promise<{ lab: Lab } | null>[] = [];
			const taking = performance.now();
			result.echoRefilling.push(
				...(await echo(() => {
					// A few keystrokes in: the learner is typing when the pool is due to boot.
					setTimeout(() => {
						takes = [0, 1].map(() => warm.take({ sessionHash: 'bench-taker', ip: null }));
					}, TAKE_AFTER_MS);
				})),
			);
			await poolFull();
			result.refillTypingMs.push(performance.now() - taking);
			for (const taken of await Promise.all(takes)) if (taken) await labs.end(taken.lab, 'deleted');
			// The pool's labs end (their teardown is not the refill's) and boot back, and the
			// learner starts typing while the first one is booting.
			await Promise.all([...warm.ready.keys()].map((id) => labs.end(labs.get(id)!, 'expired')));
			result.echoBootUnderWay.push(...(await echo()));
		}
	} finally {
		await harness.cleanup();
	}
	return result;
}
