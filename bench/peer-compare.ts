/**
 * Our terminal path against the peer's (peer.ts: node-pty + `docker exec -it`), on the same lab
 * node, in alternating rounds so that the machine's noise falls on both alike: each round runs
 * echo, one throughput stream and Ctrl-C on one path, then on the other, the order swapped every
 * round. Ratios are ours ÷ the peer's: below 1 is faster for latencies, above 1 for throughput.
 */
import { measureCtrlC } from './ctrlc';
import { measureEcho } from './echo';
import { progress, type Harness, type LabJson, type TerminalOpener } from './harness';
import { startPeer } from './peer';
import type { Row } from './report-table';
import { round, summarize } from './stats';
import { measureThroughput } from './throughput';

export interface PathFigures {
	echo: number[];
	/** MB/s, one per stream. */
	throughput: number[];
	ctrlc: number[];
}

export interface PeerResult {
	rounds: number;
	ours: PathFigures;
	peer: PathFigures;
}

export interface PeerPlan {
	rounds: number;
	echoPerRound: number;
	ctrlcPerRound: number;
}

export async function comparePeer(
	harness: Harness,
	lab: LabJson,
	plan: PeerPlan,
	deadline: number,
): Promise<PeerResult> {
	const peer = await startPeer((l, node) => harness.container(l, node));
	const result: PeerResult = {
		rounds: plan.rounds,
		ours: { echo: [], throughput: [], ctrlc: [] },
		peer: { echo: [], throughput: [], ctrlc: [] },
	};
	const paths: [keyof Omit<PeerResult, 'rounds'>, TerminalOpener][] = [
		['ours', harness],
		['peer', peer],
	];
	try {
		for (let round = 0; round < plan.rounds; round++) {
			for (const [name, opener] of round % 2 === 0 ? paths : [...paths].reverse()) {
				progress(`peer comparison, round ${round + 1}/${plan.rounds}: ${name}`);
				const figures = result[name];
				const echo = await measureEcho(opener, lab, plan.echoPerRound, 20, deadline);
				figures.echo.push(...echo.times);
				const [stream] = await measureThroughput(opener, lab, 1, deadline);
				figures.throughput.push(stream!.mbps);
				figures.ctrlc.push(...(await measureCtrlC(opener, lab, plan.ctrlcPerRound, deadline)));
			}
		}
	} finally {
		await peer.close();
	}
	return result;
}

/** One figure on both paths, and ours ÷ the peer's. */
export interface Compared {
	ours: number;
	peer: number;
	ratio: number;
	/** Samples on each path. */
	n: number;
}

/** Ours ÷ the peer's for each figure the issue names (target: ≤ 1 for times, ≥ 1 for MB/s). */
export function peerRatios(result: PeerResult) {
	const compare = (figures: keyof PathFigures, statistic: 'p50' | 'p95' | 'p99'): Compared => {
		const ours = summarize(result.ours[figures]);
		const peer = summarize(result.peer[figures]);
		return {
			ours: ours[statistic],
			peer: peer[statistic],
			ratio: ours[statistic] / peer[statistic],
			n: ours.n,
		};
	};
	return {
		echoP50: compare('echo', 'p50'),
		echoP99: compare('echo', 'p99'),
		throughput: compare('throughput', 'p50'),
		ctrlcP95: compare('ctrlc', 'p95'),
	};
}

export function peerRows(result: PeerResult): Row[] {
	const r = peerRatios(result);
	const ms = (value: number) => `${round(value)} ms`;
	const mbps = (value: number) => `${round(value)} MB/s`;
	const verdict = (ok: boolean) => (ok ? 'yes' : 'NO');
	const row = (
		figure: string,
		{ ours, peer, ratio, n }: Compared,
		unit: (value: number) => string,
		atMost: boolean,
	): Row => ({
		figure: `${figure}, ours vs node-pty peer (n=${n} each)`,
		p50: `${unit(ours)} vs ${unit(peer)}`,
		tail: `×${round(ratio)}`,
		target: atMost ? '≤ 1.0× the peer' : '≥ 1.0× the peer',
		met: verdict(atMost ? ratio <= 1 : ratio >= 1),
	});
	return [
		row('echo p50', r.echoP50, ms, true),
		row('echo p99', r.echoP99, ms, true),
		row('throughput median', r.throughput, mbps, false),
		row('Ctrl-C p95', r.ctrlcP95, ms, true),
	];
}

/** The ratios for `--json` (ours ÷ the peer's). */
export function peerJson(result: PeerResult, value: (x: number) => number | null) {
	const r = peerRatios(result);
	return {
		peerEchoP50Ratio: value(r.echoP50.ratio),
		peerEchoP99Ratio: value(r.echoP99.ratio),
		peerThroughputRatio: value(r.throughput.ratio),
		peerCtrlcP95Ratio: value(r.ctrlcP95.ratio),
	};
}
