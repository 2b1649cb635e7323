/**
 * The course's checks: one per step, each a small spec — which node commands it reads (probes.ts),
 * what it looks for, and what to tell the learner in Russian (judges.ts). A check's `step` is the
 * slug of the course step whose frontmatter `check:` names it (course/steps.ts); '' when none.
 *
 * Status: `pass`; `pending` — not started yet (keepalived not installed, nothing to look at);
 * `fail` — attempted but wrong, with a message saying what is wrong and why it matters.
 */
import { LAB_NODES, type CheckId, type LabNode } from '../api';
import { stepsByCheck } from '../course/steps';
import type { VipChange } from '../labs/lab';
import { historyHas, isLogCommand, isVersionCommand, type CommandTest } from './history';
import {
	INSTALLED,
	checkFailover,
	fail,
	judgeConfig,
	judgeService,
	judgeVip,
	pass,
	pending,
	type LiveNode,
	type Verdict,
} from './judges';
import type { ProbeName, Probes } from './probes';

/** Everything a check is judged from, besides what its probes printed. */
export interface LabRecords {
	vip: string;
	/** Who held the VIP, oldest first (live-state.ts). */
	history: readonly VipChange[];
	/** Each node as the lab server sees it live. */
	live: Record<LabNode, LiveNode>;
}

export interface CheckSpec {
	id: CheckId;
	/** The course step (MDX slug) this check belongs to; '' when no step's `check:` names it. */
	step: string;
	/** What passing means, in Russian. */
	title: string;
	/** The node commands the check reads, on both nodes; none for checks decided from records. */
	probes: readonly ProbeName[];
	/**
	 * Whether the check reads the nodes' live state (live-state.ts): like a probe, that is only
	 * trusted while the nodes answer, so an unreachable node makes it pending too.
	 */
	live?: boolean;
	judge: (nodes: Record<LabNode, Probes>, lab: LabRecords) => Verdict;
}

const SPECS: Omit<CheckSpec, 'step'>[] = [
	{
		id: 'install',
		title: 'keepalived установлен на hap1 и hap2',
		...onBothNodes({
			probe: 'package',
			match: INSTALLED,
			pass: 'keepalived установлен на обоих узлах.',
			pending:
				'keepalived ещё не установлен. Установите его на обоих узлах: sudo apt-get install keepalived -y',
			fail: (nodes, outputs) =>
				nodes
					.map((node) =>
						outputs[node]
							? `Пакет keepalived на ${node} в состоянии «${outputs[node]}»: он удалён или установлен не до конца. Выполните на ${node}: sudo apt-get install keepalived -y`
							: `keepalived не установлен на ${node}: кластер — это два узла, и без keepalived ${node} не сможет подхватить VIP. Выполните на ${node}: sudo apt-get install keepalived -y`,
					)
					.join('\n'),
		}),
	},
	{
		id: 'version',
		title: 'Версия keepalived проверена (keepalived -v)',
		...inHistory({
			match: [isVersionCommand],
			pass: (nodes) => `Команда keepalived -v выполнена на ${nodes.join(' и ')}.`,
			pending:
				'Выполните sudo keepalived -v: команда покажет установленную версию (в стенде 2.2.7, в руководстве 2.0.19).',
		}),
	},
	{
		id: 'config',
		title: 'Конфигурация keepalived верна на обоих узлах',
		probes: ['package', 'config', 'configTest', 'scriptUser'],
		judge: judgeConfig,
	},
	{
		id: 'service',
		title: 'Служба keepalived включена и запущена на обоих узлах',
		probes: ['package', 'config', 'service'],
		judge: judgeService,
	},
	{
		id: 'vip',
		title: 'VIP держит ровно один узел',
		probes: [],
		live: true,
		judge: (_nodes, { live, vip }) => judgeVip(live, vip),
	},
	{
		id: 'logs',
		title: 'Журнал keepalived просмотрен',
		...inHistory({
			match: [isLogCommand],
			pass: (nodes) => `Журнал keepalived просмотрен на ${nodes.join(' и ')}.`,
			pending:
				'Посмотрите журнал keepalived: sudo journalctl -u keepalived или sudo grep -i keepalived /var/log/messages — в нём видно, когда узел входил в MASTER, BACKUP и FAULT и почему.',
		}),
	},
	{
		id: 'failover',
		title: 'VIP переехал на другой узел',
		probes: [],
		judge: (_nodes, { history }) => checkFailover(history),
	},
];

/** Every check, in the order of the course's steps (checks no step claims keep theirs, last). */
export const CHECKS: readonly CheckSpec[] = SPECS.map((spec) => ({
	...spec,
	step: stepsByCheck().get(spec.id)?.slug ?? '',
})).sort((a, b) => courseRank(a.id) - courseRank(b.id));

function courseRank(id: string): number {
	return stepsByCheck().get(id)?.order ?? Number.MAX_SAFE_INTEGER;
}

export function findCheck(id: string): CheckSpec {
	const spec = CHECKS.find((check) => check.id === id);
	if (!spec) {
		throw new RangeError(
			`unknown check "${id}": expected one of ${CHECKS.map((c) => c.id).join(', ')}`,
		);
	}
	return spec;
}

/**
 * A check that holds when `probe`'s output matches on both nodes: pending when it matches on
 * neither, failing with `fail(nodes, outputs)` for the nodes where it does not.
 */
function onBothNodes(rule: {
	probe: ProbeName;
	match: RegExp;
	pass: string;
	pending: string;
	fail: (nodes: LabNode[], outputs: Record<LabNode, string>) => string;
}): Pick<CheckSpec, 'probes' | 'judge'> {
	return {
		probes: [rule.probe],
		judge(nodes) {
			const outputs = Object.fromEntries(
				LAB_NODES.map((node) => [node, nodes[node][rule.probe]?.output.trim() ?? '']),
			) as Record<LabNode, string>;
			const missing = LAB_NODES.filter((node) => !rule.match.test(outputs[node]));
			if (missing.length === 0) return pass(rule.pass);
			if (missing.length === LAB_NODES.length) return pending(rule.pending);
			return fail(rule.fail(missing, outputs));
		},
	};
}

/** A check that holds once a command matching one of `match` is in a node's shell history. */
function inHistory(rule: {
	match: CommandTest[];
	pass: (nodes: LabNode[]) => string;
	pending: string;
}): Pick<CheckSpec, 'probes' | 'judge'> {
	return {
		probes: ['history'],
		judge(nodes) {
			const found = LAB_NODES.filter((node) =>
				historyHas(nodes[node].history?.output ?? '', rule.match),
			);
			return found.length ? pass(rule.pass(found)) : pending(rule.pending);
		},
	};
}
