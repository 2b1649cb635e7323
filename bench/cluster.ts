/**
 * `npm run bench -- --cluster [--quick] [--json]`: what the hub costs (README «Roles: hub and
 * agents»). One agent (`ROLE=agent`, this machine's engine) and one hub, each a process of its
 * own as in a cluster; every figure is measured on the same agent straight (with the agent key)
 * and through the hub, alternating, so the difference is the hub's hop alone:
 * - lab ready: POST /api/labs → both prompts (goal: the hub adds ≤ 50 ms);
 * - echo: one keystroke's round trip on an idle terminal (goal: p99 through the hub ≤ 1.2×);
 * - the hub's memory per 100 terminals it routes (its RSS before and with them open).
 */
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
	AGENT_KEY_HEADER,
	AGENT_SESSION_HEADER,
	LAB_NODES,
	type CreatedLab,
} from '../lab-server/src/api';
import { loadConfig } from '../lab-server/src/config/config';
import { connectDocker, pingDocker } from '../lab-server/src/docker/engine';
import { ensureHostFirewall } from '../lab-server/src/docker/host-firewall';
import { ensureNodeImage } from '../lab-server/src/docker/images';
import { busyShare, hostCpuTimes } from '../lab-server/src/lib/cpu-load';
import { sha256 } from '../lab-server/src/lib/hash';
import { startAgent, startHub, type Started } from '../lab-server/testing/cluster-processes';
import { removeServerLabs } from '../lab-server/testing/test-labs';
import { progress } from './harness';
import { table } from './report-table';
import { round, summarize, type Summary } from './stats';
import { BenchTerminal, sleep } from './terminal';

const KEYS = 'abcdefghijklmnopqrstuvwxyz';
const PROMPT_MS = 30_000;

type Way = 'direct' | 'hub';

export async function runClusterBench(argv: readonly string[]): Promise<number> {
	const quick = argv.includes('--quick');
	const json = argv.includes('--json');
	const readySamples = quick ? 2 : 8;
	const echoKeys = quick ? 60 : 600;
	const routedTerminals = quick ? 20 : 100;

	const socket = loadConfig(process.env).dockerSocket;
	const docker = connectDocker(socket);
	await pingDocker(docker, socket);
	await ensureHostFirewall();
	const image = await ensureNodeImage(docker, (event) => progress(`[images] ${event.message}`), {
		debianMirror: loadConfig(process.env).debianMirror,
	});
	const dir = await mkdtemp(path.join(tmpdir(), 'klab-bench-cluster-'));
	const agentDir = path.join(dir, 'agent');
	const key = randomBytes(32).toString('base64url');
	let agent: Started | null = null;
	let hub: Started | null = null;
	const terminals: BenchTerminal[] = [];
	try {
		agent = await startAgent({
			address: '127.0.0.1',
			port: 0,
			socket,
			agentId: 'bch',
			key,
			stateDir: agentDir,
			image,
			env: {
				MAX_LABS_PER_CLIENT: '100',
				LAB_CREATE_PER_MINUTE: '10000',
				TERMINALS_PER_LAB: '64',
				LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
			},
		});
		const direct = `127.0.0.1:${agent.port}`;
		hub = await startHub({ agents: [`http://${direct}`], key, stateDir: path.join(dir, 'hub') });
		const via = { direct, hub: `127.0.0.1:${hub.port}` } as const;
		const keyHeaders = { [AGENT_KEY_HEADER]: key };
		const open = (way: Way, lab: CreatedLab, node: string, term: string) => {
			const terminal = new BenchTerminal(`ws://${via[way]}/api/labs/${lab.id}/terminals/${node}`, {
				token: lab.token,
				term,
				...(way === 'direct' ? { headers: keyHeaders } : {}),
			});
			terminals.push(terminal);
			return terminal;
		};

		// Lab ready, alternating the way in.
		const ready: Record<Way, number[]> = { direct: [], hub: [] };
		const labs: CreatedLab[] = [];
		progress(`cluster lab-ready: ${readySamples} labs each way, alternating`);
		for (let i = 0; i < 2 * readySamples; i++) {
			const way: Way = i % 2 === 0 ? 'hub' : 'direct';
			const t0 = performance.now();
			const res = await fetch(`http://${via[way]}/api/labs`, {
				method: 'POST',
				headers:
					way === 'direct' ? { ...keyHeaders, [AGENT_SESSION_HEADER]: sha256(`bench-${i}`) } : {},
			});
			if (res.status !== 201) throw new Error(`POST /api/labs (${way}) answered ${res.status}`);
			const lab = (await res.json()) as CreatedLab;
			labs.push(lab);
			await Promise.all(
				LAB_NODES.map((node) => open(way, lab, node, 'main').prompt(node, PROMPT_MS)),
			);
			ready[way].push(performance.now() - t0);
			progress(`  ${way}: ${Math.round(ready[way].at(-1)!)} ms`);
		}

		// Echo on one lab, a terminal each way, rounds alternating.
		const lab = labs[0]!;
		const echo: Record<Way, number[]> = { direct: [], hub: [] };
		const echoTerms = {
			direct: open('direct', lab, 'hap1', 'echo-d'),
			hub: open('hub', lab, 'hap1', 'echo-h'),
		};
		await Promise.all(Object.values(echoTerms).map((t) => t.prompt('hap1', PROMPT_MS)));
		// Every keystroke goes both ways, one right after the other (which first alternates), so
		// both see the same machine: the 16 labs just booted, the engine's own work. The p99 of
		// a few hundred samples is a handful of the slowest: hence the count.
		await untilQuiet();
		progress(`cluster echo: ${echoKeys} keystrokes each way, interleaved`);
		for (let i = 0; i < echoKeys; i++) {
			const k = KEYS[i % KEYS.length]!;
			for (const way of i % 2 === 0 ? (['hub', 'direct'] as const) : (['direct', 'hub'] as const)) {
				const terminal = echoTerms[way];
				terminal.mark();
				const sent = performance.now();
				const arrived = terminal.until((text) => text.includes(k), 2_000, `echo of "${k}"`);
				terminal.type(k);
				echo[way].push((await arrived) - sent);
				await sleep(20);
			}
			if (k === KEYS.at(-1)) {
				for (const terminal of Object.values(echoTerms)) terminal.type('\x15');
				await sleep(100);
			}
		}

		// The hub's memory with `routedTerminals` terminals open through it.
		const before = await rssKb(hub.child.pid!);
		progress(`cluster hub memory: ${routedTerminals} terminals through the hub`);
		const routed: BenchTerminal[] = [];
		for (let i = 0; i < routedTerminals; i++) {
			const target = labs[i % labs.length]!;
			const node = LAB_NODES[i % 2]!;
			routed.push(open('hub', target, node, `idle-${i}`));
		}
		await Promise.all(routed.map((t, i) => t.prompt(LAB_NODES[i % 2]!, 60_000)));
		await sleep(1_000);
		const withThem = await rssKb(hub.child.pid!);
		const per100Kb = ((withThem - before) / routedTerminals) * 100;

		const summary = {
			labReady: { direct: summarize(ready.direct), hub: summarize(ready.hub) },
			echo: { direct: summarize(echo.direct), hub: summarize(echo.hub) },
			hubRssKb: { before, with: withThem, per100Terminals: Math.round(per100Kb) },
		};
		const added = summary.labReady.hub.p50 - summary.labReady.direct.p50;
		const ratio = summary.echo.hub.p99 / summary.echo.direct.p99;
		const ms = (s: Summary) => ({ p50: `${round(s.p50)} ms`, tail: `p99 ${round(s.p99)} ms` });
		const rows = [
			{ figure: 'lab ready, direct', ...ms(summary.labReady.direct), target: '', met: '' },
			{
				figure: 'lab ready, through the hub',
				...ms(summary.labReady.hub),
				target: '≤ direct + 50 ms (p50)',
				met: added <= 50 ? 'yes' : 'NO',
			},
			{ figure: 'echo, direct', ...ms(summary.echo.direct), target: '', met: '' },
			{
				figure: 'echo, through the hub',
				...ms(summary.echo.hub),
				target: '≤ 1.2× direct (p99)',
				met: ratio <= 1.2 ? 'yes' : 'NO',
			},
			{
				figure: `hub memory per 100 terminals`,
				p50: `${round(per100Kb / 1024)} MB`,
				tail: `RSS ${round(before / 1024)} → ${round(withThem / 1024)} MB`,
				target: '',
				met: '',
			},
		];
		console.log(table(rows).join('\n'));
		console.log(
			`\nthrough the hub: lab ready +${round(added)} ms (p50), echo p99 ×${round(ratio)} of direct`,
		);
		if (json) console.log(JSON.stringify({ cluster: summary }));
		return 0;
	} finally {
		for (const terminal of terminals) terminal.drop();
		await hub?.stop();
		await agent?.stop();
		await removeServerLabs(docker, agentDir);
		await rm(dir, { recursive: true, force: true });
	}
}

/** Waits (at most 30 s) for the host's CPUs to be under half busy over a second. */
async function untilQuiet(): Promise<void> {
	const deadline = Date.now() + 30_000;
	while (Date.now() < deadline) {
		const before = await hostCpuTimes();
		await sleep(1_000);
		const after = await hostCpuTimes();
		const share = before && after ? busyShare(before, after) : 0;
		if (share === null || share < 0.5) return;
		progress(`  waiting for a quieter host (${Math.round(share * 100)} % busy)`);
	}
}

async function rssKb(pid: number): Promise<number> {
	const status = await readFile(`/proc/${pid}/status`, 'utf8');
	return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN);
}
