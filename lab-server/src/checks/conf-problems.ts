/**
 * What is wrong with the learner's keepalived.conf on hap1 and hap2, compared with each other and
 * with the guide's intent, and what a failing `keepalived -t` means: each problem a Russian
 * sentence saying what is wrong and why it matters.
 */
import type { LabNode } from '../api';
import type { ConfSummary, VrrpInstance } from './keepalived-conf';

/** keepalived.conf of one node, as read from it. */
export interface NodeConf {
	summary: ConfSummary;
	/**
	 * Whether the node has a `keepalived_script` user: with `enable_script_security` and no
	 * `script_user`, keepalived runs scripts as that user, and removes them when it is missing.
	 */
	hasKeepalivedScriptUser: boolean;
}

/**
 * Compares the configs of the nodes that have one with the guide's intent: the same
 * `virtual_router_id` and `advert_int` on both, `state BACKUP` with `nopreempt`, scripts allowed
 * to run (`enable_script_security` with `script_user`), this lab's VIP, an `interface`, and
 * `track_script` naming defined `vrrp_script`s. A problem found on both nodes is reported once,
 * naming both. Returns the problems in Russian, the most fundamental first; none is a pass.
 */
export function findConfProblems(confs: Partial<Record<LabNode, NodeConf>>, vip: string): string[] {
	const findings: Finding[] = [];
	const nodes = (Object.keys(confs) as LabNode[]).sort();
	const main = new Map<LabNode, VrrpInstance>();
	for (const node of nodes) {
		const { summary } = confs[node]!;
		const instance = mainInstance(summary, vip);
		if (!instance) {
			findings.push({
				node,
				key: 'no-instance',
				text: (on) =>
					`В конфигурации ${on} нет блока vrrp_instance: keepalived запустится, но виртуальным адресом управлять не будет — VIP не появится ни на одном узле.`,
			});
			continue;
		}
		main.set(node, instance);
	}

	const [first, second] = nodes.filter((node) => main.has(node));
	if (first && second) {
		const a = main.get(first)!;
		const b = main.get(second)!;
		if (a.virtualRouterId !== null && b.virtualRouterId !== null) {
			if (a.virtualRouterId !== b.virtualRouterId) {
				findings.push({
					key: 'vrid',
					text: () =>
						`virtual_router_id на ${first} (${a.virtualRouterId}) и ${second} (${b.virtualRouterId}) различаются — узлы не увидят друг друга: каждый отбрасывает VRRP-объявления чужого виртуального роутера, оба станут MASTER и поднимут VIP одновременно (split brain). Укажите на обоих одно и то же число, в руководстве — 115.`,
				});
			}
		}
		const intervalA = a.advertInt ?? '1';
		const intervalB = b.advertInt ?? '1';
		if (Number(intervalA) !== Number(intervalB)) {
			findings.push({
				key: 'advert-int',
				text: () =>
					`advert_int на ${first} (${intervalA}) и ${second} (${intervalB}) различаются: keepalived (VRRPv2) отбрасывает объявления с чужим интервалом («advertisement interval mismatch»), узлы не услышат друг друга, и оба станут MASTER (split brain). Укажите одинаковый advert_int, в руководстве — 2.`,
			});
		}
	}

	for (const [node, instance] of main) {
		const { summary, hasKeepalivedScriptUser } = confs[node]!;
		const where = `vrrp_instance ${instance.name}`;
		if (instance.virtualRouterId === null) {
			findings.push({
				node,
				key: `no-vrid:${instance.name}`,
				text: (on) =>
					`В ${where} на ${on} не задан virtual_router_id: без него keepalived не запустит этот экземпляр VRRP. Добавьте virtual_router_id 115, одинаковый на обоих узлах.`,
			});
		}
		if (instance.state === 'MASTER' && instance.nopreempt) {
			findings.push({
				node,
				key: 'master-nopreempt',
				text: (on) =>
					`На ${on} state MASTER вместе с nopreempt: nopreempt работает только с начальным состоянием BACKUP, и keepalived его сбрасывает («nopreempt will not work with initial state MASTER - clearing»). Узел в MASTER, вернувшись после сбоя, сразу объявит себя мастером и поднимет VIP, не дожидаясь выборов, — то самое лишнее переключение, от которого должен был защитить nopreempt. Укажите state BACKUP, как в руководстве.`,
			});
		} else if (instance.state === 'MASTER') {
			findings.push({
				node,
				key: 'master',
				text: (on) =>
					`На ${on} state MASTER: в руководстве оба узла стартуют в BACKUP и выбирают мастера между собой. Узел в MASTER при каждом запуске сразу объявляет себя мастером и поднимает VIP, не дожидаясь выборов: вернувшись после сбоя, он на время окажется вторым MASTER рядом с действующим (VIP на двух узлах сразу), а nopreempt с MASTER не работает. Укажите state BACKUP, как в руководстве.`,
			});
		} else if (!instance.nopreempt) {
			findings.push({
				node,
				key: `no-nopreempt:${instance.name}`,
				text: (on) =>
					`В ${where} на ${on} нет nopreempt, а в конфигурации руководства он есть. При равных priority (100 и 100) это незаметно, но стоит сделать приоритеты разными — и узел с большим priority, вернувшись после сбоя, отберёт VIP у действующего MASTER: второе, лишнее переключение с обрывом соединений. Добавьте nopreempt.`,
			});
		}

		const scripts = instance.trackScripts.filter((name) => summary.vrrpScripts.includes(name));
		if (
			summary.enableScriptSecurity &&
			summary.scriptUser === null &&
			!hasKeepalivedScriptUser &&
			summary.vrrpScripts.length > 0
		) {
			const names = (scripts.length > 0 ? scripts : summary.vrrpScripts).join(', ');
			findings.push({
				node,
				key: `script-user:${names}`,
				text: (on) =>
					`В global_defs на ${on} есть enable_script_security, но нет script_user, а пользователя keepalived_script в системе нет: keepalived не сможет запустить скрипты (${names}) и удалит их — в журнале останется лишь «Unable to set default user», а VIP не переедет, когда упадёт haproxy. Добавьте в global_defs script_user root, как в руководстве.`,
			});
		}

		if (!instance.hasVirtualIpBlock || instance.virtualIps.length === 0) {
			findings.push({
				node,
				key: `no-vip:${instance.name}`,
				text: (on) =>
					`В ${where} на ${on} нет адресов в virtual_ipaddress: keepalived не поднимет VIP ${vip}. Добавьте блок virtual_ipaddress { ${vip}/24 dev eth0 label eth0:1 }.`,
			});
		} else if (!instance.virtualIps.includes(vip)) {
			const found = instance.virtualIps.join(', ');
			findings.push({
				node,
				key: `wrong-vip:${found}`,
				text: (on) =>
					`В virtual_ipaddress на ${on} указан ${found}, а VIP вашего стенда — ${vip}: у каждого стенда своя подсеть, и чужой адрес клиенты в ней не найдут. Замените адрес на ${vip}/24.`,
			});
		}

		if (instance.interface === null) {
			findings.push({
				node,
				key: `no-interface:${instance.name}`,
				text: (on) =>
					`В ${where} на ${on} нет interface: keepalived не знает, через какой интерфейс слать VRRP-объявления и куда поднимать VIP. Добавьте interface eth0.`,
			});
		}

		const undefinedScripts = instance.trackScripts.filter(
			(name) => !summary.vrrpScripts.includes(name),
		);
		for (const name of undefinedScripts) {
			const defined = summary.vrrpScripts.length
				? `определены: ${summary.vrrpScripts.join(', ')}`
				: 'блоков vrrp_script нет вовсе';
			findings.push({
				node,
				key: `undefined-script:${name}:${defined}`,
				text: (on) =>
					`В track_script на ${on} указан ${name}, но блока vrrp_script ${name} нет (${defined}): keepalived пропустит эту проверку («track script ${name} not found, ignoring»), и её отказ не переместит VIP. Исправьте имя или опишите vrrp_script ${name}.`,
			});
		}
		if (instance.trackScripts.length === 0) {
			findings.push({
				node,
				key: `no-track-script:${instance.name}`,
				text: (on) =>
					`В ${where} на ${on} нет track_script: keepalived не следит за haproxy, и если haproxy упадёт, VIP останется на узле, который уже не отвечает клиентам. Добавьте track_script { chk_haproxy } с vrrp_script chk_haproxy, как в руководстве.`,
			});
		}
	}
	return mergeFindings(findings);
}

/** The exit code of `timeout(1)` when keepalived -t ran out of time. */
const TIMED_OUT = 124;

/** The result of `keepalived -t` on one node. */
export interface ConfigTest {
	code: number;
	/** What it printed (stdout and stderr). */
	output: string;
}

/**
 * What each failing `keepalived -t` means, with the first lines keepalived printed; none when
 * every node's exits 0. keepalived 2.2.7 exits 5 on any error or warning in the config (an
 * unknown keyword, a track script it drops) and 6 when scripts are configured without
 * `enable_script_security`. It exits 0 for a missing or empty file, so the checks look at the
 * file first.
 */
export function configTestProblems(tests: Partial<Record<LabNode, ConfigTest>>): string[] {
	const findings: Finding[] = [];
	for (const node of (Object.keys(tests) as LabNode[]).sort()) {
		const { code, output } = tests[node]!;
		if (code === 0) continue;
		const lines = firstMessages(output);
		const printed = lines.length
			? ` Первые сообщения keepalived: ${lines.map((l) => `«${l}»`).join('; ')}.`
			: '';
		findings.push({
			node,
			key: `${code}:${printed}`,
			text: (on) =>
				code === TIMED_OUT
					? `keepalived -t на ${on} не закончил проверку за 5 секунд: возможно, include подключает слишком много файлов.`
					: `keepalived -t на ${on} завершился с кодом ${code} — ${exitReason(code)}${printed}`,
		});
	}
	return mergeFindings(findings);
}

// --- helpers ---------------------------------------------------------------------------------

function exitReason(code: number): string {
	switch (code) {
		case 5:
			return 'в конфигурации ошибки: keepalived пропустит или заменит неверные настройки, и узел будет работать не так, как написано в файле.';
		case 6:
			return 'скрипты проверки описаны, но в global_defs нет enable_script_security: keepalived считает это нарушением безопасности (скрипт, который может изменить не-root пользователь, выполнился бы от root). Добавьте enable_script_security и script_user root, как в руководстве.';
		default:
			return 'конфигурацию не удалось проверить.';
	}
}

/** The instance the lab is about: the one with this lab's VIP, else the first. */
function mainInstance(summary: ConfSummary, vip: string): VrrpInstance | undefined {
	return summary.instances.find((i) => i.virtualIps.includes(vip)) ?? summary.instances[0];
}

/**
 * A problem on one node (`node`) or about both (no `node`). Findings with the same key are one
 * problem: the message names every node it was found on.
 */
interface Finding {
	node?: LabNode;
	key: string;
	text: (on: string) => string;
}

function mergeFindings(findings: Finding[]): string[] {
	const merged = new Map<string, { nodes: LabNode[]; text: Finding['text'] }>();
	for (const finding of findings) {
		const entry = merged.get(finding.key) ?? { nodes: [], text: finding.text };
		if (finding.node) entry.nodes.push(finding.node);
		merged.set(finding.key, entry);
	}
	return [...merged.values()].map(({ nodes, text }) => text(nodes.sort().join(' и ')));
}

/**
 * keepalived -t parses the config once per process (parent, VRRP, checker) and prints the same
 * message with and without the file name: the first distinct ones, without the file name.
 */
/** The patterns run on `keepalived -t`'s output (root in the node controls the binary). */
export const CONF_TEST_PATTERNS = {
	location: /^\((?:[^():]+: )?(Line \d+)\)/,
	finalDot: /(?<!\.)\.$/,
} as const;

function firstMessages(output: string, limit = 3): string[] {
	const seen = new Set<string>();
	for (const raw of output.split('\n')) {
		const line = raw
			.replace(CONF_TEST_PATTERNS.location, '($1)')
			.trim()
			.replace(CONF_TEST_PATTERNS.finalDot, '')
			.slice(0, 200);
		if (line) seen.add(line);
		if (seen.size === limit) break;
	}
	return [...seen];
}
