/**
 * Output throughput into a client that ACKs every frame as it receives it: the shell prints a
 * 67 MB base64 stream (as in wetty's measurement) and the clock runs from the Enter key until
 * the prompt is back. Bytes are what arrived as OUTPUT, the TTY's added carriage returns
 * included; MB here is 10^6 bytes.
 */
import { progress, type LabJson, type TerminalOpener } from './harness';
import { sleep } from './terminal';

export const STREAM_BYTES = 67_000_000;
const RUN_TIMEOUT_MS = 180_000;

export interface ThroughputRun {
	bytes: number;
	ms: number;
	mbps: number;
	/** OUTPUT frames the bytes came in. */
	frames: number;
}

export async function measureThroughput(
	opener: TerminalOpener,
	lab: LabJson,
	runs: number,
	deadline: number,
): Promise<ThroughputRun[]> {
	const terminal = opener.openTerminal(lab, 'hap2', 'bench-throughput');
	const prompt = 'ubuntu@hap2:~$';
	try {
		await terminal.prompt('hap2', 30_000);
		const results: ThroughputRun[] = [];
		for (let run = 0; run < runs; run++) {
			if (Date.now() > deadline) throw new Error('throughput: out of time');
			const command = `base64 /dev/urandom | head -c ${STREAM_BYTES}; echo`;
			terminal.mark();
			terminal.type(command);
			await terminal.until((text) => text.includes(command), 10_000, 'the command echo');
			await sleep(100);
			terminal.mark();
			const before = terminal.received;
			const framesBefore = terminal.frames;
			const started = performance.now();
			terminal.type('\r');
			const ended = await terminal.until(
				(text) => text.includes(prompt),
				Math.min(RUN_TIMEOUT_MS, Math.max(1_000, deadline - Date.now())),
				'the prompt after the stream',
			);
			const bytes = terminal.received - before;
			const ms = ended - started;
			const frames = terminal.frames - framesBefore;
			results.push({ bytes, ms, mbps: bytes / 1e6 / (ms / 1000), frames });
			progress(
				`throughput run ${run + 1}/${runs}: ${(bytes / 1e6).toFixed(1)} MB in ${Math.round(ms)} ms = ${(bytes / 1e3 / ms).toFixed(1)} MB/s, ${frames} frames of ${Math.round(bytes / frames / 1024)} KiB on average`,
			);
			if (bytes < STREAM_BYTES) throw new Error(`throughput: only ${bytes} bytes arrived`);
			await sleep(300);
		}
		return results;
	} finally {
		await terminal.close();
	}
}
