/**
 * What every benchmark stands on: a real lab server started in this process on 127.0.0.1 port 0
 * with a temporary STATE_DIR, real Docker, and a pool of labs created through `POST /api/labs`,
 * each with its two `main` terminals open. The harness remembers every lab id the server gave
 * back and removes exactly those at the end (`DELETE /api/labs/:id`, or `deprovisionLab` when
 * the API cannot), then the state dir: also after a failure or Ctrl-C (run.ts wires signals).
 *
 * Docker is shared with other people's servers and tests, so this server is kept from adopting
 * their labs at start-up (see `ownLabsOnly`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import pino from 'pino';
import { loadConfig } from '../lab-server/src/config/config';
import { testConfig } from '../lab-server/testing/test-config';
import { LABELS } from '../lab-server/src/docker/labels';
import { connectDocker, pingDocker } from '../lab-server/src/docker/engine';
import { ensureHostFirewall } from '../lab-server/src/docker/host-firewall';
import { ensureNodeImage } from '../lab-server/src/docker/images';
import { deprovisionLab } from '../lab-server/src/docker/provision';
import { LAB_NODES, type LabNode } from '../lab-server/src/api';
import { createLabServer, type LabServer } from '../lab-server/src/server';
import { TERMINAL_DEFAULTS, type TerminalOptions } from '../lab-server/src/terminals/options';
import { checkInotifyRoom, ensureInotifyLimit } from '../lab-server/src/docker/host-limits';
import { BenchTerminal, sleep, type TimedTerminal } from './terminal';

export interface LabJson {
	id: string;
	token: string;
	vip: string;
	subnet: string;
	nodes: { name: LabNode; ip: string; state: string }[];
}

export interface BenchLab extends LabJson {
	terminals: BenchTerminal[];
}

/** Who opens the terminals a measurement types into: the lab server (the harness) or the peer. */
export interface TerminalOpener {
	openTerminal(lab: LabJson, node: LabNode, term: string): TimedTerminal;
}

/** One `POST /api/labs` → both prompts, split into its parts (ms). */
export interface ReadySample {
	totalMs: number;
	/** POST until the 201 (the server boots both nodes meanwhile). */
	postMs: number;
	/** 201 until both terminals show the prompt. */
	terminalsMs: number;
}

/** Lab starts in flight at once when filling the pool: 2 cores, two systemd boots per lab. */
export const START_BATCH = 4;
const POST_TIMEOUT_MS = 90_000;
const PROMPT_TIMEOUT_MS = 30_000;
const DELETE_TIMEOUT_MS = 60_000;

const startedAt = performance.now();

/** Progress for the person watching: stderr, so stdout keeps only the table and the JSON. */
export function progress(message: string): void {
	const s = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
	process.stderr.write(`[bench ${s} s] ${message}\n`);
}

export class Harness {
	readonly docker: Docker;
	readonly server: LabServer;
	readonly base: string;
	readonly wsBase: string;
	readonly stateDir: string;
	readonly labs: BenchLab[] = [];
	/** Lab starts the bench saw, under START_BATCH-way concurrency (pool filling). */
	readonly batchReady: ReadySample[] = [];
	/** Ids the server handed back; the only labs `cleanup` removes. */
	readonly #ours = new Set<string>();
	readonly #tokens = new Map<string, string>();
	readonly #inFlight = new Set<Promise<unknown>>();
	readonly #extraTerminals = new Set<BenchTerminal>();
	#cleanup: Promise<void> | null = null;
	#closing = false;

	private constructor(docker: Docker, server: LabServer, port: number, stateDir: string) {
		this.docker = docker;
		this.server = server;
		this.base = `http://127.0.0.1:${port}`;
		this.wsBase = `ws://127.0.0.1:${port}`;
		this.stateDir = stateDir;
	}

	/**
	 * Docker up, host firewall rules in place, node image present, server listening; `warmLabs`
	 * labs booted ahead (none unless asked: the other figures time cold starts).
	 */
	static async start(
		maxLabs: number,
		/**
		 * `env`: more of the server's environment (the recordings figure's `RECORDINGS=0`);
		 * `siteDir`: the built site to serve too (the dashboard's page figure).
		 */
		options: { warmLabs?: number; env?: Record<string, string>; siteDir?: string } = {},
	): Promise<Harness> {
		const socket = loadConfig(process.env).dockerSocket;
		const docker = connectDocker(socket);
		await pingDocker(docker, socket);
		// Without its DOCKER-USER rule VRRP adverts never cross a lab bridge (both nodes MASTER).
		await ensureHostFirewall();
		// As `npm start` does: make room for the labs under root's inotify limit.
		await ensureInotifyLimit(maxLabs);
		const image = await ensureNodeImage(docker, (event) => progress(`[images] ${event.message}`), {
			debianMirror: loadConfig(process.env).debianMirror,
		});
		const stateDir = await mkdtemp(path.join(tmpdir(), 'klab-bench-'));
		const config = testConfig({
			STATE_DIR: stateDir,
			DOCKER_SOCKET: socket,
			MAX_LABS: String(maxLabs),
			// Every POST comes without a cookie, i.e. from a new browser session; set high anyway
			// so that the limit can never be what a benchmark measures.
			MAX_LABS_PER_CLIENT: '100',
			// The bench starts labs back to back: the creation rate is not what it measures.
			LAB_CREATE_PER_MINUTE: '10000',
			WARM_LABS: String(options.warmLabs ?? 0),
			LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
			...options.env,
		});
		const log = pino({ level: config.logLevel, base: undefined }, pino.destination(2));
		const terminal = terminalOptions();
		if (terminal)
			progress(`terminal options from BENCH_TERMINAL_OPTIONS: ${JSON.stringify(terminal)}`);
		const server = createLabServer({
			config,
			log,
			image,
			siteDir: options.siteDir ?? null,
			docker: ownLabsOnly(docker),
			...(terminal ? { terminal } : {}),
		});
		try {
			const { port } = await server.start();
			progress(`lab server on 127.0.0.1:${port}, image ${image}, STATE_DIR ${stateDir}`);
			return new Harness(docker, server, port, stateDir);
		} catch (error) {
			await rm(stateDir, { recursive: true, force: true });
			throw error;
		}
	}

	/** True once cleanup has begun (Ctrl-C, a fatal error, or the end of the run). */
	get closing(): boolean {
		return this.#closing;
	}

	/** Tracks a promise until it settles, so cleanup can wait for lab starts still in flight. */
	#track<T>(promise: Promise<T>): Promise<T> {
		this.#inFlight.add(promise);
		void promise.then(
			() => this.#inFlight.delete(promise),
			() => this.#inFlight.delete(promise),
		);
		return promise;
	}

	/** `POST /api/labs`, then both `main` terminals to the prompt; the lab joins the pool. */
	async createLab(): Promise<{ lab: BenchLab; sample: ReadySample }> {
		if (this.#closing) throw new Error('the bench is stopping: no new labs');
		const t0 = performance.now();
		const lab = await this.#track(this.#post());
		const t1 = performance.now();
		const benchLab: BenchLab = { ...lab, terminals: [] };
		this.labs.push(benchLab);
		const prompts = LAB_NODES.map(async (node) => {
			const terminal = this.openTerminal(benchLab, node, 'main');
			benchLab.terminals.push(terminal);
			return terminal.prompt(node, PROMPT_TIMEOUT_MS);
		});
		const t2 = Math.max(...(await Promise.all(prompts)));
		return { lab: benchLab, sample: { totalMs: t2 - t0, postMs: t1 - t0, terminalsMs: t2 - t1 } };
	}

	async #post(): Promise<LabJson> {
		const res = await fetch(`${this.base}/api/labs`, {
			method: 'POST',
			signal: AbortSignal.timeout(POST_TIMEOUT_MS),
		});
		const body = await res.text();
		if (res.status !== 201) {
			throw new Error(`POST /api/labs answered ${res.status}: ${body.slice(0, 300)}`);
		}
		const lab = JSON.parse(body) as LabJson;
		this.#ours.add(lab.id);
		this.#tokens.set(lab.id, lab.token);
		return lab;
	}

	/** A terminal on one of the pool's labs; `term` names a separate shell on that node. */
	openTerminal(lab: LabJson, node: LabNode, term: string): BenchTerminal {
		const terminal = new BenchTerminal(`${this.wsBase}/api/labs/${lab.id}/terminals/${node}`, {
			token: lab.token,
			term,
		});
		if (term !== 'main') {
			this.#extraTerminals.add(terminal);
			void terminal.client.closed.then(() => this.#extraTerminals.delete(terminal));
		}
		return terminal;
	}

	/** Grows the pool to `count` labs, START_BATCH at a time. */
	async fill(count: number, deadline: number): Promise<void> {
		if (this.labs.length >= count) return;
		await checkInotifyRoom(count - this.labs.length);
		progress(`starting labs: ${this.labs.length} → ${count}, ${START_BATCH} at a time`);
		for (let round = 0; this.labs.length < count; round++) {
			if (Date.now() > deadline) throw new Error(`pool of ${count} labs not ready in time`);
			if (round > count) throw new Error('too many rounds filling the lab pool');
			const batch = Math.min(START_BATCH, count - this.labs.length);
			const results = await Promise.all(Array.from({ length: batch }, () => this.createLab()));
			for (const { sample } of results) this.batchReady.push(sample);
			progress(
				`  ${this.labs.length}/${count} labs up (this batch: ${results.map((r) => Math.round(r.sample.totalMs)).join(', ')} ms)`,
			);
		}
	}

	/** GET /api/labs/:id as the learner's page would. */
	async labState(lab: LabJson): Promise<{
		vipHolder: LabNode | null;
		nodes: { name: LabNode; keepalived: string }[];
	}> {
		const res = await fetch(`${this.base}/api/labs/${lab.id}`, {
			headers: { authorization: `Bearer ${lab.token}` },
			signal: AbortSignal.timeout(10_000),
		});
		if (res.status !== 200) throw new Error(`GET /api/labs/${lab.id} answered ${res.status}`);
		return (await res.json()) as never;
	}

	/** «Завершить»: the lab's terminals closed, the lab deleted through the API. */
	async removeLab(lab: BenchLab): Promise<void> {
		for (const terminal of lab.terminals) terminal.drop();
		this.labs.splice(this.labs.indexOf(lab), 1);
		await this.#delete(lab.id);
	}

	/** The container id of a lab's node (from the server's own lab record). */
	container(lab: LabJson, node: LabNode): string {
		const found = this.server.labs.get(lab.id);
		if (!found) throw new Error(`lab "${lab.id}" is not on the bench's server`);
		return found.containers[node];
	}

	/**
	 * Removes every lab this bench created and the state dir, and stops the server. Idempotent:
	 * the signal handlers and the normal end of a run may both call it.
	 */
	cleanup(): Promise<void> {
		this.#cleanup ??= this.#doCleanup();
		return this.#cleanup;
	}

	async #doCleanup(): Promise<void> {
		// From here on no lab starts: a figure still running fails instead of adding one, and no
		// warm pool boots one behind the labs removed below.
		this.#closing = true;
		await this.server.pools.close();
		if (this.#inFlight.size > 0) {
			progress(`cleanup: waiting for ${this.#inFlight.size} lab start(s) in flight`);
			await Promise.race([Promise.allSettled([...this.#inFlight]), sleep(POST_TIMEOUT_MS)]);
		}
		for (const terminal of this.#extraTerminals) terminal.drop();
		const removed = new Set<string>();
		const failed = new Set<string>();
		// Labs the server started for a POST whose answer never arrived are ours too: nobody
		// else talks to this server (loopback, a port picked at random), and it adopted none.
		const pending = () => {
			for (const lab of this.server.labs.list()) this.#ours.add(lab.id);
			return [...this.#ours].filter((id) => !removed.has(id) && !failed.has(id));
		};
		for (let round = 0, ids = pending(); ids.length > 0 && round < 3; round++, ids = pending()) {
			progress(`cleanup: removing ${ids.length} lab(s)`);
			for (let i = 0; i < ids.length; i += START_BATCH) {
				await Promise.all(
					ids.slice(i, i + START_BATCH).map((id) => this.#remove(id, removed, failed)),
				);
			}
		}
		for (const lab of this.labs) for (const terminal of lab.terminals) terminal.drop();
		await Promise.race([this.server.stop(), sleep(30_000)]).catch((error: unknown) =>
			progress(`cleanup: server stop failed: ${(error as Error).message}`),
		);
		// Belt and braces: a lab whose DELETE answered but whose removal raced a reaper, and a
		// warm pool's lab that finished booting while the server stopped.
		for (const lab of this.server.labs.list()) this.#ours.add(lab.id);
		for (const id of [...this.#ours]) {
			const left = await this.docker.listContainers({
				all: true,
				filters: JSON.stringify({ label: [`${LABELS.lab}=${id}`] }),
			});
			if (left.length > 0) await this.#remove(id, removed, failed, false);
		}
		await rm(this.stateDir, { recursive: true, force: true });
		if (failed.size > 0) {
			progress(`cleanup: could NOT remove lab(s) ${[...failed].join(', ')}: remove them by hand`);
		} else progress(`cleanup: done, ${removed.size} lab(s) and ${this.stateDir} removed`);
	}

	/** DELETE through the API (what a learner's «Завершить» does), else straight from Docker. */
	async #remove(id: string, removed: Set<string>, failed: Set<string>, viaApi = true) {
		try {
			if (!viaApi) throw new Error('server stopped');
			await this.#delete(id);
			removed.add(id);
		} catch (error) {
			if (viaApi) {
				progress(`cleanup: DELETE ${id} failed (${(error as Error).message}); removing directly`);
			}
			await deprovisionLab(this.docker, id).then(
				() => {
					removed.add(id);
					failed.delete(id);
				},
				() => failed.add(id),
			);
		}
	}

	async #delete(id: string): Promise<void> {
		const token = this.#tokens.get(id);
		// A warm pool's lab nobody took: nobody has its token, the server ends it.
		const waiting = this.server.warm.has(id) ? this.server.labs.get(id) : undefined;
		if (waiting) return this.server.labs.end(waiting, 'deleted');
		if (!token) throw new Error('no token (its POST never answered)');
		const res = await fetch(`${this.base}/api/labs/${id}`, {
			method: 'DELETE',
			headers: { authorization: `Bearer ${token}` },
			signal: AbortSignal.timeout(DELETE_TIMEOUT_MS),
		});
		if (res.status !== 204 && res.status !== 404) throw new Error(`answered ${res.status}`);
	}
}

/**
 * Terminal tuning to try without touching the server (`createLabServer`'s `terminal` option):
 * env `BENCH_TERMINAL_OPTIONS`, JSON such as `{"batchMs":2,"highWatermark":1048576}`; unset uses
 * the server's defaults, which is what the figures are about.
 */
function terminalOptions(): Partial<TerminalOptions> | null {
	const raw = process.env.BENCH_TERMINAL_OPTIONS;
	if (!raw) return null;
	const parsed = JSON.parse(raw) as Record<string, unknown>;
	const known = Object.keys(TERMINAL_DEFAULTS);
	for (const [key, value] of Object.entries(parsed)) {
		if (!known.includes(key) || typeof value !== 'number') {
			throw new TypeError(
				`BENCH_TERMINAL_OPTIONS: "${key}" is not a terminal option; expected numbers for ${known.join(', ')}`,
			);
		}
	}
	return parsed as Partial<TerminalOptions>;
}

/**
 * The Docker client the bench's server gets: the same engine, except that the one query asking
 * for *every* lab-labelled network and container (what `adopt()` runs at start-up) answers with
 * none. Otherwise this server would adopt other people's labs on the shared engine, and remove
 * any of theirs that happen to be half-started at that moment (labs.ts, `adopt`).
 */
function ownLabsOnly(docker: Docker): Docker {
	const everyLab = JSON.stringify({ label: [LABELS.lab] });
	const isEveryLab = (options: unknown) =>
		(options as { filters?: unknown } | undefined)?.filters === everyLab;
	return new Proxy(docker, {
		get(target, property, receiver) {
			if (property === 'listContainers' || property === 'listNetworks') {
				const original = Reflect.get(target, property, receiver) as (
					options?: unknown,
				) => Promise<unknown[]>;
				return (options?: unknown) =>
					isEveryLab(options) ? Promise.resolve([]) : original.call(target, options);
			}
			const value = Reflect.get(target, property, receiver) as unknown;
			return typeof value === 'function' ? value.bind(target) : value;
		},
	});
}
