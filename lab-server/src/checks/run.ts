/**
 * The course's checks: one per step, each a small spec — which node commands it reads (PROBES),
 * what it looks for, and what to tell the learner in Russian. `runChecks` runs every probe the
 * requested checks need in ONE exec per node (a short script printing one JSON line per probe,
 * parsed with a schema), then judges all checks from that: 40 labs polling their checks must not
 * mean 40 × 8 execs on dockerd.
 *
 * Status: `pass`; `pending` — not started yet (keepalived not installed, nothing to look at);
 * `fail` — attempted but wrong, with a message saying what is wrong and why it matters.
 *
 * A check's `step` is the slug of the course step (`content/steps/<slug>.mdx`) whose frontmatter
 * `check:` names it, read once at start-up; it is '' when no step claims the check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { z } from 'zod';
import { execInNode } from '../docker/engine';
import {
	configTestProblems,
	findConfProblems,
	parseKeepalivedConf,
	summarizeConf,
	type ConfigTest,
	type NodeConf,
} from './keepalived-conf';
import type { Lab, VipChange } from '../labs/manager';
import { LAB_NODES, type LabNode } from '../docker/provision';

export type CheckStatus = 'pass' | 'fail' | 'pending';

export interface CheckResult {
	id: string;
	step: string;
	title: string;
	status: CheckStatus;
	message: string;
}

/** One change of the VIP's holder, as the lab server records it (`Lab.vipHistory`). */
export type VipHistoryEntry = VipChange;

export interface Verdict {
	status: CheckStatus;
	message: string;
}

/**
 * The node commands, each a bash function body run as root; what it prints (stdout and stderr)
 * and its exit code are what the checks read. Keep them cheap: they run on every poll.
 */
const PROBES = {
	/** `install ok installed` once the package is in. */
	package: "dpkg-query -W -f='${Status}' keepalived 2>/dev/null",
	/** The learner's recent commands (their shell appends after each one; root's on exit). */
	history: `for f in /home/ubuntu/.bash_history /root/.bash_history; do
	[ -r "$f" ] && tail -c 32768 "$f" && echo
done
true`,
	/** Exit 3 when there is no file. */
	config: `f=/etc/keepalived/keepalived.conf
[ -f "$f" ] || exit 3
head -c 65536 "$f"`,
	/** keepalived's own verdict; 127 when keepalived is not installed. It logs nothing. */
	configTest: `command -v keepalived >/dev/null || exit 127
[ -f /etc/keepalived/keepalived.conf ] || exit 0
timeout 5 keepalived -t`,
	scriptUser: 'getent passwd keepalived_script >/dev/null',
	/** `UnitFileState=enabled` and `ActiveState=active` once the service is on. */
	service: 'systemctl show -p UnitFileState -p ActiveState keepalived',
	/** The image's own state report (lab-state.ts reads the same): VRRP state and eth0's addresses. */
	vrrp: '/usr/local/lib/keepalived-lab/status',
} as const satisfies Record<string, string>;

export type ProbeName = keyof typeof PROBES;
const PROBE_NAMES = Object.keys(PROBES) as [ProbeName, ...ProbeName[]];

export interface ProbeOutput {
	code: number;
	output: string;
}

/** What the probes of one node printed. */
export type Probes = Partial<Record<ProbeName, ProbeOutput>>;

/** What one node answered: each probe's output, or why the node could not be asked. */
export type NodeFacts = { error: string } | { probes: Probes };

/** Everything a check is judged from. */
export interface LabFacts {
	nodes: Record<LabNode, NodeFacts>;
	vip: string;
	history: readonly VipHistoryEntry[];
}

export interface CheckSpec {
	id: string;
	/** The course step (MDX slug) this check belongs to; '' when no step's `check:` names it. */
	step: string;
	/** What passing means, in Russian. */
	title: string;
	/** The node commands the check reads, on both nodes; none for checks decided from records. */
	probes: readonly ProbeName[];
	judge: (nodes: Record<LabNode, Probes>, lab: Omit<LabFacts, 'nodes'>) => Verdict;
}

// --- the checks, in course order -------------------------------------------------------------

const INSTALLED = /^install ok installed$/;

/** `keepalived -v` or `--version` as a command of its own, with or without sudo and a path. */
export const VERSION_COMMAND =
	/^\s*(?:sudo(?:\s+(?:-[ugh]\s*\S+|-\S+))*\s+)?(?:\S*\/)?keepalived(?:\s+-\S+)*?\s+(?:-v|--version)(?=\s|$)/;

/** keepalived's log read from syslog's file with grep, or from the journal. */
export const LOG_COMMANDS = [
	/^(?=.*\/var\/log\/(?:messages|syslog)\b)(?=.*grep\b)/,
	/\bjournalctl\b.*keepalived/i,
];

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
			match: [VERSION_COMMAND],
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
		probes: ['vrrp'],
		judge: (nodes, { vip }) => judgeVip(nodes, vip),
	},
	{
		id: 'logs',
		title: 'Журнал keepalived просмотрен',
		...inHistory({
			match: LOG_COMMANDS,
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

const STEPS_DIR = fileURLToPath(new URL('../../../content/steps/', import.meta.url));
const stepOfCheck = readStepChecks(STEPS_DIR);

/** Every check, in the order of the course's steps (checks no step claims keep theirs, last). */
export const CHECKS: readonly CheckSpec[] = SPECS.map((spec) => ({
	...spec,
	step: stepOfCheck.get(spec.id)?.slug ?? '',
})).sort((a, b) => courseRank(a.id) - courseRank(b.id));

function courseRank(id: string): number {
	return stepOfCheck.get(id)?.order ?? Number.MAX_SAFE_INTEGER;
}

// --- running ---------------------------------------------------------------------------------

/** One exec per node may take this long (a paused or overloaded node must not hang a request). */
const NODE_TIMEOUT_MS = 10_000;

/**
 * Runs the checks on a lab: all of them in course order, or only the one with id `only` (which
 * must exist: RangeError otherwise). Both nodes are asked at once, one exec each.
 */
export async function runChecks(
	docker: Docker,
	lab: Pick<Lab, 'containers' | 'addresses'>,
	history: VipHistoryEntry[],
	only?: string,
): Promise<CheckResult[]> {
	const specs = only === undefined ? CHECKS : [findCheck(only)];
	const probes = [...new Set(specs.flatMap((spec) => spec.probes))];
	const answers = await Promise.all(
		LAB_NODES.map((node) =>
			probes.length ? probeNode(docker, lab.containers[node], probes) : { probes: {} },
		),
	);
	const nodes = Object.fromEntries(LAB_NODES.map((node, i) => [node, answers[i]!])) as Record<
		LabNode,
		NodeFacts
	>;
	return evaluateChecks(specs, { nodes, vip: lab.addresses.vip, history });
}

/** Judges `specs` from what the nodes answered (pure: unit tests feed it facts directly). */
export function evaluateChecks(specs: readonly CheckSpec[], facts: LabFacts): CheckResult[] {
	return specs.map((spec) => {
		const { id, step, title } = spec;
		const unreachable = spec.probes.length
			? LAB_NODES.filter((node) => 'error' in facts.nodes[node])
			: [];
		if (unreachable.length) {
			const message = unreachable
				.map((node) => {
					const { error } = facts.nodes[node] as { error: string };
					return `Не удалось опросить ${node}: ${error}. Проверка повторится сама; если узел завис, сбросьте его («Сбросить стенд»).`;
				})
				.join('\n');
			return { id, step, title, status: 'pending', message };
		}
		const nodes = Object.fromEntries(
			LAB_NODES.map((node) => [node, (facts.nodes[node] as { probes: Probes }).probes]),
		) as Record<LabNode, Probes>;
		return { id, step, title, ...spec.judge(nodes, facts) };
	});
}

/**
 * The failover check, decided from the lab server's record of who held the VIP: passes once the
 * holder changed from one node to the other (with or without a moment when nobody held it).
 */
export function checkFailover(history: readonly VipHistoryEntry[]): Verdict {
	let holder: VipHistoryEntry | undefined;
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
			message: `Сейчас VIP на ${current}. Сломайте этот узел — например, sudo systemctl stop haproxy на ${current} — и посмотрите, как VIP переедет на ${other(current)}.`,
		};
	}
	return {
		status: 'pending',
		message:
			'Сначала добейтесь, чтобы VIP держал один из узлов, потом сломайте этот узел (например, остановите на нём haproxy) и посмотрите, как VIP переедет на другой.',
	};
}

/**
 * check id → its step, from each step's frontmatter `check:` (one id, `[a, b]` or a YAML list):
 * the slug (the frontmatter's `slug:` or, as Astro's glob loader makes it, the file's path
 * without `.mdx`, slugified) and the step's `order`. The first step to claim a check keeps it.
 * Missing folder: no steps.
 */
export function readStepChecks(
	dir: string,
): Map<string, { slug: string; order: number; title: string }> {
	const steps = new Map<string, { slug: string; order: number; title: string }>();
	let files: string[];
	try {
		files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
			.filter((file) => file.endsWith('.mdx'))
			.sort();
	} catch {
		return steps;
	}
	for (const file of files) {
		const frontmatter = /^---\r?\n([\s\S]*?)\r?\n---/.exec(
			readFileSync(path.join(dir, file), 'utf8'),
		)?.[1];
		if (frontmatter === undefined) continue;
		const slug = frontmatterList(frontmatter, 'slug')[0] ?? slugify(file);
		const order = Number(frontmatterList(frontmatter, 'order')[0] ?? NaN);
		const title = frontmatterList(frontmatter, 'title')[0] ?? slug;
		for (const id of frontmatterList(frontmatter, 'check')) {
			if (!steps.has(id)) {
				steps.set(id, {
					slug,
					order: Number.isFinite(order) ? order : Number.MAX_SAFE_INTEGER,
					title,
				});
			}
		}
	}
	return steps;
}

// --- judges that a spec alone cannot express -------------------------------------------------

function judgeConfig(nodes: Record<LabNode, Probes>, { vip }: { vip: string }): Verdict {
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
		if (/missing '\}'|Extra '\}'/.test(test.output)) continue;
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

function judgeService(nodes: Record<LabNode, Probes>): Verdict {
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

function judgeVip(nodes: Record<LabNode, Probes>, vip: string): Verdict {
	const reports = LAB_NODES.map((node) => ({ node, ...vrrpReport(nodes[node], vip) }));
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
	if (reports.some((r) => r.state === 'BACKUP') && !reports.some((r) => r.state === 'MASTER')) {
		why.push(
			'Узел в BACKUP становится MASTER, если не слышит мастера 3 × advert_int (около 7 с при advert_int 2): если службу только что запустили, подождите и проверьте снова.',
		);
	}
	return fail([`VIP ${vip} не поднят ни на одном узле (${states}).`, ...why].join('\n'));
}

// --- spec builders ---------------------------------------------------------------------------

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
	match: RegExp[];
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

/**
 * Whether a history line, or one command of it (split at `;`, `&&`, `||`, `|`), matches one of
 * `patterns`: the command-anchored patterns see each command, the others the whole line.
 */
export function historyHas(history: string, patterns: readonly RegExp[]): boolean {
	return history.split('\n').some((line) => {
		const commands = [line, ...line.split(/[;&|]+/)];
		return patterns.some((pattern) => commands.some((command) => pattern.test(command)));
	});
}

// --- node probing ----------------------------------------------------------------------------

/** One line per probe: `{"probe":…,"code":…,"output":"<base64>"}` (base64: any bytes, one line). */
const probeLine = z.object({
	probe: z.enum(PROBE_NAMES),
	code: z.number().int(),
	output: z
		.string()
		.base64()
		.transform((text) => Buffer.from(text, 'base64').toString('utf8')),
});

/** The image's status line (see docker/node/…/status); only what the vip check reads. */
const vrrpStatus = z.object({
	keepalived: z.string().max(16),
	addresses: z.array(z.string().max(64)).max(64),
});

async function probeNode(docker: Docker, containerId: string, probes: ProbeName[]) {
	let stdout: string;
	try {
		({ stdout } = await execInNode(docker, containerId, ['bash', '-c', nodeScript(probes)], {
			timeoutMs: NODE_TIMEOUT_MS,
		}));
	} catch (error) {
		return { error: unreachableReason(error) };
	}
	const answers: Probes = {};
	for (const line of stdout.split('\n')) {
		if (!line.trim()) continue;
		const parsed = probeLine.safeParse(safeJson(line));
		if (!parsed.success) return { error: 'узел ответил непонятно' };
		answers[parsed.data.probe] = { code: parsed.data.code, output: parsed.data.output };
	}
	if (probes.some((probe) => !answers[probe])) return { error: 'узел ответил не полностью' };
	return { probes: answers };
}

/**
 * The script for one node: each probe as a function in a subshell (so `exit` ends only it), its
 * output capped, reported as one JSON line. One after the other: on a busy two-core host, running
 * them at once saves no time (measured), and CPU is what 40 labs share.
 */
function nodeScript(probes: readonly ProbeName[]): string {
	return [
		...probes.map((name) => `probe_${name}() (\n${PROBES[name]}\n)`),
		'report() {',
		'\tlocal out code',
		'\tout=$("probe_$1" 2>&1)',
		'\tcode=$?',
		`\tprintf '{"probe":"%s","code":%d,"output":"%s"}\\n' "$1" "$code" "$(printf %s "\${out:0:131072}" | base64 -w0)"`,
		'}',
		...probes.map((name) => `report ${name}`),
	].join('\n');
}

function unreachableReason(error: unknown): string {
	const { statusCode, message } = error as { statusCode?: number; message?: string };
	if (statusCode === 409 && /paused/i.test(message ?? '')) return 'узел приостановлен';
	if (statusCode === 409) return 'узел остановлен';
	if (statusCode === 404) return 'узла больше нет';
	if (/timed out/.test(message ?? '')) return `узел не ответил за ${NODE_TIMEOUT_MS / 1000} с`;
	return 'узел недоступен';
}

// --- small helpers ---------------------------------------------------------------------------

function findCheck(id: string): CheckSpec {
	const spec = CHECKS.find((check) => check.id === id);
	if (!spec) {
		throw new RangeError(
			`unknown check "${id}": expected one of ${CHECKS.map((c) => c.id).join(', ')}`,
		);
	}
	return spec;
}

function pass(message: string): Verdict {
	return { status: 'pass', message };
}

function fail(message: string): Verdict {
	return { status: 'fail', message };
}

function pending(message: string): Verdict {
	return { status: 'pending', message };
}

function other(node: LabNode): LabNode {
	return node === 'hap1' ? 'hap2' : 'hap1';
}

function isInstalled(probes: Probes): boolean {
	return INSTALLED.test(probes.package?.output.trim() ?? '');
}

function hasConfig(probes: Probes): boolean {
	return probes.config?.code === 0 && probes.config.output.trim() !== '';
}

function unitState(probes: Probes): { enabled: string; active: string } {
	const output = probes.service?.output ?? '';
	return {
		enabled: /^UnitFileState=(.*)$/m.exec(output)?.[1]?.trim() ?? '',
		active: /^ActiveState=(.*)$/m.exec(output)?.[1]?.trim() ?? '',
	};
}

function vrrpReport(probes: Probes, vip: string): { state: string; hasVip: boolean } {
	const parsed = vrrpStatus.safeParse(safeJson(probes.vrrp?.output ?? ''));
	if (!parsed.success) return { state: 'unknown', hasVip: false };
	return {
		state: parsed.data.keepalived,
		hasVip: parsed.data.addresses.some((address) => address.split('/')[0] === vip),
	};
}

function describeState(state: string): string {
	switch (state) {
		case 'stopped':
			return 'служба остановлена';
		case 'absent':
			return 'keepalived не установлен';
		case 'unknown':
			return 'состояние неизвестно';
		default:
			return state;
	}
}

function safeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/** `check: install`, `check: [install, version]` or a YAML block list under `check:`. */
export function frontmatterList(frontmatter: string, key: string): string[] {
	const match = new RegExp(`^${key}:[ \\t]*(.*)$`, 'm').exec(frontmatter);
	if (!match) return [];
	const value = match[1]!.trim();
	const unquote = (item: string) => item.trim().replace(/^(['"])(.*)\1$/, '$2');
	if (value.startsWith('[')) {
		return value.slice(1, value.lastIndexOf(']')).split(',').map(unquote).filter(Boolean);
	}
	if (value) return [unquote(value)];
	const rest = frontmatter.slice(match.index + match[0].length).split('\n');
	const items: string[] = [];
	for (const line of rest.slice(1)) {
		const item = /^\s+-\s+(.+)$/.exec(line);
		if (!item) break;
		items.push(unquote(item[1]!));
	}
	return items;
}

/** As github-slugger (Astro's glob loader) does it, per path segment, for plain file names. */
function slugify(file: string): string {
	return file
		.replace(/\.mdx$/, '')
		.split(/[\\/]/)
		.map((segment) =>
			segment
				.toLowerCase()
				.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
				.replace(/ /g, '-'),
		)
		.join('/')
		.replace(/\/index$/, '');
}
