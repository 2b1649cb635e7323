/**
 * `npm run bench [-- --quick] [-- --json] [-- --peer] [-- --dashboard] [-- --recordings]
 * [-- --only <figure>]`: the lab server's figures from the README's «Benchmarks» targets,
 * measured on a real server started here (127.0.0.1, port 0, a temporary STATE_DIR) with real
 * Docker and real WebSockets, against their targets.
 *
 * stdout gets the table and, with `--json`, one JSON object as its last line; progress goes to
 * stderr. Everything the run starts is removed at the end, after a failure and on Ctrl-C.
 *
 * Figures, in the order they run (later ones reuse the labs earlier ones started):
 * - `dashboard`, only with `--dashboard` (or `--only dashboard`): the live dashboard with 40
 *   learners joined through the API on a server of its own: a learner's step change → their row
 *   on the instructor's stream, and a fresh dashboard (GET, a new stream's first event)
 *   (dashboard.ts). Left out of the default runs, `--quick` included: its workshop boots 40 more
 *   labs (80 containers) beside the others; `--quick --dashboard` runs it with 4;
 * - `warm`: a lab from the warm pool, POST /api/labs → both prompts, on a server of its own with
 *   `WARM_LABS=2`, how soon the pool is full again, and a learner's echo while it refills (warm.ts);
 * - `recordings`, only with `--recordings` (or `--only recordings`): what recording every
 *   terminal costs: echo and a throughput stream in a lab of this server against one on a server
 *   of its own with `RECORDINGS=0`, in alternating rounds, and the size of an hour's recording,
 *   the guide's session typed key by key (`--quick`: without its failover) (recordings.ts).
 *   First among this server's figures, so that it carries that one lab only, as the other
 *   server does; the lab is removed after;
 * - `lab-ready`: POST /api/labs → both prompts, one lab at a time (lab-ready.ts);
 * - `echo`: keystroke echo with 50 idle terminals open (echo.ts);
 * - `throughput`: a 67 MB base64 stream into an ACKing client (throughput.ts);
 * - `ctrlc`: Ctrl-C during `yes` → prompt (ctrlc.ts);
 * - `noisy`: lab B's echo beside a lab running a fork bomb and `yes`, a new lab's boot beside
 *   it, and how fast a node over its disk quota is stopped (noisy.ts);
 * - `capacity`: 40 labs running keepalived: event-loop delay and memory per lab (capacity.ts);
 * - `resume`: a configured lab stopped and resumed, «Продолжить» → both prompts, and the disk a
 *   stopped lab takes (resume.ts).
 * - `peer`, only with `--peer`: echo, throughput and Ctrl-C on our terminal path and on the
 *   node-pty peer's (`docker exec -it`, peer.ts), alternating on one node, as ratios
 *   (peer-compare.ts).
 *
 * `--quick` is a smoke run (4 labs, fewer samples, about a minute); the full run takes about a
 * quarter of an hour, most of it installing keepalived in 80 nodes. The host must allow 40 labs:
 * `fs.inotify.max_user_instances` of at least ~600 (host-limits.ts says why and checks it first).
 * Env `LOG_LEVEL` sets the server's log level (default `warn`, to stderr);
 * `BENCH_TERMINAL_OPTIONS` tries terminal tuning (harness.ts).
 */
import { measureCapacity, memAvailableKb, type CapacityResult } from './capacity';
import { measureCtrlC } from './ctrlc';
import { measureDashboard, type DashboardResult } from './dashboard';
import { measureEcho } from './echo';
import type { HostSample } from './host-watch';
import { Harness, progress, type ReadySample } from './harness';
import { measureLabReady } from './lab-ready';
import { measureResume, type ResumeResult } from './resume';
import { measureNoisy, type NoisyResult } from './noisy';
import { round, summarize } from './stats';
import { table, type Row } from './report-table';
import { measureThroughput, type ThroughputRun } from './throughput';
import { comparePeer, peerJson, peerRows, type PeerPlan, type PeerResult } from './peer-compare';
import {
	measureRecordings,
	recordingsJson,
	recordingsRows,
	type RecordingsPlan,
	type RecordingsResult,
} from './recordings';
import { measureWarm, type WarmResult } from './warm';
import { runClusterBench } from './cluster';

const FIGURES = [
	'dashboard',
	'warm',
	'lab-ready',
	'echo',
	'throughput',
	'ctrlc',
	'noisy',
	'capacity',
	'resume',
	'peer',
	'recordings',
] as const;
type Figure = (typeof FIGURES)[number];
/** Figures that run only when asked for (`--peer`, `--dashboard`, `--recordings` or `--only`). */
const OPT_IN: ReadonlySet<Figure> = new Set(['peer', 'dashboard', 'recordings']);

interface Plan {
	quick: boolean;
	json: boolean;
	only: Set<Figure>;
	labReadySamples: number;
	warmSamples: number;
	/** Rounds of echo with the pool full, then refilling (60 keystrokes each). */
	warmEchoRounds: number;
	/** Labs in the pool while echo is measured; each has 2 idle terminals. */
	echoLabs: number;
	echoSamples: number;
	echoPauseMs: number;
	throughputRuns: number;
	ctrlcSamples: number;
	noisySamples: number;
	capacityLabs: number;
	capacityWindowMs: number;
	resumeSamples: number;
	dashboardLearners: number;
	dashboardRounds: number;
	peer: PeerPlan;
	recordings: RecordingsPlan;
	/** The whole run, cleanup excluded. */
	budgetMs: number;
}

function parseArgs(argv: readonly string[]): Plan {
	let quick = false;
	let json = false;
	/** The peer comparison runs only when asked for: it adds minutes, and a devDependency. */
	let peer = false;
	/** Likewise the dashboard's: its workshop boots a lab per learner (40) on top of the rest. */
	let dashboard = false;
	/** And the recordings': a second server, and the guide's session typed key by key. */
	let recordings = false;
	const only = new Set<Figure>();
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i]!;
		if (arg === '--quick') quick = true;
		else if (arg === '--json') json = true;
		else if (arg === '--peer') peer = true;
		else if (arg === '--dashboard') dashboard = true;
		else if (arg === '--recordings') recordings = true;
		else if (arg === '--only' || arg.startsWith('--only=')) {
			const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
			for (const name of (value ?? '').split(',')) {
				if (!FIGURES.includes(name as Figure)) {
					throw new TypeError(
						`--only: unknown figure "${name}"; expected one of ${FIGURES.map((f) => `"${f}"`).join(', ')}`,
					);
				}
				only.add(name as Figure);
			}
		} else {
			throw new TypeError(
				`unknown argument "${arg}"; usage: npm run bench -- [--quick] [--json] [--peer] [--dashboard] [--recordings] [--only ${FIGURES.join('|')}]`,
			);
		}
	}
	return {
		quick,
		json,
		only: new Set([
			...(only.size > 0 ? only : FIGURES.filter((f) => !OPT_IN.has(f))),
			...(peer ? (['peer'] as const) : []),
			...(dashboard ? (['dashboard'] as const) : []),
			...(recordings ? (['recordings'] as const) : []),
		]),
		labReadySamples: quick ? 4 : 20,
		warmSamples: quick ? 3 : 10,
		warmEchoRounds: quick ? 1 : 5,
		echoLabs: quick ? 4 : 25,
		echoSamples: quick ? 100 : 400,
		echoPauseMs: 20,
		throughputRuns: quick ? 1 : 3,
		ctrlcSamples: quick ? 5 : 20,
		noisySamples: quick ? 100 : 400,
		capacityLabs: quick ? 4 : 40,
		capacityWindowMs: quick ? 5_000 : 30_000,
		resumeSamples: quick ? 3 : 10,
		dashboardLearners: quick ? 4 : 40,
		dashboardRounds: quick ? 2 : 5,
		peer: { rounds: quick ? 2 : 6, echoPerRound: quick ? 50 : 100, ctrlcPerRound: quick ? 3 : 5 },
		// Quick: the fewest rounds that still swap the order, and no 8 s wait for a failover.
		recordings: { rounds: quick ? 2 : 10, echoPerRound: quick ? 40 : 150, failover: !quick },
		budgetMs: (quick ? 15 : 45) * 60_000,
	};
}

interface Results {
	warm?: WarmResult;
	labReady?: ReadySample[];
	echo?: number[];
	echoHost?: HostSample;
	echoIdleTerminals?: number;
	throughput?: ThroughputRun[];
	ctrlc?: number[];
	noisy?: NoisyResult;
	capacity?: CapacityResult;
	batchReady?: ReadySample[];
	resume?: ResumeResult;
	peer?: PeerResult;
	recordings?: RecordingsResult;
	dashboard?: DashboardResult;
	errors: { figure: Figure; message: string }[];
}

async function main(): Promise<number> {
	// The hub's cost, on processes of its own (cluster.ts): none of the figures below.
	if (process.argv.includes('--cluster')) return runClusterBench(process.argv.slice(2));
	const plan = parseArgs(process.argv.slice(2));
	const deadline = Date.now() + plan.budgetMs;
	const results: Results = { errors: [] };
	const memAtStart = await memAvailableKb();
	const wants = (figure: Figure) => plan.only.has(figure);
	const maxLabs =
		Math.max(
			wants('lab-ready') ? plan.labReadySamples : 0,
			wants('echo') ? plan.echoLabs : 0,
			wants('capacity') ? plan.capacityLabs : 0,
			1,
		) +
		2 +
		(wants('resume') ? 1 : 0);

	progress(
		`${plan.quick ? 'quick' : 'full'} run: ${[...plan.only].join(', ')} (at most ${maxLabs} labs)`,
	);
	let harness: Harness;
	try {
		harness = await Harness.start(maxLabs);
	} catch (error) {
		progress(`could not start: ${(error as Error).message}`);
		report(plan, results);
		return 1;
	}
	watchSignals(harness);
	const watchdog = setTimeout(
		() => {
			progress('out of time: cleaning up and exiting');
			void harness.cleanup().finally(() => process.exit(1));
		},
		plan.budgetMs + 5 * 60_000,
	);

	const run = async (figure: Figure, body: () => Promise<void>) => {
		if (!wants(figure) || harness.closing) return;
		try {
			await body();
		} catch (error) {
			const message = (error as Error).message;
			progress(`${figure} failed: ${message}`);
			results.errors.push({ figure, message });
		}
	};

	try {
		// First, while the main server has no labs: its own server boots one per learner.
		await run('dashboard', async () => {
			results.dashboard = await measureDashboard(
				plan.dashboardLearners,
				plan.dashboardRounds,
				deadline,
			);
		});
		await run('warm', async () => {
			results.warm = await measureWarm(plan.warmSamples, plan.warmEchoRounds, deadline);
		});
		// Next, while the main server has no lab: the server it is measured against has one too.
		await run('recordings', async () => {
			results.recordings = await measureRecordings(harness, plan.recordings, deadline);
		});
		await run('lab-ready', async () => {
			results.labReady = await measureLabReady(harness, plan.labReadySamples, deadline);
		});
		await run('echo', async () => {
			await harness.fill(plan.echoLabs, deadline);
			results.echoIdleTerminals = harness.labs.reduce((n, lab) => n + lab.terminals.length, 0);
			const { times, host } = await measureEcho(
				harness,
				harness.labs[0]!,
				plan.echoSamples,
				plan.echoPauseMs,
				deadline,
			);
			results.echo = times;
			results.echoHost = host;
		});
		await run('throughput', async () => {
			await harness.fill(1, deadline);
			results.throughput = await measureThroughput(
				harness,
				harness.labs[0]!,
				plan.throughputRuns,
				deadline,
			);
		});
		await run('ctrlc', async () => {
			await harness.fill(1, deadline);
			results.ctrlc = await measureCtrlC(harness, harness.labs[0]!, plan.ctrlcSamples, deadline);
		});
		await run('noisy', async () => {
			await harness.fill(1, deadline);
			results.noisy = await measureNoisy(harness, harness.labs[0]!, plan.noisySamples, deadline);
		});
		await run('capacity', async () => {
			results.capacity = await measureCapacity(
				harness,
				plan.capacityLabs,
				plan.capacityWindowMs,
				memAtStart,
				deadline,
			);
		});
		await run('peer', async () => {
			await harness.fill(1, deadline);
			results.peer = await comparePeer(harness, harness.labs[0]!, plan.peer, deadline);
		});
		await run('resume', async () => {
			results.resume = await measureResume(harness, plan.resumeSamples, deadline);
		});
		results.batchReady = harness.batchReady;
	} finally {
		clearTimeout(watchdog);
		await harness.cleanup();
	}
	report(plan, results);
	return results.errors.length > 0 ? 1 : 0;
}

function report(plan: Plan, results: Results): void {
	const labReady = results.labReady && summarize(results.labReady.map((s) => s.totalMs));
	const echo = results.echo && summarize(results.echo);
	const throughput = results.throughput && summarize(results.throughput.map((r) => r.mbps));
	const ctrlc = results.ctrlc && summarize(results.ctrlc);
	const capacity = results.capacity;

	const rows: Row[] = [];
	const ms = (value: number) => `${round(value)} ms`;
	const verdict = (ok: boolean) => (ok ? 'yes' : 'NO');
	const failed = (figure: Figure) => results.errors.find((e) => e.figure === figure);
	const missing = (figure: Figure, name: string, target: string) => {
		if (!plan.only.has(figure)) return;
		const error = failed(figure);
		rows.push({
			figure: name,
			p50: '–',
			tail: '–',
			target,
			met: error ? `failed: ${error.message.slice(0, 60)}` : 'not measured',
		});
	};

	const warmTarget = 'p50 ≤ 300 ms, p95 ≤ 600 ms';
	const warm = results.warm && summarize(results.warm.times.map((s) => s.totalMs));
	if (warm) {
		rows.push({
			figure: `lab from the warm pool, POST → both prompts (n=${warm.n})`,
			p50: `p50 ${ms(warm.p50)}`,
			tail: `p95 ${ms(warm.p95)}`,
			target: warmTarget,
			met: verdict(warm.p50 <= 300 && warm.p95 <= 600),
		});
	} else missing('warm', 'lab from the warm pool', warmTarget);
	const refillTarget = 'echo p99 ≤ 1.2× with the pool full';
	const refillEcho = results.warm && summarize(results.warm.echoRefilling);
	const fullEcho = results.warm && summarize(results.warm.echoQuiet);
	if (refillEcho && fullEcho) {
		const ratio = refillEcho.p99 / fullEcho.p99;
		rows.push({
			figure: `a learner's echo while two pool labs are taken (n=${refillEcho.n})`,
			p50: `p50 ${ms(refillEcho.p50)} (full ${ms(fullEcho.p50)})`,
			tail: `p99 ${ms(refillEcho.p99)} (full ${ms(fullEcho.p99)}): ×${round(ratio)}`,
			target: refillTarget,
			met: verdict(ratio <= 1.2),
		});
	} else missing('warm', "a learner's echo while the pool refills", refillTarget);
	const underWay = results.warm && summarize(results.warm.echoBootUnderWay);
	if (underWay && fullEcho) {
		rows.push({
			figure: `…typing starting while a pool lab boots (n=${underWay.n})`,
			p50: `p50 ${ms(underWay.p50)}`,
			tail: `p99 ${ms(underWay.p99)}: ×${round(underWay.p99 / fullEcho.p99)}`,
			target: '–',
			met: '–',
		});
	}

	const readyTarget = 'p50 ≤ 1500 ms, p95 ≤ 3000 ms';
	if (labReady) {
		rows.push({
			figure: `lab ready, POST → both prompts (n=${labReady.n})`,
			p50: `p50 ${ms(labReady.p50)}`,
			tail: `p95 ${ms(labReady.p95)}`,
			target: readyTarget,
			met: verdict(labReady.p50 <= 1500 && labReady.p95 <= 3000),
		});
	} else missing('lab-ready', 'lab ready, POST → both prompts', readyTarget);

	const echoTarget = 'p50 ≤ 5 ms, p99 ≤ 10 ms';
	if (echo) {
		rows.push({
			figure: `keystroke echo, ${results.echoIdleTerminals} idle terminals (n=${echo.n})`,
			p50: `p50 ${ms(echo.p50)}`,
			tail: `p99 ${ms(echo.p99)}`,
			target: echoTarget,
			met: verdict(echo.p50 <= 5 && echo.p99 <= 10),
		});
	} else missing('echo', 'keystroke echo', echoTarget);

	const throughputTarget = '≥ 25 MB/s';
	if (throughput) {
		rows.push({
			figure: `throughput, 67 MB base64 into ACKing client (runs=${throughput.n})`,
			p50: `median ${round(throughput.p50)} MB/s`,
			tail: `min ${round(throughput.min)} MB/s`,
			target: throughputTarget,
			met: verdict(throughput.p50 >= 25),
		});
	} else missing('throughput', 'throughput', throughputTarget);

	const ctrlcTarget = 'p95 ≤ 200 ms';
	if (ctrlc) {
		rows.push({
			figure: `Ctrl-C during yes → prompt (n=${ctrlc.n})`,
			p50: `p50 ${ms(ctrlc.p50)}`,
			tail: `p95 ${ms(ctrlc.p95)}`,
			target: ctrlcTarget,
			met: verdict(ctrlc.p95 <= 200),
		});
	} else missing('ctrlc', 'Ctrl-C → prompt', ctrlcTarget);

	const noisyTarget = 'echo p99 ≤ 2× quiet';
	if (results.noisy) {
		const quiet = summarize(results.noisy.quiet);
		const noisy = summarize(results.noisy.noisy);
		const ratio = noisy.p99 / quiet.p99;
		rows.push({
			figure: `lab B's echo beside a fork bomb + yes (n=${noisy.n})`,
			p50: `p50 ${ms(noisy.p50)} (quiet ${ms(quiet.p50)})`,
			tail: `p99 ${ms(noisy.p99)} (quiet ${ms(quiet.p99)}): ×${round(ratio)}`,
			target: noisyTarget,
			met: verdict(ratio <= 2),
		});
		rows.push({
			figure: 'a new lab beside the noisy one, POST → both prompts',
			p50: ms(results.noisy.bootMs),
			tail: '–',
			target: readyTarget,
			met: verdict(results.noisy.bootMs <= 3000),
		});
		const reaction = results.noisy.diskQuotaReactionMs;
		rows.push({
			figure: 'disk quota: write over NODE_DISK_MB → node stopped',
			p50: reaction === null ? "refused by Docker's quota" : ms(reaction),
			tail: '–',
			target: '≤ one watch interval (5 s)',
			met: verdict(reaction === null || reaction <= 5_500),
		});
	} else missing('noisy', 'noisy neighbour', noisyTarget);

	const memTarget = '≤ 120 MB per lab';
	const loopTarget = 'p99 ≤ 50 ms at 40 labs';
	if (capacity) {
		rows.push({
			figure: `memory per lab, ${capacity.labs} labs with keepalived`,
			p50: `${round(capacity.memory.perLabMb)} MB`,
			tail: `max lab ${round(capacity.memory.maxLabContainersMb)} MB`,
			target: memTarget,
			met:
				capacity.labs < 40
					? `${verdict(capacity.memory.perLabMb <= 120)} (only ${capacity.labs} labs share the server's RSS)`
					: verdict(capacity.memory.perLabMb <= 120),
		});
		rows.push({
			figure: `event-loop delay, ${capacity.labs} labs idle with keepalived`,
			p50: `p50 ${ms(capacity.idle.loop.p50)}`,
			tail: `p99 ${ms(capacity.idle.loop.p99)}`,
			target: loopTarget,
			met:
				capacity.labs < 40
					? `${verdict(capacity.idle.loop.p99 <= 50)} (only ${capacity.labs} labs)`
					: verdict(capacity.idle.loop.p99 <= 50),
		});
	} else {
		missing('capacity', 'memory per lab', memTarget);
		missing('capacity', 'event-loop delay', loopTarget);
	}

	const resumeTarget = 'as a new lab: p50 ≤ 1500 ms, p95 ≤ 3000 ms';
	if (results.resume) {
		const resume = summarize(results.resume.times);
		const disk = summarize(results.resume.diskMb);
		rows.push({
			figure: `«Продолжить» → both prompts, keepalived configured (n=${resume.n})`,
			p50: `p50 ${ms(resume.p50)}`,
			tail: `p95 ${ms(resume.p95)}`,
			target: resumeTarget,
			met: verdict(resume.p50 <= 1500 && resume.p95 <= 3000),
		});
		rows.push({
			figure: 'disk per stopped lab (both nodes’ writable layers)',
			p50: `${round(disk.p50)} MiB`,
			tail: `max ${round(disk.max)} MiB`,
			target: 'within LAB_KEEP_DISK_MB / labs kept',
			met: '–',
		});
	} else missing('resume', '«Продолжить» → both prompts', resumeTarget);

	const dashboardTarget = 'p95 ≤ 1000 ms (40 learners)';
	if (results.dashboard) {
		const d = results.dashboard;
		const update = summarize(d.updateMs);
		const get = summarize(d.getMs);
		const first = summarize(d.firstEventMs);
		rows.push({
			figure: `dashboard: a learner's step change → the instructor's stream, ${d.learners} learners (n=${update.n})`,
			p50: `p50 ${ms(update.p50)}`,
			tail: `p95 ${ms(update.p95)} / p99 ${ms(update.p99)}`,
			target: dashboardTarget,
			met:
				d.learners < 40
					? `${verdict(update.p95 <= 1000)} (only ${d.learners} learners)`
					: verdict(update.p95 <= 1000),
		});
		if (d.pageMs.length > 0) {
			const page = summarize(d.pageMs);
			rows.push({
				figure: `dashboard: a learner's step change → the instructor's page in Chromium, ${d.learners} learners (n=${page.n})`,
				p50: `p50 ${ms(page.p50)}`,
				tail: `p95 ${ms(page.p95)} / p99 ${ms(page.p99)}`,
				target: dashboardTarget,
				met:
					d.learners < 40
						? `${verdict(page.p95 <= 1000)} (only ${d.learners} learners)`
						: verdict(page.p95 <= 1000),
			});
		} else
			rows.push({
				figure: `dashboard: the instructor's page in Chromium: not measured (${d.pageSkipped})`,
				p50: '–',
				tail: '–',
				target: dashboardTarget,
				met: '–',
			});
		rows.push({
			figure: `dashboard: GET /api/workshops/:id, ${d.learners} learners (n=${get.n})`,
			p50: `p50 ${ms(get.p50)}`,
			tail: `p95 ${ms(get.p95)}`,
			target: '–',
			met: '–',
		});
		rows.push({
			figure: `dashboard: a new stream → its first event (the whole view) (n=${first.n})`,
			p50: `p50 ${ms(first.p50)}`,
			tail: `p95 ${ms(first.p95)}`,
			target: '–',
			met: '–',
		});
	} else missing('dashboard', "dashboard: a learner's change → the stream", dashboardTarget);

	if (results.peer) rows.push(...peerRows(results.peer));
	else missing('peer', 'terminal path vs the node-pty peer', '≤ 1.0× the peer');

	if (results.recordings) rows.push(...recordingsRows(results.recordings));
	else
		missing(
			'recordings',
			'recordings on vs off, and an hour’s size',
			'≤ 1 MiB an hour (a file’s cap)',
		);

	const notes: string[] = [];
	if (results.warm) {
		const post = summarize(results.warm.times.map((s) => s.postMs));
		const refill = summarize(results.warm.refillMs);
		const typing = summarize(results.warm.refillTypingMs);
		notes.push(
			`warm pool: POST p50 ${ms(post.p50)} / p95 ${ms(post.p95)}; a take → the pool full again p50 ${ms(refill.p50)} / max ${ms(refill.max)}; two taken while a learner types (the boots wait for a pause) → full again p50 ${ms(typing.p50)} / max ${ms(typing.max)}`,
		);
	}
	if (results.labReady) {
		const post = summarize(results.labReady.map((s) => s.postMs));
		const terminals = summarize(results.labReady.map((s) => s.terminalsMs));
		notes.push(
			`lab ready, parts: POST (both nodes boot) p50 ${ms(post.p50)} / p95 ${ms(post.p95)}; 201 → both prompts p50 ${ms(terminals.p50)} / p95 ${ms(terminals.p95)}`,
		);
	}
	if (results.batchReady && results.batchReady.length > 0) {
		const batch = summarize(results.batchReady.map((s) => s.totalMs));
		notes.push(
			`lab ready while starting 4 at once (pool filling, n=${batch.n}): p50 ${ms(batch.p50)} / p95 ${ms(batch.p95)} / max ${ms(batch.max)}`,
		);
	}
	if (echo) {
		notes.push(`echo: min ${ms(echo.min)}, p95 ${ms(echo.p95)}, max ${ms(echo.max)}`);
		if (results.echoHost) notes.push(`while echo ran: ${describeHost(results.echoHost)}`);
	}
	if (ctrlc) notes.push(`Ctrl-C: min ${ms(ctrlc.min)}, p99 ${ms(ctrlc.p99)}, max ${ms(ctrlc.max)}`);
	if (capacity) {
		const m = capacity.memory;
		notes.push(
			`capacity: keepalived installed in ${Math.round(capacity.installMs / 1000)} s; ${capacity.labsWithVip}/${capacity.labs} labs with a VIP holder`,
		);
		notes.push(
			`while ${capacity.labs} labs idled (${Math.round(capacity.idle.ms / 1000)} s): ${describeHost(capacity.idle)}`,
		);
		notes.push(
			`memory: containers ${round(m.containersPerLabMb)} MB/lab + server RSS ${round(m.serverRssMb)} MB / ${capacity.labs}${m.hostPerLabMb !== null && m.hostPerLabMb > 0 ? `; host MemAvailable fell ${round(m.hostPerLabMb)} MB/lab (shared host: indicative)` : ''}`,
		);
		notes.push(
			`while labs started and keepalived installed (${Math.round(capacity.busy.ms / 1000)} s): ${describeHost(capacity.busy)}`,
		);
	}
	if (results.dashboard) {
		const d = results.dashboard;
		notes.push(
			`dashboard: whole view ${round(d.viewBytes / 1024)} KB with ${d.learners} learners, a row ${Math.round(d.rowBytes)} B; ${round(d.eventsPerChange)} events per learner change; the pool booted ${d.learners} labs in ${Math.round(d.poolReadyMs / 1000)} s`,
		);
	}
	for (const { figure, message } of results.errors) notes.push(`${figure} FAILED: ${message}`);

	const lines = table(rows);
	process.stdout.write(
		`\nkeepalived-lab benchmarks (${plan.quick ? 'quick' : 'full'} run)\n\n${lines.join('\n')}\n`,
	);
	if (notes.length > 0) process.stdout.write(`\n${notes.map((n) => `  · ${n}`).join('\n')}\n`);
	if (plan.json) {
		const value = (x: number | undefined) =>
			x === undefined || !Number.isFinite(x) ? null : round(x);
		const json = {
			warmReadyP50Ms: value(warm?.p50),
			warmReadyP95Ms: value(warm?.p95),
			warmRefillEchoP99Ratio: value(refillEcho && fullEcho && refillEcho.p99 / fullEcho.p99),
			warmBootUnderWayEchoP99Ratio: value(underWay && fullEcho && underWay.p99 / fullEcho.p99),
			labReadyP50Ms: value(labReady?.p50),
			labReadyP95Ms: value(labReady?.p95),
			echoP50Ms: value(echo?.p50),
			echoP99Ms: value(echo?.p99),
			throughputMBps: value(throughput?.p50),
			ctrlcP95Ms: value(ctrlc?.p95),
			memPerLabMB: value(capacity?.memory.perLabMb),
			eventLoopP99Ms: value(capacity?.idle.loop.p99),
			noisyNeighbourEchoP99Ratio: results.noisy
				? value(summarize(results.noisy.noisy).p99 / summarize(results.noisy.quiet).p99)
				: null,
			noisyNeighbourBootMs: value(results.noisy?.bootMs),
			diskQuotaReactionMs: value(results.noisy?.diskQuotaReactionMs ?? undefined),
			resumeP50Ms: value(results.resume && summarize(results.resume.times).p50),
			resumeP95Ms: value(results.resume && summarize(results.resume.times).p95),
			stoppedLabDiskMiB: value(results.resume && summarize(results.resume.diskMb).p50),
			...(results.peer ? peerJson(results.peer, value) : {}),
			...(results.recordings ? recordingsJson(results.recordings, value) : {}),
			...(results.dashboard
				? {
						dashboardUpdateP50Ms: value(summarize(results.dashboard.updateMs).p50),
						dashboardUpdateP95Ms: value(summarize(results.dashboard.updateMs).p95),
						dashboardUpdateP99Ms: value(summarize(results.dashboard.updateMs).p99),
						dashboardGetP50Ms: value(summarize(results.dashboard.getMs).p50),
						dashboardFirstEventP50Ms: value(summarize(results.dashboard.firstEventMs).p50),
					}
				: {}),
		};
		process.stdout.write(`${JSON.stringify(json)}\n`);
	}
}

/** One line on the server's event loop, the host's noise and CPU during a measurement. */
function describeHost(host: HostSample): string {
	const ms = (value: number) => `${round(value)} ms`;
	const parts = [
		`server event loop p99 ${ms(host.loop.p99)} / max ${ms(host.loop.max)}`,
		host.control
			? `empty node process p99 ${ms(host.control.p99)} / max ${ms(host.control.max)} (host noise)`
			: 'no control process',
		`server CPU ${round(host.serverCpuPercent)} % of a core`,
	];
	if (host.hostCpuPercent !== null) parts.push(`host CPU ${round(host.hostCpuPercent)} % busy`);
	return parts.join(', ');
}

/** Ctrl-C or SIGTERM: remove what the run started, then exit; a second one exits at once. */
function watchSignals(harness: Harness): void {
	let stopping = false;
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
		process.on(signal, () => {
			if (stopping) {
				progress(`${signal} again: exiting without finishing cleanup`);
				process.exit(130);
			}
			stopping = true;
			progress(`${signal}: removing the bench's labs before exiting`);
			void harness.cleanup().finally(() => process.exit(130));
		});
	}
	const fatal = (error: unknown) => {
		progress(`fatal: ${(error as Error)?.stack ?? String(error)}`);
		if (stopping) return;
		stopping = true;
		void harness.cleanup().finally(() => process.exit(1));
	};
	process.on('uncaughtException', fatal);
	// A rejection nobody handled is the server's bug to report, not a reason to stop measuring.
	process.on('unhandledRejection', (error: unknown) =>
		progress(`unhandled rejection: ${(error as Error)?.stack ?? String(error)}`),
	);
}

main().then(
	(code) => process.exit(code),
	(error: unknown) => {
		progress(`failed: ${(error as Error).message}`);
		process.exit(error instanceof TypeError ? 2 : 1);
	},
);
