/**
 * Ctrl-C during `yes`: the shell floods the terminal for about 300 ms, then `\x03` goes in and
 * the clock runs until the prompt is back on the client's screen. What it measures is how much
 * output is queued between the pty and the client when the learner gives up (flow control's
 * high watermark, the exec stream's buffers, the batching), since all of it arrives first.
 */
import { progress, type LabJson, type TerminalOpener } from './harness';
import { sleep } from './terminal';

const FLOOD_MS = 300;
const PROMPT_TIMEOUT_MS = 15_000;

export async function measureCtrlC(
	opener: TerminalOpener,
	lab: LabJson,
	samples: number,
	deadline: number,
): Promise<number[]> {
	const terminal = opener.openTerminal(lab, 'hap1', 'bench-ctrlc');
	const prompt = 'ubuntu@hap1:~$';
	try {
		await terminal.prompt('hap1', 30_000);
		const times: number[] = [];
		progress(`ctrl-c: ${samples} runs of yes, Ctrl-C after ${FLOOD_MS} ms`);
		for (let i = 0; i < samples; i++) {
			if (Date.now() > deadline) throw new Error('ctrl-c: out of time');
			terminal.mark();
			terminal.type('yes\r');
			await terminal.until((text) => text.includes('y\ny\ny'), 5_000, 'yes output');
			await sleep(FLOOD_MS);
			terminal.mark();
			const sent = performance.now();
			terminal.type('\x03');
			const back = await terminal.until(
				(text) => text.includes(prompt),
				PROMPT_TIMEOUT_MS,
				'the prompt after Ctrl-C',
			);
			times.push(back - sent);
			await sleep(200);
		}
		return times;
	} finally {
		await terminal.close();
	}
}
