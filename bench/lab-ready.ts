/**
 * Lab ready: `POST /api/labs` until both terminals show `ubuntu@hapN:~$`, one lab at a time so
 * each sample is what one learner sees on a quiet server. Each lab stays in the pool (its two
 * terminals open and idle) for the figures that follow.
 */
import { progress, type Harness, type ReadySample } from './harness';
import { checkInotifyRoom } from '../lab-server/src/docker/host-limits';

export async function measureLabReady(
	harness: Harness,
	samples: number,
	deadline: number,
): Promise<ReadySample[]> {
	await checkInotifyRoom(samples);
	const results: ReadySample[] = [];
	progress(`lab-ready: ${samples} labs, one at a time`);
	for (let i = 0; i < samples; i++) {
		if (Date.now() > deadline) throw new Error('lab-ready: out of time');
		const { sample } = await harness.createLab();
		results.push(sample);
		progress(
			`  lab ${i + 1}/${samples}: ${Math.round(sample.totalMs)} ms (POST ${Math.round(sample.postMs)}, terminals ${Math.round(sample.terminalsMs)})`,
		);
	}
	return results;
}
