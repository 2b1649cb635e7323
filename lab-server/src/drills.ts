/**
 * Failure drills (issue 5, «Учения»): break a running keepalived pair on purpose and report what
 * the cluster did. A drill acts on the node that holds the VIP when it starts (its `target`).
 *
 * Lifecycle, per lab (kept here in memory, in a WeakMap keyed by the lab):
 * - `startDrill(ctx, name)` validates first (a known drill, nothing else active, keepalived
 *   MASTER/BACKUP on both nodes, exactly one VIP holder): a refusal changes nothing. It then
 *   applies the drill and answers; what happened next arrives on `lab.events` as `drill` events:
 *   `applied` (the action took effect), then `outcome` (what the cluster did, in Russian, with the
 *   VIP holders and keepalived states), or `failed`.
 * - Every step that changes something records how to undo it as soon as it has succeeded, so
 *   `restore` undoes exactly what was done, even after a half-applied drill. `restore` also sweeps
 *   what can be recognised without that record (a paused node, a node off the lab network, this
 *   module's tc filters, the intruder), so it helps after a server restart too; it ends with a
 *   `restored` event once exactly one node holds the VIP again.
 *
 * Only one drill at a time per lab: another is refused with 409 until `restore`.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { z } from 'zod';
import { systemClock, type Clock } from './clock';
import {
	execInNode,
	isNotFound,
	LABELS,
	networkName,
	removeNode,
	startNode,
	waitForBoot,
	type ExecResult,
} from './docker';
import { HttpError } from './http-errors';
import type { Lab } from './labs';
import { KEEPALIVED_STATES, type KeepalivedState } from './lab-state';
import { LAB_NODES, type LabNode } from './provision';

export const DRILLS = [
	'stop-haproxy',
	'kill-keepalived',
	'freeze-node',
	'cut-network',
	'block-vrrp',
	'vrid-conflict',
	'restore',
] as const;
export type DrillName = (typeof DRILLS)[number];
/** The drills that break something (everything but `restore`). */
export type FailureDrill = Exclude<DrillName, 'restore'>;

/** A refused drill: `status` and `code` for the HTTP answer, the message in Russian. */
export class DrillError extends HttpError {
	constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
		super(status, code, message, options);
		// HttpError pins its name; logs should say which kind of refusal this is.
		Object.defineProperty(this, 'name', { value: 'DrillError' });
	}
}

/** What drills use of a lab (labs.ts `Lab` has it all). */
export type DrillLab = Pick<Lab, 'id' | 'addresses' | 'containers' | 'events'>;

export interface DrillContext {
	docker: Docker;
	lab: DrillLab;
	log: Logger;
	/** For timestamps and the waits between polls; the system clock by default. */
	clock?: Clock;
}

/** The data of a `drill` event on `lab.events`. */
export interface DrillEvent {
	drill: DrillName;
	phase: 'applied' | 'outcome' | 'restored' | 'failed';
	target: LabNode;
	/** What happened, in Russian, for the learner. */
	detail: string;
	/** ISO time of the event. */
	at: string;
	/** `outcome` and `restored`: whether the cluster did what the drill is meant to show. */
	ok?: boolean;
	/** `outcome`: milliseconds from `applied` until the outcome was seen (polled every 250 ms). */
	ms?: number;
	/** Nodes that had the VIP on eth0 when the event was sent (a frozen node counts if it had it). */
	holders?: LabNode[];
	/** keepalived's state per node (`frozen` for a paused node). */
	states?: Partial<Record<LabNode, KeepalivedState | 'frozen' | 'unknown'>>;
	/** `vrid-conflict` outcome: the node that logged the guide's error, and the log line. */
	node?: LabNode;
	line?: string;
}

export interface DrillStarted {
	drill: DrillName;
	target: LabNode;
	startedAt: string;
}

/** What the page shows about drills on a lab. */
export interface DrillStateView {
	active: {
		drill: FailureDrill;
		target: LabNode;
		startedAt: string;
		phase: 'applying' | 'applied' | 'outcome' | 'failed';
		detail: string | null;
	} | null;
	/** A drill is being validated or applied, or `restore` is running. */
	busy: boolean;
}

export function isDrillName(name: string): name is DrillName {
	return (DRILLS as readonly string[]).includes(name);
}

/** Polling period while waiting for an outcome. */
const POLL_MS = 250;
/** How long each drill's outcome is awaited before reporting that it did not come. */
const OUTCOME_TIMEOUT_MS: Record<FailureDrill, number> = {
	'stop-haproxy': 20_000,
	'kill-keepalived': 20_000,
	'freeze-node': 20_000,
	'cut-network': 20_000,
	'block-vrrp': 20_000,
	// The intruder boots and installs keepalived from the offline repository first (~10 s).
	'vrid-conflict': 120_000,
};
const RESTORE_TIMEOUT_MS = 20_000;
/** tc filter preference of this module's filters: `restore` deletes exactly these. */
const TC_PREF = 112;
/** The intruder's own VIP: in the lab's /24, used by nothing else (see subnets.ts). */
const INTRUDER_VIP_HOST = 31;
const STATUS = '/usr/local/lib/keepalived-lab/status';
const GUIDE_ERROR = 'not present in MASTER advert';

type Undo =
	| { kind: 'start-haproxy'; node: LabNode }
	| { kind: 'start-keepalived'; node: LabNode }
	| { kind: 'unpause'; node: LabNode }
	| { kind: 'reconnect'; node: LabNode }
	| { kind: 'remove-tc'; node: LabNode; qdiscCreated: boolean }
	| { kind: 'remove-intruder' };

interface DrillRecord {
	drill: FailureDrill;
	target: LabNode;
	other: LabNode;
	startedAt: number;
	appliedAt: number;
	phase: 'applying' | 'applied' | 'outcome' | 'failed';
	detail: string | null;
	/** Undo steps in the order their actions succeeded; `restore` runs them in reverse. */
	undo: Undo[];
	/** Set by `restore`: background work of this drill stops and reports nothing more. */
	cancelled: boolean;
}

interface LabDrills {
	active: DrillRecord | null;
	busy: boolean;
}

const labDrills = new WeakMap<DrillLab, LabDrills>();

function stateOf(lab: DrillLab): LabDrills {
	let state = labDrills.get(lab);
	if (!state) {
		state = { active: null, busy: false };
		labDrills.set(lab, state);
	}
	return state;
}

export function drillState(lab: DrillLab): DrillStateView {
	const { active, busy } = stateOf(lab);
	return {
		active: active && {
			drill: active.drill,
			target: active.target,
			startedAt: new Date(active.startedAt).toISOString(),
			phase: active.phase,
			detail: active.detail,
		},
		busy,
	};
}

/**
 * Forgets a lab's drills without undoing them, and stops their background work: for a lab that
 * is ending (its containers go anyway). Before a node is reset, run `restore` instead, so that
 * nothing of a drill (the intruder, a filter on the other node) outlives it.
 */
export function cancelDrills(lab: DrillLab): void {
	const state = labDrills.get(lab);
	if (state?.active) state.active.cancelled = true;
	labDrills.delete(lab);
}

/**
 * Starts a drill (or `restore`). Resolves once it is validated and applied — in well under a
 * second, except that `vrid-conflict` installs the intruder's keepalived in the background — and
 * throws a DrillError (404 unknown drill, 409 refused) before changing anything.
 */
export async function startDrill(ctx: DrillContext, name: string): Promise<DrillStarted> {
	if (!isDrillName(name)) {
		throw new DrillError(404, 'unknown-drill', `Учения «${name}» нет. Есть: ${DRILLS.join(', ')}.`);
	}
	const state = stateOf(ctx.lab);
	if (state.busy) {
		throw new DrillError(
			409,
			'drill-busy',
			'Предыдущая команда учений ещё выполняется: подождите пару секунд и повторите.',
		);
	}
	if (name === 'restore') return restore(ctx, state);
	if (state.active) {
		throw new DrillError(
			409,
			'drill-active',
			`Уже идут учения «${state.active.drill}» на ${state.active.target}: сначала нажмите «Восстановить».`,
		);
	}

	const clock = ctx.clock ?? systemClock;
	state.busy = true;
	let record: DrillRecord;
	try {
		const target = await validate(ctx);
		record = {
			drill: name,
			target,
			other: otherNode(target),
			startedAt: clock.now(),
			appliedAt: clock.now(),
			phase: 'applying',
			detail: null,
			undo: [],
			cancelled: false,
		};
		state.active = record;
		const log = ctx.log.child({ labId: ctx.lab.id, drill: name, target });
		try {
			const applied = await APPLY[name](ctx, record);
			record.appliedAt = clock.now();
			log.info({ ms: record.appliedAt - record.startedAt }, 'drill applied');
			if (applied) report(ctx, record, 'applied', applied);
		} catch (error) {
			log.error({ err: error }, 'drill could not be applied');
			if (record.undo.length === 0) {
				// Nothing changed: no drill is active, and the refusal is the answer.
				state.active = null;
				if (error instanceof DrillError) throw error;
			} else {
				fail(ctx, record, error);
			}
			throw new DrillError(
				500,
				'drill-failed',
				`Не удалось провести учения «${name}»: ${shortError(error)}. Нажмите «Восстановить», чтобы вернуть стенд.`,
				{ cause: error },
			);
		}
		void follow(ctx, record).catch((error: unknown) => {
			log.error({ err: error }, 'drill outcome failed');
			fail(ctx, record, error);
		});
	} finally {
		state.busy = false;
	}
	return {
		drill: name,
		target: record.target,
		startedAt: new Date(record.startedAt).toISOString(),
	};
}

// ---------------------------------------------------------------------------------------------
// Validation

/** The VIP holder, if a drill may start: otherwise a 409 that says what to do. */
async function validate(ctx: DrillContext): Promise<LabNode> {
	const snapshots = await Promise.all(LAB_NODES.map((node) => snapshot(ctx, node)));
	for (const s of snapshots) {
		if (s.paused) {
			throw new DrillError(
				409,
				'node-frozen',
				`Узел ${s.node} заморожен (docker pause): нажмите «Восстановить», затем повторите.`,
			);
		}
		if (!s.running) {
			throw new DrillError(
				409,
				'node-not-running',
				`Узел ${s.node} не запущен: сбросьте его кнопкой «Сбросить стенд».`,
			);
		}
	}
	const notRunning = snapshots.filter((s) => !['MASTER', 'BACKUP', 'FAULT'].includes(s.keepalived));
	if (notRunning.length > 0) {
		throw new DrillError(
			409,
			'keepalived-not-running',
			`Сначала запустите keepalived на обоих узлах: sudo systemctl start keepalived (сейчас не запущен на ${notRunning.map((s) => s.node).join(' и ')}).`,
		);
	}
	const faulty = snapshots.filter((s) => s.keepalived === 'FAULT');
	if (faulty.length > 0) {
		throw new DrillError(
			409,
			'keepalived-fault',
			`keepalived на ${faulty.map((s) => s.node).join(' и ')} в состоянии FAULT: проверьте haproxy и журнал (journalctl -u keepalived), дождитесь MASTER/BACKUP и повторите.`,
		);
	}
	const holders = snapshots.filter((s) => s.hasVip).map((s) => s.node);
	if (holders.length !== 1) {
		throw new DrillError(
			409,
			'no-single-vip-holder',
			holders.length === 0
				? `VIP ${ctx.lab.addresses.vip} сейчас ни на одном узле: дождитесь, пока один из них станет MASTER.`
				: `VIP ${ctx.lab.addresses.vip} сейчас на обоих узлах: нажмите «Восстановить» или перезапустите keepalived.`,
		);
	}
	return holders[0]!;
}

// ---------------------------------------------------------------------------------------------
// Applying: each returns the `applied` detail, or null when it reports `applied` itself later.

type Apply = (ctx: DrillContext, record: DrillRecord) => Promise<string | null>;

const APPLY: Record<FailureDrill, Apply> = {
	async 'stop-haproxy'(ctx, record) {
		await mustRun(ctx, record.target, 'systemctl stop haproxy');
		record.undo.push({ kind: 'start-haproxy', node: record.target });
		return `На ${record.target} остановлен haproxy (systemctl stop haproxy). Скрипт chk_haproxy начнёт падать, и keepalived должен отдать VIP.`;
	},

	async 'kill-keepalived'(ctx, record) {
		// SIGKILL gives keepalived no chance to remove the VIP or send a priority-0 advert. But
		// its VRRP child asks for SIGTERM when its parent dies (PR_SET_PDEATHSIG), and systemd
		// kills the parent first: the child could still shut down cleanly in between. Stopping
		// every process of the unit first closes that gap.
		await mustRun(
			ctx,
			record.target,
			'systemctl kill --signal=SIGSTOP keepalived && systemctl kill --signal=SIGKILL keepalived && for i in $(seq 50); do pgrep -x keepalived >/dev/null || exit 0; sleep 0.02; done; exit 1',
		);
		record.undo.push({ kind: 'start-keepalived', node: record.target });
		return `keepalived на ${record.target} убит сигналом KILL: он не успел ни снять VIP, ни предупредить соседа.`;
	},

	async 'freeze-node'(ctx, record) {
		// On a cgroup v1 host runc gives up ("unable to freeze") when the freezer does not settle
		// quickly, as on a busy host, and thaws the container again: try a few times.
		for (let attempt = 1; ; attempt++) {
			try {
				await container(ctx, record.target).pause();
				break;
			} catch (error) {
				if (attempt >= 3 || !/unable to freeze/.test(String(error))) throw error;
				await sleep(ctx.clock ?? systemClock, 200);
			}
		}
		record.undo.push({ kind: 'unpause', node: record.target });
		return `Узел ${record.target} заморожен (docker pause): все его процессы остановлены, объявления VRRP больше не уходят.`;
	},

	async 'cut-network'(ctx, record) {
		const { lab, docker } = ctx;
		const node = record.target;
		await docker
			.getNetwork(networkName(lab.id))
			.disconnect({ Container: lab.containers[node], Force: true });
		record.undo.push({ kind: 'reconnect', node });
		// An interface Docker lost track of (renamed, see RECONNECT) stays behind: cut it too.
		await mustRun(ctx, node, DROP_LEFTOVER_LINK, [lab.addresses[node]]);
		return `Узел ${node} отключён от сети стенда (docker network disconnect): у него больше нет eth0.`;
	},

	async 'block-vrrp'(ctx, record) {
		const result = await mustRun(ctx, record.target, BLOCK_VRRP, [String(TC_PREF)]);
		const qdiscCreated = /created=1/.test(result.stdout);
		record.undo.push({ kind: 'remove-tc', node: record.target, qdiscCreated });
		const how = /method=u32/.test(result.stdout) ? 'u32' : 'bpf';
		return `На ${record.target} пакеты VRRP (IP-протокол 112) отбрасываются на входе и выходе eth0 (tc clsact, фильтр ${how}). Узлы перестали слышать друг друга.`;
	},

	async 'vrid-conflict'(ctx, record) {
		const conf = await mustRun(ctx, 'hap1', 'cat /etc/keepalived/keepalived.conf');
		const vrid = configValue(conf.stdout, 'virtual_router_id');
		if (vrid === null) {
			throw new DrillError(
				409,
				'no-virtual-router-id',
				'В /etc/keepalived/keepalived.conf на hap1 не найден virtual_router_id.',
			);
		}
		const advertInt = configValue(conf.stdout, 'advert_int') ?? 1;
		const info = await container(ctx, 'hap1').inspect();
		await removeNode(ctx.docker, ctx.lab.id, 'intruder');
		record.undo.push({ kind: 'remove-intruder' });
		const labels = { ...info.Config.Labels };
		delete labels[LABELS.node];
		const id = await startNode(ctx.docker, {
			labId: ctx.lab.id,
			role: 'intruder',
			ip: ctx.lab.addresses.intruder,
			image: info.Config.Image,
			limits: {
				memoryMb: Math.round((info.HostConfig.Memory || 256 * 1024 * 1024) / 1024 / 1024),
				pidsLimit: info.HostConfig.PidsLimit || 512,
				cpuShares: info.HostConfig.CpuShares || 256,
			},
			labels,
		});
		void setUpIntruder(ctx, record, id, vrid, advertInt).catch((error: unknown) => {
			if (record.cancelled) return;
			ctx.log.error({ labId: ctx.lab.id, err: error }, 'intruder setup failed');
			fail(ctx, record, error);
		});
		return null;
	},
};

async function setUpIntruder(
	ctx: DrillContext,
	record: DrillRecord,
	id: string,
	vrid: number,
	advertInt: number,
): Promise<void> {
	const { docker, lab } = ctx;
	await waitForBoot(docker, id);
	const install = await execInNode(
		docker,
		id,
		['bash', '-c', 'apt-get update -qq && apt-get install -y -qq keepalived'],
		{ timeoutMs: 180_000 },
	);
	if (install.exitCode !== 0) throw new Error(`intruder: apt-get failed: ${install.stderr.trim()}`);
	const vip = `${lab.addresses.prefix}${INTRUDER_VIP_HOST}`;
	const config = [
		'! The drill «vrid-conflict»: a neighbour using the learner’s virtual_router_id.',
		'vrrp_instance intruder {',
		'    state MASTER',
		'    interface eth0',
		`    virtual_router_id ${vrid}`,
		'    priority 150',
		`    advert_int ${advertInt}`,
		'    virtual_ipaddress {',
		`        ${vip}/24 dev eth0`,
		'    }',
		'}',
		'',
	].join('\n');
	await execInNode(docker, id, ['tee', '/etc/keepalived/keepalived.conf'], { stdin: config });
	const start = await execInNode(docker, id, ['systemctl', 'restart', 'keepalived']);
	if (start.exitCode !== 0) throw new Error(`intruder: keepalived did not start: ${start.stderr}`);
	if (record.cancelled) return;
	record.appliedAt = (ctx.clock ?? systemClock).now();
	report(
		ctx,
		record,
		'applied',
		`В сети стенда появился чужой узел intruder (${lab.addresses.intruder}) со своим keepalived: тот же virtual_router_id ${vrid}, но другой VIP (${vip}).`,
	);
}

// ---------------------------------------------------------------------------------------------
// Outcomes

type Outcome = Omit<DrillEvent, 'drill' | 'phase' | 'target' | 'at'>;

/** Waits for the drill's outcome and reports it (unless `restore` came first). */
async function follow(ctx: DrillContext, record: DrillRecord): Promise<void> {
	if (record.drill === 'vrid-conflict') {
		// Its `applied` comes from the background setup; the outcome cannot come before it.
		const ready = await poll(
			ctx,
			record,
			async () => (record.phase === 'failed' ? false : record.phase === 'applied' || undefined),
			OUTCOME_TIMEOUT_MS[record.drill],
		);
		if (!ready) return;
	}
	const outcome = await OUTCOME[record.drill](ctx, record);
	if (record.cancelled || !outcome) return;
	report(ctx, record, 'outcome', outcome.detail, outcome);
}

type Watch = (ctx: DrillContext, record: DrillRecord) => Promise<Outcome | null>;

const OUTCOME: Record<FailureDrill, Watch> = {
	'stop-haproxy': (ctx, record) =>
		watchVip(ctx, record, (s) => s[record.other].hasVip && !s[record.target].hasVip, {
			ok: (ms) =>
				`VIP переехал с ${record.target} на ${record.other} через ${seconds(ms)} после остановки haproxy: chk_haproxy упал fall раз подряд, ${record.target} ушёл в FAULT и отдал адрес.`,
			late: `VIP не переехал за ${seconds(OUTCOME_TIMEOUT_MS['stop-haproxy'])}: проверьте, что в vrrp_instance есть track_script { chk_haproxy } и что скрипт вообще запускается (enable_script_security, script_user).`,
		}),

	'kill-keepalived': (ctx, record) =>
		watchVip(ctx, record, (s) => s[record.other].hasVip && s[record.target].hasVip, {
			ok: (ms) =>
				`VIP остался на ${record.target} (убитый keepalived его не снял), а через ${seconds(ms)} ${record.other} перестал слышать объявления и тоже взял VIP: адрес на обоих узлах (split brain).`,
			late: `За ${seconds(OUTCOME_TIMEOUT_MS['kill-keepalived'])} ${record.other} не взял VIP.`,
			otherwise: {
				when: (s) => s[record.other].hasVip && !s[record.target].hasVip,
				detail: (ms) =>
					`keepalived на ${record.target} успел завершиться сам и снял VIP: через ${seconds(ms)} адрес на ${record.other}, split brain не случился.`,
			},
		}),

	'freeze-node': (ctx, record) =>
		watchVip(ctx, record, (s) => s[record.other].hasVip, {
			ok: (ms) =>
				`${record.other} не слышал объявлений ${record.target} 3 интервала advert_int и через ${seconds(ms)} стал MASTER: VIP на ${record.other}. Замороженный ${record.target} всё ещё считает себя MASTER.`,
			late: `За ${seconds(OUTCOME_TIMEOUT_MS['freeze-node'])} ${record.other} не взял VIP.`,
		}),

	'cut-network': (ctx, record) =>
		watchVip(ctx, record, (s) => s[record.other].hasVip, {
			ok: (ms) =>
				`${record.other} перестал получать объявления и через ${seconds(ms)} стал MASTER: VIP на ${record.other}. ${record.target} без сети ушёл в FAULT.`,
			late: `За ${seconds(OUTCOME_TIMEOUT_MS['cut-network'])} ${record.other} не взял VIP.`,
		}),

	'block-vrrp': (ctx, record) =>
		watchVip(ctx, record, (s) => s.hap1.keepalived === 'MASTER' && s.hap2.keepalived === 'MASTER', {
			ok: (ms) =>
				`Через ${seconds(ms)} оба узла в состоянии MASTER и у обоих VIP: split brain. Узлы живы, но не слышат друг друга.`,
			late: `За ${seconds(OUTCOME_TIMEOUT_MS['block-vrrp'])} второй узел не стал MASTER.`,
		}),

	async 'vrid-conflict'(ctx, record) {
		const since = Math.floor(record.startedAt / 1000);
		const found = await poll(
			ctx,
			record,
			async () => {
				for (const node of LAB_NODES) {
					const result = await run(ctx, node, GREP_GUIDE_ERROR, [String(since), GUIDE_ERROR]);
					const line = result?.stdout.trim();
					if (line) return { node, line };
				}
				return undefined;
			},
			OUTCOME_TIMEOUT_MS['vrid-conflict'],
		);
		if (record.cancelled) return null;
		const states = await snapshotAll(ctx);
		const ms = (ctx.clock ?? systemClock).now() - record.appliedAt;
		if (!found) {
			return {
				ok: false,
				ms,
				...summary(states),
				detail: 'Сообщение о чужом VRID в журналах hap1 и hap2 так и не появилось.',
			};
		}
		return {
			ok: true,
			ms,
			node: found.node,
			line: found.line,
			...summary(states),
			detail: `В журнале ${found.node} появилась ошибка из руководства: «${found.line.replace(/^.*?Keepalived_vrrp/, 'Keepalived_vrrp')}». Чужие объявления отбрасываются, но кластер они всё равно сбивают: резервный узел время от времени сам становится MASTER, и VIP перескакивает между узлами. Лечится уникальным virtual_router_id.`,
		};
	},
};

/**
 * Polls the nodes until `done` (the outcome the drill is meant to show), or `otherwise.when` (a
 * different ending, reported with ok: false), or the drill's timeout.
 */
async function watchVip(
	ctx: DrillContext,
	record: DrillRecord,
	done: (states: Snapshots) => boolean,
	text: {
		ok: (ms: number) => string;
		late: string;
		otherwise?: { when: (states: Snapshots) => boolean; detail: (ms: number) => string };
	},
): Promise<Outcome | null> {
	const clock = ctx.clock ?? systemClock;
	const seen = await poll(
		ctx,
		record,
		async () => {
			const states = await snapshotAll(ctx, record);
			if (done(states)) return { states, ok: true };
			if (text.otherwise?.when(states)) return { states, ok: false };
			return undefined;
		},
		OUTCOME_TIMEOUT_MS[record.drill],
	);
	if (record.cancelled) return null;
	const ms = clock.now() - record.appliedAt;
	if (seen) {
		const detail = seen.ok ? text.ok(ms) : text.otherwise!.detail(ms);
		return { ok: seen.ok, ms, ...summary(seen.states), detail };
	}
	return { ok: false, ms, ...summary(await snapshotAll(ctx, record)), detail: text.late };
}

// ---------------------------------------------------------------------------------------------
// Restore

async function restore(ctx: DrillContext, state: LabDrills): Promise<DrillStarted> {
	const clock = ctx.clock ?? systemClock;
	const record = state.active;
	const startedAt = clock.now();
	const log = ctx.log.child({ labId: ctx.lab.id, drill: 'restore' });
	state.busy = true;
	const target: LabNode = record?.target ?? 'hap1';
	try {
		if (record) record.cancelled = true;
		const recorded = [...(record?.undo ?? [])].reverse();
		const errors: unknown[] = [];
		const attempt = async (step: Undo) => {
			try {
				await undo(ctx, step);
			} catch (error) {
				log.warn({ err: error, step }, 'restore step failed');
				errors.push(error);
			}
		};
		for (const step of recorded) await attempt(step);
		// Then what the record may not know about, whoever did it (a drill before a server
		// restart, for instance): a paused or disconnected node first, so that the nodes can
		// run commands again, then leftover filters and the intruder.
		for (const node of LAB_NODES) {
			await attempt({ kind: 'unpause', node });
			await attempt({ kind: 'reconnect', node });
		}
		for (const step of sweepSteps(recorded)) await attempt(step);
		state.active = null;
		log.info({ undone: recorded.length, errors: errors.length }, 'drill restored');
		if (errors.length > 0) {
			throw new DrillError(
				500,
				'restore-failed',
				`Вернуть стенд удалось не полностью: ${shortError(errors[0])}. Попробуйте ещё раз или сбросьте стенд.`,
				{ cause: errors[0] },
			);
		}
	} finally {
		state.busy = false;
	}
	const drill = record?.drill ?? 'restore';
	void converge(ctx).then(
		(states) => {
			const holders = LAB_NODES.filter((node) => states?.[node].hasVip);
			const ok = holders.length === 1;
			emit(ctx, {
				drill: 'restore',
				phase: 'restored',
				target,
				detail: ok
					? `Стенд восстановлен${record ? ` после учений «${drill}»` : ''}: VIP на ${holders[0]}.`
					: `Стенд восстановлен, но VIP сейчас ${holders.length === 0 ? 'ни на одном узле' : 'на обоих узлах'}: проверьте keepalived на обоих узлах.`,
				ok,
				...(states ? summary(states) : {}),
			});
		},
		(error: unknown) => log.error({ err: error }, 'restore convergence check failed'),
	);
	return { drill: 'restore', target, startedAt: new Date(startedAt).toISOString() };
}

/** Sweep steps for what the record may not know: filters and the intruder. */
function sweepSteps(recorded: Undo[]): Undo[] {
	const extra: Undo[] = [];
	for (const node of LAB_NODES) {
		if (!recorded.some((s) => s.kind === 'remove-tc' && s.node === node)) {
			extra.push({ kind: 'remove-tc', node, qdiscCreated: false });
		}
	}
	if (!recorded.some((s) => s.kind === 'remove-intruder')) extra.push({ kind: 'remove-intruder' });
	return extra;
}

async function undo(ctx: DrillContext, step: Undo): Promise<void> {
	const { docker, lab } = ctx;
	switch (step.kind) {
		case 'start-haproxy':
			await mustRun(ctx, step.node, 'systemctl start haproxy');
			return;
		case 'start-keepalived':
			// A SIGKILLed unit is `failed`; starting it again also removes the stale VIP.
			await mustRun(
				ctx,
				step.node,
				'systemctl reset-failed keepalived; systemctl start keepalived',
			);
			return;
		case 'unpause': {
			const info = await container(ctx, step.node).inspect();
			if (info.State.Paused) await container(ctx, step.node).unpause();
			return;
		}
		case 'reconnect': {
			const info = await container(ctx, step.node).inspect();
			if (info.NetworkSettings.Networks[networkName(lab.id)]) return;
			await docker.getNetwork(networkName(lab.id)).connect({
				Container: lab.containers[step.node],
				EndpointConfig: {
					IPAMConfig: { IPv4Address: lab.addresses[step.node] },
					Aliases: [step.node],
				},
			});
			await mustRun(ctx, step.node, RECONNECT, [lab.addresses[step.node], lab.addresses.gateway]);
			// keepalived 2.2.7 follows eth0 going and coming back (a new interface, renamed) and
			// says BACKUP, but its VRRP socket stays on the old interface: it hears no advert and
			// its master-down timer never fires, so it could never take over again. A reload opens
			// the sockets afresh and keeps the VRRP state.
			await mustRun(
				ctx,
				step.node,
				'! systemctl is-active --quiet keepalived || systemctl reload keepalived',
			);
			return;
		}
		case 'remove-tc':
			await mustRun(ctx, step.node, UNBLOCK_VRRP, [String(TC_PREF), step.qdiscCreated ? '1' : '0']);
			return;
		case 'remove-intruder':
			await removeNode(docker, lab.id, 'intruder');
			return;
	}
}

/** Waits until exactly one node holds the VIP and both run keepalived as MASTER or BACKUP. */
async function converge(ctx: DrillContext): Promise<Snapshots | null> {
	const clock = ctx.clock ?? systemClock;
	const deadline = clock.now() + RESTORE_TIMEOUT_MS;
	let last: Snapshots | null = null;
	for (;;) {
		last = await snapshotAll(ctx);
		const holders = LAB_NODES.filter((node) => last![node].hasVip);
		const settled = LAB_NODES.every((node) =>
			['MASTER', 'BACKUP'].includes(last![node].keepalived),
		);
		if (holders.length === 1 && settled) return last;
		if (clock.now() >= deadline) return last;
		await sleep(clock, POLL_MS);
	}
}

// ---------------------------------------------------------------------------------------------
// Node state

interface Snapshot {
	node: LabNode;
	running: boolean;
	paused: boolean;
	keepalived: KeepalivedState | 'frozen' | 'unknown';
	hasVip: boolean;
}
type Snapshots = Record<LabNode, Snapshot>;

/** One line of the image's `status` script (as lab-state.ts reads it). */
const statusLine = z.object({
	keepalived: z.enum(KEEPALIVED_STATES),
	haproxy: z.string(),
	addresses: z.array(z.string()),
});

async function snapshot(ctx: DrillContext, node: LabNode, record?: DrillRecord): Promise<Snapshot> {
	const info = await container(ctx, node).inspect();
	if (info.State.Paused) {
		// A frozen node cannot be asked; it keeps whatever it had when it froze.
		const froze = record?.drill === 'freeze-node' && record.target === node;
		return { node, running: true, paused: true, keepalived: 'frozen', hasVip: froze };
	}
	if (!info.State.Running) {
		return { node, running: false, paused: false, keepalived: 'unknown', hasVip: false };
	}
	const result = await run(ctx, node, STATUS);
	const parsed = result ? safeJson(result.stdout.trim()) : null;
	const status = parsed ? statusLine.safeParse(parsed) : null;
	if (!status?.success) {
		return { node, running: true, paused: false, keepalived: 'unknown', hasVip: false };
	}
	const vip = `${ctx.lab.addresses.vip}/`;
	return {
		node,
		running: true,
		paused: false,
		keepalived: status.data.keepalived,
		hasVip: status.data.addresses.some((a) => a.startsWith(vip)),
	};
}

async function snapshotAll(ctx: DrillContext, record?: DrillRecord): Promise<Snapshots> {
	const [hap1, hap2] = await Promise.all(LAB_NODES.map((node) => snapshot(ctx, node, record)));
	return { hap1: hap1!, hap2: hap2! };
}

function summary(states: Snapshots): Pick<DrillEvent, 'holders' | 'states'> {
	return {
		holders: LAB_NODES.filter((node) => states[node].hasVip),
		states: { hap1: states.hap1.keepalived, hap2: states.hap2.keepalived },
	};
}

// ---------------------------------------------------------------------------------------------
// Helpers

function report(
	ctx: DrillContext,
	record: DrillRecord,
	phase: 'applied' | 'outcome',
	detail: string,
	extra: Outcome = { detail },
): void {
	if (record.cancelled) return;
	record.phase = phase;
	record.detail = detail;
	emit(ctx, { ...extra, drill: record.drill, phase, target: record.target, detail });
}

function fail(ctx: DrillContext, record: DrillRecord, error: unknown): void {
	if (record.cancelled) return;
	record.phase = 'failed';
	record.detail = `Учения прервались: ${shortError(error)}. Нажмите «Восстановить».`;
	emit(ctx, { drill: record.drill, phase: 'failed', target: record.target, detail: record.detail });
}

function emit(ctx: DrillContext, event: Omit<DrillEvent, 'at'>): void {
	const at = new Date((ctx.clock ?? systemClock).now()).toISOString();
	ctx.lab.events.emit('drill', { ...event, at } satisfies DrillEvent);
}

/** Polls `probe` every POLL_MS until it yields a value, the drill is restored, or time is up. */
async function poll<T>(
	ctx: DrillContext,
	record: DrillRecord,
	probe: () => Promise<T | undefined>,
	timeoutMs: number,
): Promise<T | undefined> {
	const clock = ctx.clock ?? systemClock;
	const deadline = clock.now() + timeoutMs;
	while (!record.cancelled) {
		const value = await probe().catch(() => undefined);
		if (value !== undefined) return value;
		if (clock.now() >= deadline) return undefined;
		await sleep(clock, POLL_MS);
	}
	return undefined;
}

function sleep(clock: Clock, ms: number): Promise<void> {
	return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

function container(ctx: DrillContext, node: LabNode) {
	return ctx.docker.getContainer(ctx.lab.containers[node]);
}

/** Runs a bash script as root in a node; null when the node cannot run it (paused, gone). */
async function run(
	ctx: DrillContext,
	node: LabNode,
	script: string,
	args: string[] = [],
): Promise<ExecResult | null> {
	try {
		return await execInNode(ctx.docker, ctx.lab.containers[node], [
			'bash',
			'-c',
			script,
			node,
			...args,
		]);
	} catch (error) {
		if (isNotFound(error) || (error as { statusCode?: number }).statusCode === 409) return null;
		throw error;
	}
}

async function mustRun(
	ctx: DrillContext,
	node: LabNode,
	script: string,
	args: string[] = [],
): Promise<ExecResult> {
	const result = await run(ctx, node, script, args);
	if (!result) throw new Error(`${node} is not running`);
	if (result.exitCode !== 0) {
		throw new Error(
			`${node}: ${JSON.stringify(script.split('\n')[0])} exited ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}`,
		);
	}
	return result;
}

function otherNode(node: LabNode): LabNode {
	return node === 'hap1' ? 'hap2' : 'hap1';
}

/** A number-valued keyword of keepalived.conf, ignoring `!` and `#` comments. */
export function configValue(text: string, keyword: string): number | null {
	for (const raw of text.split('\n')) {
		const line = raw.replace(/[!#].*$/, '').trim();
		const match = new RegExp(`^${keyword}\\s+(\\d+)\\b`).exec(line);
		if (match) return Number(match[1]);
	}
	return null;
}

/** «2,6 с» */
export function seconds(ms: number): string {
	return `${(ms / 1000).toFixed(1).replace('.', ',')} с`;
}

function shortError(error: unknown): string {
	return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}

function safeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return null;
	}
}

// ---------------------------------------------------------------------------------------------
// Scripts run inside the nodes (bash; `$1`… are the arguments after the node name in `$0`).

/**
 * Drops VRRP (IP protocol 112) in and out of eth0 with tc, which needs only NET_ADMIN. The usual
 * `u32 … action drop` needs the kernel's act_gact; kernels built without it (some VM kernels)
 * still have cls_bpf, so the fallback is a classic-BPF filter in direct-action mode that returns
 * TC_ACT_SHOT (2) for IPv4 (ethertype 0x0800 at offset 12) with protocol 112 (offset 14+9), and
 * TC_ACT_UNSPEC (-1) for everything else. cls_bpf sees the frame from the MAC header in both
 * directions.
 */
const BLOCK_VRRP = `
pref=$1
bpf='6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 112,6 0 0 2,6 0 0 4294967295'
created=0
if ! tc qdisc show dev eth0 | grep -q clsact; then tc qdisc add dev eth0 clsact && created=1 || exit 2; fi
method=u32
for dir in ingress egress; do
	tc filter add dev eth0 $dir pref $pref protocol ip u32 match ip protocol 112 0xff action drop 2>/dev/null && continue
	tc filter del dev eth0 $dir pref $pref 2>/dev/null
	tc filter add dev eth0 $dir pref $pref bpf bytecode "$bpf" da || exit 3
	method=bpf
done
echo "created=$created method=$method"
`;

const UNBLOCK_VRRP = `
pref=$1 created=$2
for dir in ingress egress; do tc filter del dev eth0 $dir pref $pref 2>/dev/null; done
if [ "$created" = 1 ] && [ -z "$(tc filter show dev eth0 ingress)$(tc filter show dev eth0 egress)" ]; then
	tc qdisc del dev eth0 clsact 2>/dev/null
fi
exit 0
`;

/** Deletes any interface that still carries the node's address after a disconnect. */
const DROP_LEFTOVER_LINK = `
for dev in $(ip -o -4 addr show | awk -v a="$1/" 'index($4, a) == 1 { print $2 }'); do
	ip link del "$dev"
done
exit 0
`;

/**
 * After a reconnect, Docker 20.10 names the new interface eth1, eth2… (a per-container counter
 * that never goes back), but the learner's keepalived.conf says eth0: rename it back. Docker finds
 * the interface by its own name when it later disconnects or removes it, so that name stays on
 * as an alternative name (Linux ≥ 5.5 resolves altnames in lookups by name). Downing the link
 * drops the default route Docker had set: put it back.
 */
const RECONNECT = `
ip=$1 gw=$2
dev=$(ip -o -4 addr show | awk -v a="$ip/" 'index($4, a) == 1 { print $2; exit }')
[ -n "$dev" ] || { echo "no interface has $ip" >&2; exit 3; }
if [ "$dev" != eth0 ]; then
	ip link set "$dev" down
	ip link set "$dev" name eth0
	ip link property add dev eth0 altname "$dev" 2>/dev/null
	ip link set eth0 up
	ip route replace default via "$gw" dev eth0 2>/dev/null
fi
exit 0
`;

/** The first keepalived journal line since \`@$1\` (epoch seconds) containing $2. */
const GREP_GUIDE_ERROR = `journalctl -u keepalived --no-pager -o short --since "@$1" | grep -m1 -F -- "$2"; exit 0`;
