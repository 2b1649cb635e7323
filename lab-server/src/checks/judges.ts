/**
 * The judges the checks' specs (specs.ts) use when a simple match is not enough: each reads what
 * the nodes answered, or the lab's own records, and says in Russian what is wrong and why it
 * matters.
 */
import { LAB_NODES, otherNode, type CheckStatus, type KeepalivedState, type LabNode } from '../api';
import type { NodeStatus, VipChange } from '../labs/lab';
import {
	configTestProblems,
	findConfProblems,
	type ConfigTest,
	type NodeConf,
} from './conf-problems';
import { parseKeepalivedConf, summarizeConf } from './keepalived-conf';
import type { Probes } from './probes';

export interface Verdict {
	status: CheckStatus;
	message: string;
}

/** What the lab server itself knows of a node (live-state.ts): no exec needed to judge it. */
export type LiveNode = Pick<NodeStatus, 'state' | 'keepalived' | 'hasVip'>;

/** Patterns on what the probes print (text root in the node controls); learner-text.test.ts. */
export const PROBE_OUTPUT_PATTERNS = {
	installed: /^install ok installed$/,
	unitFileState: /^UnitFileState=(.*)$/m,
	activeState: /^ActiveState=(.*)$/m,
	unbalancedBraces: /missing '\}'|Extra '\}'/,
} as const;
export const INSTALLED = PROBE_OUTPUT_PATTERNS.installed;

const NODE_AWAY: Record<LiveNode['state'], string> = {
	paused: 'заморожен (docker pause)',
	stopped: 'остановлен',
	starting: 'ещё запускается',
	running: 'работает',
};

/**
 * The failover check, decided from the lab server's record of who held the VIP: passes once the
 * holder changed from one node to the other (with or without a moment when nobody held it).
 */
export function checkFailover(history: readonly VipChange[]): Verdict {
	let holder: VipChange | undefined;
	let lostAt: string | undefined;
	let moved: { from: LabNode; to: LabNode; gapMs: number } | undefined;
	for (const entry of history) {
		if (entry.holder === null) {
			if (holder && lostAt === undefined) lostAt = entry.at;
			continue;
		}
		if (holder && entry.holder !== holder.holder) {
			const gapMs = lostAt === undefined ? 0 : Date.parse(entry.at) - Date.parse(lostAt);
			moved = { from: holder.holder!, to: entry.holder, gapMs: Math.max(0, gapMs) };
		}
		holder = entry;
		lostAt = undefined;
	}
	if (moved) {
		const gap =
			moved.gapMs > 0
				? `адрес был без хозяина около ${(moved.gapMs / 1000).toFixed(1).replace('.', ',')} с`
				: 'без заметного перерыва';
		return {
			status: 'pass',
			message: `VIP переехал с ${moved.from} на ${moved.to}: ${gap}.`,
		};
	}
	const current = history.at(-1)?.holder;
	if (current) {
		return {
			status: 'pending',
			message: `Сейчас VIP на ${current}. Сломайте этот узел — например, sudo systemctl stop haproxy на ${current} — и посмотрите, как VIP переедет на ${otherNode(current)}.`,
		};
	}
	return {
		status: 'pending',
		message:
			'Сначала добейтесь, чтобы VIP держал один из узлов, потом сломайте этот узел (например, остановите на нём haproxy) и посмотрите, как VIP переедет на другой.',
	};
}

export function judgeConfig(nodes: Record<LabNode, Probes>, { vip }: { vip: string }): Verdict {
	const installedOn = LAB_NODES.filter((node) => isInstalled(nodes[node]));
	if (installedOn.length === 0) {
		return pending(
			'Сначала установите keepalived на оба узла: конфигурацию проверяет сам keepalived (keepalived -t).',
		);
	}
	const texts = new Map<LabNode, string>();
	for (const node of LAB_NODES) {
		const config = nodes[node].config;
		if (config?.code === 0) texts.set(node, config.output);
	}
	if (texts.size === 0) {
		return pending(
			'Создайте /etc/keepalived/keepalived.conf на hap1 и hap2 по образцу из руководства (sudo vim /etc/keepalived/keepalived.conf).',
		);
	}
	const problems: string[] = [];
	const tests: Partial<Record<LabNode, ConfigTest>> = {};
	const confs: Partial<Record<LabNode, NodeConf>> = {};
	for (const node of LAB_NODES) {
		const text = texts.get(node);
		if (text === undefined) {
			problems.push(
				`На ${node} нет файла /etc/keepalived/keepalived.conf: без него служба keepalived на ${node} не запустится, и подхватить VIP будет некому. Создайте его по образцу из руководства.`,
			);
			continue;
		}
		if (text.trim() === '') {
			problems.push(
				`Файл /etc/keepalived/keepalived.conf на ${node} пуст: systemd не запускает keepalived с пустым файлом (ConditionFileNotEmpty). Заполните его по образцу из руководства.`,
			);
			continue;
		}
		if (!installedOn.includes(node)) {
			problems.push(
				`На ${node} не установлен keepalived: конфигурацию там нечем проверить и запустить. Выполните sudo apt-get install keepalived -y.`,
			);
			continue;
		}
		const test = nodes[node].configTest ?? { code: -1, output: '' };
		tests[node] = test;
		// With braces out of balance the blocks are not what the learner meant: keepalived's own
		// message says where, and the intent checks would only add noise.
		if (PROBE_OUTPUT_PATTERNS.unbalancedBraces.test(test.output)) continue;
		confs[node] = {
			summary: summarizeConf(parseKeepalivedConf(text)),
			hasKeepalivedScriptUser: nodes[node].scriptUser?.code === 0,
		};
	}
	problems.push(...findConfProblems(confs, vip), ...configTestProblems(tests));
	if (problems.length) return fail(problems.join('\n'));
	return pass(
		`Конфигурация на обоих узлах верна: keepalived -t без ошибок, virtual_router_id и advert_int совпадают, VIP — ${vip}.`,
	);
}

export function judgeService(nodes: Record<LabNode, Probes>): Verdict {
	if (!LAB_NODES.some((node) => isInstalled(nodes[node]))) {
		return pending('Сначала установите keepalived на оба узла: sudo apt-get install keepalived -y');
	}
	const units = LAB_NODES.map((node) => ({ node, ...unitState(nodes[node]) }));
	if (units.every((u) => u.enabled === 'enabled' && u.active === 'active')) {
		return pass('keepalived включён и работает на обоих узлах.');
	}
	if (units.every((u) => u.active === 'inactive' || u.active === '')) {
		return pending(
			'Включите и запустите keepalived на обоих узлах: sudo systemctl enable keepalived, затем sudo systemctl start keepalived.',
		);
	}
	const problems = units.flatMap(({ node, enabled, active }) => {
		const found: string[] = [];
		const probes = nodes[node];
		if (!isInstalled(probes)) {
			return [
				`keepalived не установлен на ${node}: выполните там sudo apt-get install keepalived -y.`,
			];
		}
		if (active === 'failed') {
			found.push(
				`keepalived на ${node} упал (failed): причину покажет sudo journalctl -u keepalived -n 20. Исправьте её и выполните sudo systemctl restart keepalived.`,
			);
		} else if (active === 'inactive' && !hasConfig(probes)) {
			found.push(
				`keepalived на ${node} не запущен: служба стартует только с непустым /etc/keepalived/keepalived.conf (ConditionFileNotEmpty), а его нет — systemctl start молча ничего не делает. Создайте файл и снова выполните sudo systemctl start keepalived.`,
			);
		} else if (active === 'inactive') {
			found.push(
				`keepalived на ${node} не запущен: пока служба стоит, узел не участвует в выборах и не подхватит VIP. Выполните sudo systemctl start keepalived.`,
			);
		} else if (active !== 'active') {
			found.push(
				`keepalived на ${node} в состоянии ${active}: подождите пару секунд и проверьте снова.`,
			);
		}
		if (enabled === 'masked') {
			found.push(
				`Служба keepalived на ${node} замаскирована (masked): её нельзя ни запустить, ни включить. Выполните sudo systemctl unmask keepalived, затем sudo systemctl enable --now keepalived.`,
			);
		} else if (enabled !== 'enabled') {
			found.push(
				`Автозапуск keepalived на ${node} выключен (${enabled || 'неизвестно'}): после перезагрузки узла служба не поднимется, и узел выпадет из кластера. Выполните sudo systemctl enable keepalived.`,
			);
		}
		return found;
	});
	return fail(problems.join('\n'));
}

/**
 * The VIP, judged from the lab's live state (the same the API's `vipHolder` shows, so the two
 * never disagree): one holder passes; none says why for each node; both is split brain, or a
 * VIP left behind by a killed keepalived.
 */
export function judgeVip(live: Record<LabNode, LiveNode>, vip: string): Verdict {
	const away = LAB_NODES.filter((node) => live[node].state !== 'running');
	if (away.length) {
		return pending(
			away
				.map(
					(node) =>
						`Узел ${node} ${NODE_AWAY[live[node].state]}: VIP проверится, когда он снова заработает. Если идут учения, нажмите «Восстановить».`,
				)
				.join('\n'),
		);
	}
	const reports = LAB_NODES.map((node) => ({
		node,
		state: live[node].keepalived,
		hasVip: live[node].hasVip,
	}));
	const holders = reports.filter((r) => r.hasVip);
	const states = reports.map((r) => `${r.node} — ${describeState(r.state)}`).join(', ');
	if (holders.length === 1) {
		return pass(`VIP ${vip} держит ${holders[0]!.node} (${states}).`);
	}
	const stale = holders.find((r) => r.state === 'stopped');
	if (holders.length === 2 && stale) {
		// keepalived killed (not stopped) leaves its VIP behind: nobody is left to remove it.
		return fail(
			`VIP ${vip} есть на обоих узлах, но keepalived на ${stale.node} не работает: адрес остался на интерфейсе после аварийной остановки, и снять его некому. Трафик получает тот, кто последним разослал ARP. Запустите keepalived на ${stale.node} (sudo systemctl start keepalived) — при запуске он уберёт лишний адрес.`,
		);
	}
	if (holders.length === 2) {
		return fail(
			`VIP ${vip} поднят на обоих узлах сразу — это split brain: узлы не слышат VRRP-объявлений друг друга, и каждый считает себя MASTER. Клиенты попадают то на один узел, то на другой, в зависимости от ARP. Проверьте, что virtual_router_id и advert_int на узлах совпадают.`,
		);
	}
	if (reports.every((r) => r.state === 'stopped' || r.state === 'absent')) {
		return pending(
			`VIP ${vip} поднимает служба keepalived, а она не запущена ни на одном узле. Запустите её: sudo systemctl start keepalived.`,
		);
	}
	const why = reports.flatMap(({ node, state }) => {
		switch (state) {
			case 'MASTER':
				return [
					`${node} в состоянии MASTER, но адреса ${vip} на нём нет: в virtual_ipaddress указан другой адрес — исправьте его на ${vip}/24.`,
				];
			case 'FAULT':
				return [
					`${node} в FAULT: не проходит проверка из track_script (работает ли haproxy? sudo systemctl status haproxy) или недоступен интерфейс; в FAULT узел VIP не берёт.`,
				];
			case 'stopped':
				return [`На ${node} keepalived не запущен: sudo systemctl start keepalived.`];
			default:
				return [];
		}
	});
	const electing =
		reports.some((r) => r.state === 'BACKUP') &&
		!reports.some((r) => r.state === 'MASTER' || r.state === 'FAULT');
	if (electing) {
		// Nothing is wrong yet: a BACKUP that hears no MASTER takes the VIP after master-down.
		return pending(
			[
				`Идут выборы VRRP (${states}): VIP появится сам.`,
				...why,
				'Узел в BACKUP становится MASTER, если не слышит мастера 3 × advert_int плюс (256 − priority)/256 с (около 6,6 с при advert_int 2 и priority 100).',
			].join('\n'),
		);
	}
	return fail([`VIP ${vip} не поднят ни на одном узле (${states}).`, ...why].join('\n'));
}

export function pass(message: string): Verdict {
	return { status: 'pass', message };
}

export function fail(message: string): Verdict {
	return { status: 'fail', message };
}

export function pending(message: string): Verdict {
	return { status: 'pending', message };
}

export function isInstalled(probes: Probes): boolean {
	return INSTALLED.test(probes.package?.output.trim() ?? '');
}

function hasConfig(probes: Probes): boolean {
	return probes.config?.code === 0 && probes.config.output.trim() !== '';
}

function unitState(probes: Probes): { enabled: string; active: string } {
	const output = probes.service?.output ?? '';
	return {
		enabled: PROBE_OUTPUT_PATTERNS.unitFileState.exec(output)?.[1]?.trim() ?? '',
		active: PROBE_OUTPUT_PATTERNS.activeState.exec(output)?.[1]?.trim() ?? '',
	};
}

function describeState(state: KeepalivedState): string {
	switch (state) {
		case 'stopped':
			return 'служба остановлена';
		case 'absent':
			return 'keepalived не установлен';
		default:
			return state;
	}
}
