/**
 * Failure drills («Учения»): break a running keepalived pair on purpose and report what
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
import { systemClock } from '../lib/clock';
import { DRILL_TITLES, FAILURE_DRILLS, LAB_NODES, otherNode, type LabNode } from '../api';
import { APPLY } from './apply';
import {
	DrillError,
	isDrillName,
	type DrillContext,
	type DrillLab,
	type DrillRecord,
	type DrillStarted,
	type DrillStateView,
	type LabDrills,
} from './model';
import { fail, report, shortError, snapshot } from './node-ops';
import { follow } from './outcome';
import { restore } from './restore';

export { configValue } from '../checks/keepalived-conf';
export { DRILLS } from './model';
export {
	DrillError,
	isDrillName,
	type DrillContext,
	type DrillEvent,
	type DrillLab,
	type DrillName,
	type DrillStarted,
	type DrillStateView,
	type FailureDrill,
} from './model';
export { seconds } from './outcome';

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

/** The active drill's record, to be saved with the lab (drills/store.ts); null when none. */
export function activeDrill(lab: DrillLab): DrillRecord | null {
	return labDrills.get(lab)?.active ?? null;
}

/**
 * Takes back a drill that was active when the previous server stopped (its saved record), so
 * that «Восстановить» undoes exactly what it did. Its outcome is no longer awaited.
 */
export function adoptDrill(lab: DrillLab, record: DrillRecord): void {
	stateOf(lab).active = { ...record, cancelled: false };
}

/**
 * Forgets a lab's drills without undoing them, and stops their background work: for a lab that
 * is ending (its containers go anyway). Before a node is reset, run `restore` instead, so that
 * nothing of a drill (the intruder, a filter on the other node) outlives it.
 */
/**
 * The server is stopping: the active drill's background work (its outcome watch) ends, its
 * record stays, saved, for the next server to adopt.
 */
export function suspendDrills(lab: DrillLab): void {
	const state = labDrills.get(lab);
	if (state?.active) state.active.cancelled = true;
}

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
		throw new DrillError(
			404,
			'unknown-drill',
			`Учения «${name}» нет. Есть: ${FAILURE_DRILLS.map((d) => `«${DRILL_TITLES[d]}»`).join(', ')}.`,
		);
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
			`Уже идут учения «${DRILL_TITLES[state.active.drill]}» на ${state.active.target}: сначала нажмите «Восстановить».`,
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
				`Не удалось провести учения «${DRILL_TITLES[name]}»: ${shortError(error)}. Нажмите «Восстановить», чтобы вернуть стенд.`,
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
