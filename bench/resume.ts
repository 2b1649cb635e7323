/**
 * «Продолжить»: a lab with keepalived installed and configured (the guide's steps up to the
 * service) is stopped as the reaper stops an idle one, then `POST /api/labs/:id/resume` until
 * both terminals show a new shell's prompt — what a learner back the next day waits for. Also
 * the disk a stopped lab takes (its nodes' writable layers), as the server measured it.
 */
import { LAB_NODES } from '../lab-server/src/api';
import { progress, type Harness } from './harness';

export interface ResumeResult {
	/** «Продолжить» → both prompts, ms. */
	times: number[];
	/** A stopped lab's nodes' writable layers, MiB, per stop. */
	diskMb: number[];
}

const NEW_SHELL = 'прежняя оболочка завершилась';

export async function measureResume(
	harness: Harness,
	samples: number,
	deadline: number,
): Promise<ResumeResult> {
	progress(`resume: one lab with keepalived configured, stopped and resumed ${samples} times`);
	const { lab } = await harness.createLab();
	const auth = { authorization: `Bearer ${lab.token}` };
	const complete = await fetch(`${harness.base}/api/labs/${lab.id}/checks/service/complete`, {
		method: 'POST',
		headers: auth,
		signal: AbortSignal.timeout(180_000),
	});
	if (complete.status !== 200) throw new Error(`completing the steps answered ${complete.status}`);
	const result: ResumeResult = { times: [], diskMb: [] };
	for (let i = 0; i < samples; i++) {
		if (Date.now() > deadline) throw new Error('resume: out of time');
		const record = harness.server.labs.get(lab.id)!;
		await harness.server.labs.stop(record, 'idle');
		result.diskMb.push(record.diskBytes / 2 ** 20);
		const t0 = performance.now();
		const res = await fetch(`${harness.base}/api/labs/${lab.id}/resume`, {
			method: 'POST',
			headers: { ...auth, 'content-type': 'application/json' },
			body: '{}',
			signal: AbortSignal.timeout(90_000),
		});
		if (res.status !== 200) throw new Error(`resume answered ${res.status}: ${await res.text()}`);
		// The learner's terminals as they left them: the scrollback, then a new shell's prompt.
		const prompts = LAB_NODES.map((node) => {
			const terminal = harness.openTerminal(lab, node, 'main');
			const prompt = `ubuntu@${node}:~$`;
			return terminal
				.until(
					(text) => {
						const at = text.lastIndexOf(NEW_SHELL);
						return at >= 0 && text.slice(at).includes(prompt);
					},
					30_000,
					`a new shell's prompt on ${node}`,
				)
				.finally(() => terminal.drop());
		});
		const t1 = Math.max(...(await Promise.all(prompts)));
		result.times.push(t1 - t0);
		progress(`  resume ${i + 1}/${samples}: ${Math.round(t1 - t0)} ms`);
	}
	return result;
}
