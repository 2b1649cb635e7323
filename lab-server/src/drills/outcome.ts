/**
 * Waiting for a drill's outcome and reporting it: what the cluster did, in Russian, with the VIP
 * holders and keepalived states, or that it did not happen in time.
 */
import { systemClock } from '../lib/clock';
import { LAB_NODES } from '../api';
import type { DrillContext, DrillRecord, FailureDrill, Outcome } from './model';
import { poll, report, run, snapshotAll, summary, type Snapshots } from './node-ops';
import { GREP_GUIDE_ERROR } from './scripts';

/** The syslog prefix before keepalived's own words in a node's journal line (learner text). */
export const LOG_PREFIX = /^.*?Keepalived_vrrp/;

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
const GUIDE_ERROR = 'not present in MASTER advert';

/** Waits for the drill's outcome and reports it (unless `restore` came first). */
export async function follow(ctx: DrillContext, record: DrillRecord): Promise<void> {
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
				`VIP переехал с ${record.target} на ${record.other} через ${seconds(ms)} после остановки haproxy: проверка chk_haproxy не прошла столько раз подряд, сколько задано в fall, ${record.target} ушёл в FAULT и отдал адрес.`,
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
			detail: `В журнале ${found.node} появилась ошибка из руководства: «${found.line.replace(LOG_PREFIX, 'Keepalived_vrrp')}». Узлы отбрасывают чужие объявления как ошибочные — отсюда сообщение — и таймер резервного узла они не сбрасывают, так что кластер пока работает. Но журнал засорён, и стоит соседу объявить тот же набор VIP, как два кластера смешаются. Лечится уникальным virtual_router_id.`,
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

/** «2,6 с» */
export function seconds(ms: number): string {
	return `${(ms / 1000).toFixed(1).replace('.', ',')} с`;
}
