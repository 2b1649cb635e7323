/**
 * Workshops (issue 6): an instructor opens one for a class; learners join with a short code and
 * get a lab at once, because the workshop keeps a pool of labs already booted for them.
 *
 * Data and lifecycle:
 * - a workshop has `seats` (learners it takes) and `pool` (labs kept booted and waiting). Its labs
 *   are ordinary labs (labs.ts) labelled with the workshop's id and owned by the session hash
 *   `workshop:<id>`; the pool is refilled in the background, a few labs at a time, so that
 *   learners + waiting + starting never exceed `seats`, nor the host's `MAX_LABS`;
 * - joining hands a waiting lab over (no container starts on join) and records the learner's
 *   name, browser session hash and time; the same browser session joining again gets the same
 *   lab back (or a fresh one from the pool if theirs has ended);
 * - waiting labs are never reaped as idle (`isPooled`); they still end at their TTL and are
 *   replaced;
 * - the dashboard reads what is already known: node state from the observers, the latest check
 *   results from each lab's `check` events, the last terminal input from the lab manager — it
 *   runs nothing per request, so 30 learners cost nothing to watch;
 * - kept in memory and in `STATE_DIR/workshops.json` (atomic write, mode 0600: it holds the
 *   tokens of the labs not yet handed out or handed out, so a restart can still hand them
 *   out and give a rejoining learner their token; the instructor's token is kept only as its
 *   SHA-256). Labs come back by themselves (labs.ts adopts them by their labels).
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { bearer, instructorToken } from '../http/auth';
import type { CheckWatcher } from '../checks/watcher';
import { CHECKS } from '../checks/specs';
import { readStepChecks } from '../course/steps';
import type { CheckResult } from '../api';
import type { Clock } from '../lib/clock';
import type { Config } from '../config/config';
import { HttpError } from '../http/errors';
import { sha256 } from '../lib/hash';
import { vipHolder, type Lab } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import { LAB_NODES, type LabNode } from '../api';

/** Pool labs started at once over all workshops: two cores boot about three labs well. */
const REFILL_AT_ONCE = 3;
/** After a failed start or with the host full, try again this much later. */
const REFILL_RETRY_MS = 10_000;
/** Join codes: no 0/O, 1/I/L, so a code read aloud or off a projector is typed right. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 6;
const DEFAULT_TITLE = 'Воркшоп «Настройка KeepAlived»';

export interface WorkshopManagerDeps {
	labs: LabManager;
	config: Config;
	clock: Clock;
	log: Logger;
	/** The lab's check watcher (check-runner.ts), to seed results of labs adopted after a restart. */
	checks: (labId: string) => CheckWatcher | undefined;
	/** Course steps (`content/steps`), for the step a learner reached. Default: the course's own. */
	stepsDir?: string;
}

interface Learner {
	name: string;
	sessionHash: string;
	labId: string;
	/** The lab's token, to hand the same lab back on a rejoin. */
	token: string;
	joinedAt: number;
}

export interface Workshop {
	id: string;
	code: string;
	title: string;
	seats: number;
	pool: number;
	createdAt: number;
	instructorTokenHash: string;
	learners: Learner[];
	/** Booted labs waiting for a learner: lab id → token. */
	ready: Map<string, string>;
	starting: number;
	ended: boolean;
}

interface SavedWorkshop extends Omit<Workshop, 'ready' | 'starting' | 'ended'> {
	ready: { labId: string; token: string }[];
}

/** `GET /api/workshops/:id` (contracts.md «Workshops»). */
export interface WorkshopView {
	id: string;
	code: string;
	title: string;
	seats: number;
	pool: { ready: number; starting: number };
	expiresAt: string;
	learners: LearnerView[];
}

export interface LearnerView {
	name: string;
	labId: string;
	joinedAt: string;
	lastActivity: string | null;
	step: { order: number; title: string } | null;
	failing: { id: string; message: string } | null;
	vipHolder: LabNode | null;
	/** Empty once the learner's lab has ended (expired, deleted); `expiresAt` is then null. */
	nodes: { name: LabNode; keepalived: string; state: string }[];
	expiresAt: string | null;
}

export class WorkshopManager {
	#workshops = new Map<string, Workshop>();
	/** Latest check result per lab and check, from the labs' `check` events. */
	#results = new Map<string, Map<string, CheckResult>>();
	#startingTotal = 0;
	/** Pool labs booting now: `close` waits for them, so none is left behind unrecorded. */
	#inflight = new Set<Promise<void>>();
	#retryTimer: unknown = null;
	#closed = false;
	#stateWrite: Promise<void> = Promise.resolve();
	#steps: Map<string, { slug: string; order: number; title: string }>;
	#deps: WorkshopManagerDeps;

	constructor(deps: WorkshopManagerDeps) {
		this.#deps = deps;
		this.#steps = readStepChecks(
			deps.stepsDir ?? fileURLToPath(new URL('../../../content/steps/', import.meta.url)),
		);
	}

	/** Whether the lab waits in a pool for a learner (the reaper must not end it as idle). */
	isPooled(labId: string): boolean {
		for (const workshop of this.#workshops.values()) if (workshop.ready.has(labId)) return true;
		return false;
	}

	/** `POST /api/workshops`: the caller must have shown the instructor secret (`authorizeCreate`). */
	create(input: { title?: string; pool: number; seats?: number }) {
		const id = randomId();
		const instructorToken = randomBytes(32).toString('base64url');
		const workshop: Workshop = {
			id,
			code: this.#newCode(),
			title: input.title ?? DEFAULT_TITLE,
			seats: input.seats ?? input.pool,
			pool: input.pool,
			createdAt: this.#deps.clock.now(),
			instructorTokenHash: sha256(instructorToken),
			learners: [],
			ready: new Map(),
			starting: 0,
			ended: false,
		};
		this.#workshops.set(id, workshop);
		void this.#writeState();
		this.#deps.log.info(
			{ workshopId: id, pool: workshop.pool, seats: workshop.seats },
			'workshop created',
		);
		this.#refill();
		return {
			id,
			code: workshop.code,
			title: workshop.title,
			instructorToken,
			instructorUrl: `/instructor/#${id}.${instructorToken}`,
		};
	}

	/**
	 * `POST /api/workshops/:code/join`: a booted lab from the pool, or the one this browser
	 * session already has. Throws 404 for an unknown code, 409 when every seat is taken, 503 while
	 * the pool is still filling.
	 */
	join(
		code: string,
		name: string,
		sessionHash: string,
	): { lab: Lab; token: string; again: boolean } {
		const { labs, clock, log } = this.#deps;
		const wanted = normalizeCode(code);
		const workshop = [...this.#workshops.values()].find((w) => w.code === wanted);
		if (!workshop) {
			throw new HttpError(
				404,
				'workshop-not-found',
				`Воркшопа с кодом «${code}» нет. Проверьте код у преподавателя.`,
			);
		}
		const known = workshop.learners.find((l) => l.sessionHash === sessionHash);
		const current = known && labs.get(known.labId);
		if (known && current) {
			known.name = name;
			void this.#writeState();
			return { lab: current, token: known.token, again: true };
		}
		if (!known && workshop.learners.length >= workshop.seats) {
			throw new HttpError(
				409,
				'workshop-full',
				`Все места на воркшопе заняты (${workshop.seats}). Попросите преподавателя добавить мест.`,
			);
		}
		const taken = this.#takeFromPool(workshop);
		if (!taken) {
			this.#refill();
			throw new HttpError(
				503,
				'pool-refilling',
				'Стенды для воркшопа ещё запускаются. Попробуйте ещё раз через 15–30 секунд.',
			);
		}
		const { lab, token } = taken;
		const joinedAt = clock.now();
		if (known) Object.assign(known, { name, labId: lab.id, token, joinedAt });
		else workshop.learners.push({ name, sessionHash, labId: lab.id, token, joinedAt });
		// The idle timeout counts from the hand-over, not from when the lab was booted.
		labs.touch(lab);
		void this.#writeState();
		log.info({ workshopId: workshop.id, labId: lab.id, again: Boolean(known) }, 'learner joined');
		this.#refill();
		return { lab, token, again: false };
	}

	/** `GET /api/workshops/:id`: who is where, from what is already known (nothing is run). */
	view(workshop: Workshop): WorkshopView {
		const { labs, config } = this.#deps;
		const live = [
			...workshop.learners.map((l) => labs.get(l.labId)),
			...[...workshop.ready.keys()].map((id) => labs.get(id)),
		].filter((lab): lab is Lab => lab !== undefined && lab.workshop === workshop.id);
		const expiresAt = live.length
			? Math.max(...live.map((lab) => lab.expiresAt))
			: workshop.createdAt + config.labTtlMs;
		return {
			id: workshop.id,
			code: workshop.code,
			title: workshop.title,
			seats: workshop.seats,
			pool: { ready: workshop.ready.size, starting: workshop.starting },
			expiresAt: new Date(expiresAt).toISOString(),
			learners: workshop.learners.map((learner) => this.#learnerView(learner)),
		};
	}

	/** A learner's lab in this workshop (for the instructor's «Сбросить»), or 404. */
	learnerLab(workshop: Workshop, labId: string): Lab {
		const lab = workshop.learners.some((l) => l.labId === labId)
			? this.#deps.labs.get(labId)
			: undefined;
		if (!lab) {
			throw new HttpError(
				404,
				'lab-not-found',
				'Стенда слушателя с таким адресом на этом воркшопе нет: возможно, он уже завершён.',
			);
		}
		return lab;
	}

	/** `POST /api/workshops/:id/extend`: every lab of the workshop, as far as its cap allows. */
	async extend(workshop: Workshop): Promise<{ extended: number }> {
		let extended = 0;
		for (const lab of this.#labsOf(workshop)) {
			try {
				await this.#deps.labs.extend(lab);
				extended++;
			} catch (error) {
				// At its lifetime cap already: the others still get extended.
				if (!(error instanceof HttpError && error.code === 'extend-limit')) throw error;
			}
		}
		return { extended };
	}

	/** `DELETE /api/workshops/:id`: every lab removed, the pool stops, the workshop is forgotten. */
	async end(workshop: Workshop): Promise<void> {
		workshop.ended = true;
		this.#workshops.delete(workshop.id);
		await this.#writeState();
		const labs = this.#labsOf(workshop);
		// One at a time: removing 30 labs at once would stall the host for everyone else.
		for (const lab of labs) await this.#deps.labs.end(lab, 'workshop-ended');
		this.#deps.log.info({ workshopId: workshop.id, labs: labs.length }, 'workshop ended');
	}

	/** `Authorization: Bearer <INSTRUCTOR_SECRET>`, compared in constant time: 401, 403 or 503. */
	authorizeCreate(req: IncomingMessage): void {
		this.#enabled();
		const token = bearer(req);
		if (!token) throw new HttpError(401, 'unauthorized', 'Нужен секрет преподавателя.');
		if (!this.#isSecret(token)) {
			throw new HttpError(403, 'forbidden', 'Секрет преподавателя не подходит.');
		}
	}

	/**
	 * The workshop, if the request carries its instructor token (Bearer or the
	 * `klab_instructor_<id>` cookie) or the instructor secret itself: 404, 401 or 403 otherwise.
	 */
	authorizeInstructor(workshopId: string, req: IncomingMessage): Workshop {
		this.#enabled();
		const workshop = this.#workshops.get(workshopId);
		if (!workshop) {
			throw new HttpError(
				404,
				'workshop-not-found',
				'Воркшоп не найден: возможно, он уже завершён.',
			);
		}
		const token = instructorToken(req, workshopId);
		if (!token)
			throw new HttpError(401, 'unauthorized', 'Нужен ключ преподавателя этого воркшопа.');
		if (!sameHash(sha256(token), workshop.instructorTokenHash) && !this.#isSecret(token)) {
			throw new HttpError(403, 'forbidden', 'Этот ключ не открывает этот воркшоп.');
		}
		return workshop;
	}

	/** For read-only terminals: the lab, if the request is from its workshop's instructor. */
	authorizeViewer(req: IncomingMessage, labId: string): Lab {
		const lab = this.#deps.labs.get(labId);
		if (!lab) {
			throw new HttpError(404, 'lab-not-found', 'Стенд не найден: возможно, его время истекло.');
		}
		if (!lab.workshop) {
			throw new HttpError(403, 'forbidden', 'Смотреть можно только терминалы стендов воркшопа.');
		}
		this.authorizeInstructor(lab.workshop, req);
		return lab;
	}

	/**
	 * After `labs.adopt()`: the workshops saved by the previous server, with their labs (those
	 * still running), and the pools topped up again.
	 */
	async restore(): Promise<void> {
		const { labs, log } = this.#deps;
		const saved = await this.#readState();
		for (const s of saved) {
			const workshop: Workshop = {
				...s,
				ready: new Map(
					s.ready
						.filter(({ labId }) => labs.get(labId)?.workshop === s.id)
						.map(({ labId, token }) => [labId, token]),
				),
				starting: 0,
				ended: false,
			};
			this.#workshops.set(workshop.id, workshop);
		}
		for (const lab of labs.list()) {
			const workshop = lab.workshop ? this.#workshops.get(lab.workshop) : undefined;
			if (!workshop) continue;
			const known = workshop.ready.has(lab.id) || workshop.learners.some((l) => l.labId === lab.id);
			if (!known) {
				// Booted just before the previous server stopped, its token unsaved: nobody can
				// ever open it.
				await labs.end(lab, 'workshop-ended');
				continue;
			}
			this.#track(lab);
			this.#deps
				.checks(lab.id)
				?.runNow()
				.then((results) => {
					for (const result of results) this.#results.get(lab.id)?.set(result.id, result);
				})
				.catch(() => undefined);
		}
		await this.#writeState();
		log.info({ workshops: this.#workshops.size }, 'workshops restored');
		this.#refill();
	}

	get(workshopId: string): Workshop | undefined {
		return this.#workshops.get(workshopId);
	}

	/**
	 * Server stopping: no more refills; labs still booting are waited for and recorded, the state
	 * is saved, and the labs stay for the next server to hand out.
	 */
	async close(): Promise<void> {
		this.#closed = true;
		if (this.#retryTimer !== null) this.#deps.clock.clearTimeout(this.#retryTimer);
		this.#retryTimer = null;
		await Promise.allSettled([...this.#inflight]);
		await this.#writeState();
	}

	#learnerView(learner: Learner): LearnerView {
		const { labs } = this.#deps;
		const lab = labs.get(learner.labId);
		const results = this.#results.get(learner.labId);
		let step: LearnerView['step'] = null;
		let failing: LearnerView['failing'] = null;
		for (const check of CHECKS) {
			const result = results?.get(check.id);
			const info = this.#steps.get(check.id);
			if (result?.status === 'pass' && info && (step === null || info.order > step.order)) {
				step = { order: info.order, title: info.title };
			}
			if (result?.status === 'fail' && failing === null) {
				failing = { id: check.id, message: result.message };
			}
		}
		const lastActivity = lab ? labs.lastActivity(lab.id) : null;
		return {
			name: learner.name,
			labId: learner.labId,
			joinedAt: new Date(learner.joinedAt).toISOString(),
			lastActivity: lastActivity === null ? null : new Date(lastActivity).toISOString(),
			step,
			failing,
			vipHolder: lab ? vipHolder(lab) : null,
			nodes: lab
				? LAB_NODES.map((name) => ({
						name,
						keepalived: lab.nodes[name].keepalived,
						state: lab.nodes[name].state,
					}))
				: [],
			expiresAt: lab ? new Date(lab.expiresAt).toISOString() : null,
		};
	}

	#takeFromPool(workshop: Workshop): { lab: Lab; token: string } | null {
		for (const [labId, token] of workshop.ready) {
			workshop.ready.delete(labId);
			const lab = this.#deps.labs.get(labId);
			if (lab) return { lab, token };
		}
		return null;
	}

	#labsOf(workshop: Workshop): Lab[] {
		return this.#deps.labs.list().filter((lab) => lab.workshop === workshop.id);
	}

	/** Starts pool labs wherever a workshop is short, at most REFILL_AT_ONCE at a time overall. */
	#refill(): void {
		const { labs, config } = this.#deps;
		if (this.#closed) return;
		let short = false;
		for (const workshop of this.#workshops.values()) {
			// A workshop left open is not a reason to keep booting labs forever: past the labs'
			// lifetime cap from its start, its pool is no longer replenished.
			if (this.#deps.clock.now() >= workshop.createdAt + config.labMaxLifetimeMs) continue;
			const target = Math.min(workshop.pool, workshop.seats - workshop.learners.length);
			while (workshop.ready.size + workshop.starting < target) {
				if (this.#startingTotal >= REFILL_AT_ONCE) break;
				if (labs.load >= config.maxLabs) {
					short = true;
					break;
				}
				this.#startPoolLab(workshop);
			}
		}
		if (short) this.#retryLater();
	}

	#startPoolLab(workshop: Workshop): void {
		const { labs, clock, log } = this.#deps;
		workshop.starting++;
		this.#startingTotal++;
		const started = clock.now();
		const booting = labs
			.create({ sessionHash: `workshop:${workshop.id}`, workshop: workshop.id })
			.then(async ({ lab, token }) => {
				if (workshop.ended || this.#workshops.get(workshop.id) !== workshop) {
					await labs.end(lab, 'workshop-ended');
					return;
				}
				this.#track(lab);
				workshop.ready.set(lab.id, token);
				await this.#writeState();
				log.info(
					{ workshopId: workshop.id, labId: lab.id, ms: clock.now() - started },
					'pool lab ready',
				);
			})
			.catch((error: unknown) => {
				log.warn({ workshopId: workshop.id, err: error }, 'pool lab could not start');
				this.#retryLater();
			})
			.finally(() => {
				workshop.starting--;
				this.#startingTotal--;
				this.#inflight.delete(booting);
				this.#refill();
			});
		this.#inflight.add(booting);
	}

	#retryLater(): void {
		if (this.#retryTimer !== null || this.#closed) return;
		this.#retryTimer = this.#deps.clock.setTimeout(() => {
			this.#retryTimer = null;
			this.#refill();
		}, REFILL_RETRY_MS);
	}

	/** Follows a workshop lab: its check results, and its end (a pool lab is then replaced). */
	#track(lab: Lab): void {
		const results = new Map<string, CheckResult>();
		this.#results.set(lab.id, results);
		lab.events.on('check', (result: CheckResult) => results.set(result.id, result));
		lab.events.once('ended', () => {
			this.#results.delete(lab.id);
			const workshop = lab.workshop ? this.#workshops.get(lab.workshop) : undefined;
			if (workshop?.ready.delete(lab.id)) {
				void this.#writeState();
				this.#refill();
			}
		});
	}

	#newCode(): string {
		const used = new Set([...this.#workshops.values()].map((w) => w.code));
		for (;;) {
			const code = Array.from(
				{ length: CODE_LENGTH },
				() => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)],
			).join('');
			if (!used.has(code)) return code;
		}
	}

	#enabled(): void {
		if (this.#deps.config.instructorSecret === undefined) {
			throw new HttpError(
				503,
				'workshops-disabled',
				'Воркшопы выключены: на сервере не задан INSTRUCTOR_SECRET. Попросите администратора задать его (см. README).',
			);
		}
	}

	#isSecret(token: string): boolean {
		const secret = this.#deps.config.instructorSecret;
		return secret !== undefined && sameHash(sha256(token), sha256(secret));
	}

	async #readState(): Promise<SavedWorkshop[]> {
		try {
			return JSON.parse(await readFile(this.#statePath(), 'utf8')) as SavedWorkshop[];
		} catch {
			return [];
		}
	}

	/** Serialized, atomic (write + rename) and private to the server's user. */
	#writeState(): Promise<void> {
		this.#stateWrite = this.#stateWrite
			.then(async () => {
				const state: SavedWorkshop[] = [...this.#workshops.values()].map((w) => ({
					id: w.id,
					code: w.code,
					title: w.title,
					seats: w.seats,
					pool: w.pool,
					createdAt: w.createdAt,
					instructorTokenHash: w.instructorTokenHash,
					learners: w.learners,
					ready: [...w.ready].map(([labId, token]) => ({ labId, token })),
				}));
				const file = this.#statePath();
				await mkdir(path.dirname(file), { recursive: true });
				await writeFile(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
				await rename(`${file}.tmp`, file);
			})
			.catch((error: unknown) =>
				this.#deps.log.error({ err: error }, 'could not save workshop state'),
			);
		return this.#stateWrite;
	}

	#statePath(): string {
		return path.resolve(this.#deps.config.stateDir, 'workshops.json');
	}
}

/** `abc-def`, `ABCDEF`, ` abc def ` → `ABCDEF`. */
export function normalizeCode(code: string): string {
	return code.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

function sameHash(a: string, b: string): boolean {
	const x = Buffer.from(a, 'hex');
	const y = Buffer.from(b, 'hex');
	return x.length === y.length && timingSafeEqual(x, y);
}

/** Ten characters from [a-z0-9], like a lab id. */
function randomId(): string {
	const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from({ length: 10 }, () => alphabet[randomInt(alphabet.length)]).join('');
}
