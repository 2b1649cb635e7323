/**
 * `npm run bench:recordings [-- --quick]`: what recording every terminal costs (recordings/).
 *
 * - Overhead: two servers in this process, one as configured (recordings on) and one with
 *   `RECORDINGS=0`, one lab each; in alternating rounds (the order swapped every round, so the
 *   machine's noise falls on both alike) each runs the echo figure (bench/echo.ts) and one
 *   67 MB throughput stream (bench/throughput.ts). Before each of its rounds the recording
 *   server's lab has its recordings removed, so every round records from an empty file and a
 *   fresh lab budget: the stream is recorded up to the file's cap (1 MiB) and then dropped,
 *   which is what a learner's flood costs.
 * - Size: a session typed into a fresh terminal, key by key as a person types (each keystroke
 *   waits for its echo), of the guide's commands (checks/autopilot.ts's, the config as a
 *   heredoc) and the looking-around the course asks for (status, journal, addresses, a
 *   failover); the recording's bytes are measured. The course takes about an hour, and a
 *   session that idles writes nothing, so this is the size of a typical hour's recording.
 *
 * stdout gets the figures; progress goes to stderr. Both servers' labs are removed at the end.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AUTOPILOT } from '../lab-server/src/checks/autopilot';
import { measureEcho } from './echo';
import { Harness, progress, type BenchLab } from './harness';
import { round, summarize } from './stats';
import { measureThroughput } from './throughput';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 10;
const ECHO_PER_ROUND = quick ? 60 : 150;
const deadline = Date.now() + (quick ? 10 : 30) * 60_000;

interface Side {
	name: 'on' | 'off';
	harness: Harness;
	lab: BenchLab;
	echo: number[];
	mbps: number[];
	/** Per round: echo p50, echo p99, throughput (the round's pairing gives the ratios). */
	rounds: { p50: number; p99: number; mbps: number }[];
}

/** What a learner types besides the guide's own commands (hap1's side of the course). */
function sessionCommands(vip: string): string[] {
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
		'sudo systemctl stop haproxy',
		'sleep 8; ip -br a show eth0',
		'sudo systemctl start haproxy',
		'sudo journalctl -u keepalived -n 10 --no-pager',
	];
}

async function typedSession(side: Side): Promise<{ bytes: number; keys: number; ms: number }> {
	const { harness, lab } = side;
	const terminal = harness.openTerminal(lab, 'hap1', 'bench-session');
	const started = performance.now();
	let keys = 0;
	try {
		await terminal.prompt('hap1', 30_000);
		const vip = lab.vip.split('/')[0]!;
		for (const command of sessionCommands(vip)) {
			progress(`session: ${command.split('\n')[0]}`);
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
	const file = path.join(harness.stateDir, 'recordings', lab.id, 'hap1-bench-session.cast');
	return { bytes: (await stat(file)).size, keys, ms: performance.now() - started };
}

async function main(): Promise<void> {
	const sides: Side[] = [];
	try {
		for (const name of ['on', 'off'] as const) {
			const harness = await Harness.start(2, name === 'off' ? { env: { RECORDINGS: '0' } } : {});
			const { lab } = await harness.createLab();
			sides.push({ name, harness, lab, echo: [], mbps: [], rounds: [] });
		}
		const [on, off] = sides as [Side, Side];
		for (let r = 0; r < ROUNDS; r++) {
			for (const side of r % 2 === 0 ? [on, off] : [off, on]) {
				progress(`round ${r + 1}/${ROUNDS}: recordings ${side.name}`);
				await side.harness.server.recordings?.removeLab(side.lab.id);
				const { times } = await measureEcho(side.harness, side.lab, ECHO_PER_ROUND, 20, deadline);
				side.echo.push(...times);
				const [stream] = await measureThroughput(side.harness, side.lab, 1, deadline);
				side.mbps.push(stream!.mbps);
				const { p50, p99 } = summarize(times);
				side.rounds.push({ p50, p99, mbps: stream!.mbps });
			}
		}
		await on.harness.server.recordings?.removeLab(on.lab.id);
		const session = await typedSession(on);

		const e = { on: summarize(on.echo), off: summarize(off.echo) };
		const t = { on: summarize(on.mbps), off: summarize(off.mbps) };
		// Each round's on ÷ off, then their median: the machine's noise moves both of a round alike.
		const ratio = (figure: 'p50' | 'p99' | 'mbps') =>
			round(summarize(on.rounds.map((r, i) => r[figure] / off.rounds[i]![figure])).p50);
		const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${round(((a - b) / b) * 100)} %`;
		console.log(
			`recordings overhead, ${ROUNDS} alternating rounds (on = recorded, off = RECORDINGS=0)`,
		);
		console.log(
			`  echo p50: on ${round(e.on.p50)} ms, off ${round(e.off.p50)} ms (${pct(e.on.p50, e.off.p50)}), n=${on.echo.length}`,
		);
		console.log(
			`  echo p99: on ${round(e.on.p99)} ms, off ${round(e.off.p99)} ms (${pct(e.on.p99, e.off.p99)})`,
		);
		console.log(
			`  throughput median: on ${round(t.on.p50)} MB/s, off ${round(t.off.p50)} MB/s (${pct(t.on.p50, t.off.p50)}), runs ${on.mbps.map(round).join(', ')} / ${off.mbps.map(round).join(', ')}`,
		);
		console.log(
			`  median of the rounds' on ÷ off: echo p50 ×${ratio('p50')}, echo p99 ×${ratio('p99')}, throughput ×${ratio('mbps')}`,
		);
		console.log(
			`recording size: the guide's session typed key by key: ${round(session.bytes / 1024)} KiB for ${session.keys} keystrokes in ${round(session.ms / 60_000)} min (${round(session.bytes / session.keys)} bytes a keystroke with its output)`,
		);
	} finally {
		for (const side of sides) await side.harness.cleanup();
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
