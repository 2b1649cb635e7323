/**
 * What recording every terminal costs (recordings/), the `recordings` figure of run.ts.
 *
 * - Overhead: the bench's server (recordings on, as configured by default) against a server of
 *   its own with `RECORDINGS=0`, one lab each, in alternating rounds (the order swapped every
 *   round, so the machine's noise falls on both alike): each runs the echo figure (echo.ts) and
 *   one 67 MB throughput stream (throughput.ts). Before each of its rounds the recording lab's
 *   recordings are removed, so every round records from an empty file and a fresh lab budget:
 *   the stream is recorded up to the file's cap (1 MiB) and then dropped, which is what a
 *   learner's flood costs. Run while the bench's server has no other lab (run.ts runs it early),
 *   so that both servers carry one lab each; that lab is removed at the end.
 * - Size: a session typed into a fresh terminal of the same lab, key by key as a person types
 *   (each keystroke waits for its echo), of the guide's commands (checks/autopilot.ts's, the
 *   config as a heredoc) and the looking-around the course asks for (status, journal, addresses,
 *   a failover), and its recording's bytes. The course takes about an hour and a session that
 *   idles writes nothing, so this is the size of a typical hour's recording. The session takes
 *   some 20 s, 8 of them waiting for the failover's VRRP: the quick run leaves the failover out
 *   (130 of the 2,071 keys, and their output: under a tenth of the bytes), so that the tests'
 *   smoke run still types the rest.
 */
import { AUTOPILOT } from '../lab-server/src/checks/autopilot';
import { measureEcho } from './echo';
import { Harness, progress, type BenchLab } from './harness';
import type { Row } from './report-table';
import { round, summarize } from './stats';
import { measureThroughput } from './throughput';

export interface RecordingsPlan {
	rounds: number;
	echoPerRound: number;
	/** Whether the typed session ends with the failover (8 s of waiting for VRRP). */
	failover: boolean;
}

interface Side {
	/** Echo, ms. */
	echo: number[];
	/** Per round: echo p50, echo p99 (ms), the stream's MB/s (the round's pairing gives ratios). */
	rounds: { p50: number; p99: number; mbps: number }[];
}

export interface RecordingsResult {
	on: Side;
	off: Side;
	/** The typed session: its recording's bytes, its keystrokes, how long it took. */
	size: { bytes: number; keys: number; ms: number; failover: boolean };
}

/** A file's cap (the ring's size): an hour of a session must fit it many times over. */
const FILE_CAP_BYTES = 1024 * 1024;

/**
 * Starts a lab on the bench's server and removes it at the end, so the figures after this one
 * find the server as they would without it.
 */
export async function measureRecordings(
	harness: Harness,
	plan: RecordingsPlan,
	deadline: number,
): Promise<RecordingsResult> {
	if (!harness.server.recordings) {
		throw new Error("recordings: the bench's server records nothing (its config has them off)");
	}
	progress(`recordings: a server with RECORDINGS=0 beside the bench's, ${plan.rounds} rounds`);
	const { lab } = await harness.createLab();
	try {
		return await measureOnLab(harness, lab, plan, deadline);
	} finally {
		await harness.removeLab(lab);
	}
}

async function measureOnLab(
	harness: Harness,
	lab: BenchLab,
	plan: RecordingsPlan,
	deadline: number,
): Promise<RecordingsResult> {
	const recordings = harness.server.recordings!;
	const on: Side = { echo: [], rounds: [] };
	const off: Side = { echo: [], rounds: [] };
	const offHarness = await Harness.start(1, { env: { RECORDINGS: '0' } });
	try {
		const { lab: offLab } = await offHarness.createLab();
		const sides = [
			{ name: 'on', side: on, harness, lab },
			{ name: 'off', side: off, harness: offHarness, lab: offLab },
		];
		for (let r = 0; r < plan.rounds; r++) {
			for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
				progress(`recordings, round ${r + 1}/${plan.rounds}: recordings ${s.name}`);
				if (s.side === on) await recordings.removeLab(lab.id);
				const { times } = await measureEcho(s.harness, s.lab, plan.echoPerRound, 20, deadline);
				const [stream] = await measureThroughput(s.harness, s.lab, 1, deadline);
				const { p50, p99 } = summarize(times);
				s.side.echo.push(...times);
				s.side.rounds.push({ p50, p99, mbps: stream!.mbps });
			}
		}
	} finally {
		await offHarness.cleanup();
	}
	await recordings.removeLab(lab.id);

	const typed = await typedSession(harness, lab, plan.failover, deadline);
	return { on, off, size: { ...typed, failover: plan.failover } };
}

/** What a learner types besides the guide's own commands (hap1's side of the course). */
function sessionCommands(vip: string, failover: boolean): string[] {
	const guide = AUTOPILOT.flatMap((action) =>
		action.stdin
			? action.commands.map(
					(c) => `${c} <<'EOF'\n${action.stdin!({ addresses: { vip } } as never).trimEnd()}\nEOF`,
				)
			: action.commands,
	);
	return [
		'ip -br a',
		...guide,
		'sudo systemctl status keepalived --no-pager',
		`ip a show eth0 | grep ${vip}`,
		'sudo journalctl -u keepalived -n 20 --no-pager',
		...(failover
			? [
					'sudo systemctl stop haproxy',
					'sleep 8; ip -br a show eth0',
					'sudo systemctl start haproxy',
					'sudo journalctl -u keepalived -n 10 --no-pager',
				]
			: []),
	];
}

async function typedSession(
	harness: Harness,
	lab: BenchLab,
	failover: boolean,
	deadline: number,
): Promise<{ bytes: number; keys: number; ms: number }> {
	const terminal = harness.openTerminal(lab, 'hap1', 'bench-session');
	const started = performance.now();
	let keys = 0;
	try {
		await terminal.prompt('hap1', 30_000);
		const vip = lab.vip.split('/')[0]!;
		for (const command of sessionCommands(vip, failover)) {
			if (Date.now() > deadline) throw new Error('recordings: out of time typing the session');
			progress(`recordings, session: ${command.split('\n')[0]}`);
			for (const key of `${command}\r`.replaceAll('\n', '\r')) {
				terminal.mark();
				terminal.type(key);
				keys++;
				// Each key waits for what it prints (its echo, or the command's output): a person's pace.
				await terminal.until(() => terminal.text.length > 0, 120_000, 'the echo').catch(() => 0);
			}
			await terminal.until((text) => text.includes('ubuntu@hap1:~$'), 180_000, 'the prompt');
		}
	} finally {
		await terminal.close();
	}
	const file = await harness.server.recordings!.file({
		labId: lab.id,
		node: 'hap1',
		term: 'bench-session',
	});
	if (!file) throw new Error('recordings: the typed session left no recording');
	return { bytes: file.bytes, keys, ms: performance.now() - started };
}

/** Each round's on ÷ off, then their median: the machine's noise moves both of a round alike. */
export function recordingsRatios(result: RecordingsResult) {
	const ratio = (figure: 'p50' | 'p99' | 'mbps') =>
		summarize(result.on.rounds.map((r, i) => r[figure] / result.off.rounds[i]![figure])).p50;
	return { echoP50: ratio('p50'), echoP99: ratio('p99'), throughput: ratio('mbps') };
}

export function recordingsRows(result: RecordingsResult): Row[] {
	const { on, off, size } = result;
	const r = recordingsRatios(result);
	const echo = { on: summarize(on.echo), off: summarize(off.echo) };
	const mbps = {
		on: summarize(on.rounds.map((x) => x.mbps)),
		off: summarize(off.rounds.map((x) => x.mbps)),
	};
	const rounds = `${on.rounds.length} alternating rounds`;
	const ms = (value: number) => `${round(value)} ms`;
	const kib = (bytes: number) => `${round(bytes / 1024)} KiB`;
	return [
		{
			figure: `echo p50, recordings on vs off (n=${echo.on.n} each, ${rounds})`,
			p50: `${ms(echo.on.p50)} vs ${ms(echo.off.p50)}`,
			tail: `×${round(r.echoP50)} (rounds' median on ÷ off)`,
			target: '–',
			met: '–',
		},
		{
			figure: `echo p99, recordings on vs off (n=${echo.on.n} each)`,
			p50: `${ms(echo.on.p99)} vs ${ms(echo.off.p99)}`,
			tail: `×${round(r.echoP99)}`,
			target: '–',
			met: '–',
		},
		{
			figure: `throughput median, recordings on vs off (runs=${mbps.on.n} each)`,
			p50: `${round(mbps.on.p50)} vs ${round(mbps.off.p50)} MB/s`,
			tail: `×${round(r.throughput)}`,
			target: '–',
			met: '–',
		},
		{
			figure: `recording of an hour: the guide's session typed${size.failover ? '' : ' but its failover'} (${size.keys} keys, ${round(size.ms / 1000)} s)`,
			p50: kib(size.bytes),
			tail: `${round(size.bytes / size.keys)} B a keystroke`,
			target: '≤ 1 MiB an hour (a file’s cap)',
			met: size.bytes <= FILE_CAP_BYTES ? 'yes' : 'NO',
		},
	];
}

/** The ratios (on ÷ off) and the hour's size for `--json`. */
export function recordingsJson(result: RecordingsResult, value: (x: number) => number | null) {
	const r = recordingsRatios(result);
	return {
		recordingsEchoP50Ratio: value(r.echoP50),
		recordingsEchoP99Ratio: value(r.echoP99),
		recordingsThroughputRatio: value(r.throughput),
		recordingKiBPerHour: value(result.size.bytes / 1024),
	};
}
