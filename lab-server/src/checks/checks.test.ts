import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKS } from './specs';
import { historyHas, isLogCommand, isVersionCommand } from './history';
import { checkFailover, type LiveNode } from './judges';
import { evaluateChecks, type LabFacts } from './run';
import { readStepChecks } from '../course/steps';
import type { KeepalivedState, LabNode } from '../api';
import type { NodeFacts, ProbeOutput } from './probes';

const VIP = '10.129.3.10';
const STEPS = fileURLToPath(new URL('../../../content/steps/', import.meta.url));

describe('CHECKS', () => {
	it('has one check per id, each claimed by exactly one course step, in course order', () => {
		const ids = CHECKS.map((check) => check.id);
		expect(ids).toEqual(['install', 'version', 'config', 'service', 'vip', 'logs', 'failover']);
		const claimed = new Map<string, string[]>();
		for (const file of readdirSync(STEPS).filter((f) => f.endsWith('.mdx'))) {
			const check = /^check:\s*(\S+)/m.exec(readFileSync(path.join(STEPS, file), 'utf8'))?.[1];
			if (check) claimed.set(check, [...(claimed.get(check) ?? []), file]);
		}
		for (const [check, files] of claimed) {
			expect(ids, `${files.join(', ')}: unknown check "${check}"`).toContain(check);
			expect(files, `check "${check}" claimed twice`).toHaveLength(1);
		}
		for (const check of CHECKS) {
			expect(check.step, `no step's frontmatter says check: ${check.id}`).not.toBe('');
			expect(claimed.get(check.id)).toEqual([`${check.step}.mdx`]);
		}
	});
});

describe('readStepChecks', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'steps-'));
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	it('reads check ids from frontmatter: a name, a list, a YAML list; slug as Astro makes it; the title', () => {
		const step = (file: string, frontmatter: string) => {
			mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
			writeFileSync(path.join(dir, file), `---\n${frontmatter}\n---\n\nТекст.\ncheck: not-this\n`);
		};
		step('03-install.mdx', 'title: Установка\norder: 3\ncheck: install');
		step('04 Version Check.mdx', 'title: Версия\norder: 4\ncheck: [version, "logs"]');
		step(
			'part/05-config.mdx',
			'title: Конфиг\norder: 5\ncheck:\n  - config\n  - service\nnodes: []',
		);
		step('06-other.mdx', 'title: Своё имя\norder: 6\nslug: custom\ncheck: vip');
		step('07-later.mdx', 'title: Повтор\norder: 7\ncheck: install');
		writeFileSync(path.join(dir, 'notes.md'), '---\ncheck: failover\n---\n');
		expect(Object.fromEntries(readStepChecks(dir))).toEqual({
			install: { slug: '03-install', order: 3, title: 'Установка' },
			version: { slug: '04-version-check', order: 4, title: 'Версия' },
			logs: { slug: '04-version-check', order: 4, title: 'Версия' },
			config: { slug: 'part/05-config', order: 5, title: 'Конфиг' },
			service: { slug: 'part/05-config', order: 5, title: 'Конфиг' },
			vip: { slug: 'custom', order: 6, title: 'Своё имя' },
		});
		expect(readStepChecks(path.join(dir, 'missing')).size).toBe(0);
	});
});

describe('command history', () => {
	const version = (line: string) => historyHas(line, [isVersionCommand]);
	const logs = (line: string) => historyHas(line, [isLogCommand]);

	it('sees keepalived -v run, with or without sudo, and nothing that only mentions it', () => {
		for (const line of [
			'keepalived -v',
			'sudo keepalived -v',
			'sudo keepalived --version',
			'  /usr/sbin/keepalived -v 2>&1 | head -3',
			'cd && sudo -E keepalived -v',
			'sudo -u root keepalived -v',
			'ls; keepalived -l -v',
		]) {
			expect(version(line), line).toBe(true);
		}
		for (const line of [
			'keepalived -t',
			'echo keepalived -v',
			'sudo apt-get install keepalived -y -v',
			'man keepalived',
			'grep keepalived -v /var/log/messages',
			'keepalived -vt',
		]) {
			expect(version(line), line).toBe(false);
		}
		expect(version('ls\nsudo keepalived -v\nexit')).toBe(true);
	});

	it("sees keepalived's log read from /var/log/messages with grep, or with journalctl", () => {
		for (const line of [
			'sudo tail -20f /var/log/messages|grep -i keepalived',
			'sudo grep -i keepalived /var/log/messages',
			'sudo tail -20f /var/log/syslog | grep -i keepalived',
			'sudo journalctl -u keepalived -n 20',
			'journalctl -fu keepalived',
			'sudo journalctl --unit=keepalived.service --since "10 min ago"',
			'sudo journalctl -t Keepalived_vrrp',
		]) {
			expect(logs(line), line).toBe(true);
		}
		for (const line of [
			'sudo tail -20f /var/log/messages',
			'sudo journalctl -u haproxy',
			'grep -i keepalived /etc/keepalived/keepalived.conf',
			'sudo systemctl status keepalived',
		]) {
			expect(logs(line), line).toBe(false);
		}
	});
});

describe('checkFailover', () => {
	const at = (s: number) => new Date(Date.UTC(2025, 10, 25, 16, 10, s)).toISOString();

	it('is pending until the holder changes, saying where the VIP is', () => {
		expect(checkFailover([])).toMatchInlineSnapshot(`
			{
			  "message": "Сначала добейтесь, чтобы VIP держал один из узлов, потом сломайте этот узел (например, остановите на нём haproxy) и посмотрите, как VIP переедет на другой.",
			  "status": "pending",
			}
		`);
		expect(
			checkFailover([
				{ holder: 'hap1', at: at(0) },
				{ holder: null, at: at(5) },
				{ holder: 'hap1', at: at(9) },
			]),
		).toMatchInlineSnapshot(`
			{
			  "message": "Сейчас VIP на hap1. Сломайте этот узел — например, sudo systemctl stop haproxy на hap1 — и посмотрите, как VIP переедет на hap2.",
			  "status": "pending",
			}
		`);
	});

	it('passes when the holder moved to the other node, measuring the gap', () => {
		expect(
			checkFailover([
				{ holder: null, at: at(0) },
				{ holder: 'hap1', at: at(7) },
				{ holder: null, at: at(20) },
				{ holder: 'hap2', at: at(22) },
			]),
		).toMatchInlineSnapshot(`
			{
			  "message": "VIP переехал с hap1 на hap2: адрес был без хозяина около 2,0 с.",
			  "status": "pass",
			}
		`);
		expect(
			checkFailover([
				{ holder: 'hap2', at: at(1) },
				{ holder: 'hap1', at: at(2) },
			]),
		).toEqual({ status: 'pass', message: 'VIP переехал с hap2 на hap1: без заметного перерыва.' });
	});

	it('stays passed after the VIP is lost again', () => {
		const history = [
			{ holder: 'hap1' as const, at: at(0) },
			{ holder: 'hap2' as const, at: at(1) },
			{ holder: null, at: at(30) },
		];
		expect(checkFailover(history).status).toBe('pass');
	});
});

describe('evaluateChecks', () => {
	const installed: ProbeOutput = { code: 0, output: 'install ok installed' };
	const conf: ProbeOutput = { code: 0, output: 'vrrp_instance x {\n}\n' };
	const service = (enabled: string, active: string): ProbeOutput => ({
		code: 0,
		output: `ActiveState=${active}\nUnitFileState=${enabled}\n`,
	});
	/** A node as live-state.ts records it: keepalived's state and whether this lab's VIP is on it. */
	const live = (keepalived: KeepalivedState, hasVip = false): LiveNode => ({
		state: 'running',
		keepalived,
		hasVip,
	});
	const idle = { hap1: live('absent'), hap2: live('absent') };
	const judge = (
		id: string,
		hap1: NodeFacts,
		hap2: NodeFacts,
		nodes: Record<LabNode, LiveNode> = idle,
	) => {
		const facts: LabFacts = { nodes: { hap1, hap2 }, vip: VIP, history: [], live: nodes };
		const [result] = evaluateChecks(
			CHECKS.filter((check) => check.id === id),
			facts,
		);
		return { status: result!.status, message: result!.message };
	};

	it('install: pending on neither node, failing on one, naming it', () => {
		const none = { probes: { package: { code: 1, output: '' } } };
		expect(judge('install', none, none).status).toBe('pending');
		expect(judge('install', { probes: { package: installed } }, none)).toMatchInlineSnapshot(`
			{
			  "message": "keepalived не установлен на hap2: кластер — это два узла, и без keepalived hap2 не сможет подхватить VIP. Выполните на hap2: sudo apt-get install keepalived -y",
			  "status": "fail",
			}
		`);
		expect(
			judge(
				'install',
				{ probes: { package: { code: 0, output: 'deinstall ok config-files' } } },
				{ probes: { package: installed } },
			).message,
		).toMatchInlineSnapshot(
			`"Пакет keepalived на hap1 в состоянии «deinstall ok config-files»: он удалён или установлен не до конца. Выполните на hap1: sudo apt-get install keepalived -y"`,
		);
	});

	it('service: pending before any start; says which node is down, failed or not enabled', () => {
		const node = (s: ProbeOutput, config: ProbeOutput = conf): NodeFacts => ({
			probes: { package: installed, config, service: s },
		});
		expect(
			judge('service', node(service('enabled', 'inactive')), node(service('enabled', 'inactive')))
				.status,
		).toBe('pending');
		expect(
			judge('service', node(service('enabled', 'active')), node(service('enabled', 'active'))),
		).toEqual({ status: 'pass', message: 'keepalived включён и работает на обоих узлах.' });
		expect(
			judge('service', node(service('disabled', 'active')), node(service('enabled', 'failed')))
				.message,
		).toMatchInlineSnapshot(`
			"Автозапуск keepalived на hap1 выключен (disabled): после перезагрузки узла служба не поднимется, и узел выпадет из кластера. Выполните sudo systemctl enable keepalived.
			keepalived на hap2 упал (failed): причину покажет sudo journalctl -u keepalived -n 20. Исправьте её и выполните sudo systemctl restart keepalived."
		`);
		expect(
			judge(
				'service',
				node(service('enabled', 'active')),
				node(service('enabled', 'inactive'), { code: 3, output: '' }),
			).message,
		).toMatchInlineSnapshot(
			`"keepalived на hap2 не запущен: служба стартует только с непустым /etc/keepalived/keepalived.conf (ConditionFileNotEmpty), а его нет — systemctl start молча ничего не делает. Создайте файл и снова выполните sudo systemctl start keepalived."`,
		);
	});

	const none: NodeFacts = { probes: {} };

	it('vip: one holder passes; none names the states; both is split brain', () => {
		const one = judge('vip', none, none, {
			hap1: live('MASTER', true),
			hap2: live('BACKUP'),
		});
		expect(one).toEqual({
			status: 'pass',
			message: `VIP ${VIP} держит hap1 (hap1 — MASTER, hap2 — BACKUP).`,
		});
		expect(
			judge('vip', none, none, {
				hap1: live('stopped'),
				hap2: live('absent'),
			}).status,
		).toBe('pending');
		expect(
			judge('vip', none, none, {
				hap1: live('FAULT'),
				hap2: live('MASTER'),
			}).message,
		).toMatchInlineSnapshot(`
			"VIP 10.129.3.10 не поднят ни на одном узле (hap1 — FAULT, hap2 — MASTER).
			hap1 в FAULT: не проходит проверка из track_script (работает ли haproxy? sudo systemctl status haproxy) или недоступен интерфейс; в FAULT узел VIP не берёт.
			hap2 в состоянии MASTER, но адреса 10.129.3.10 на нём нет: в virtual_ipaddress указан другой адрес — исправьте его на 10.129.3.10/24."
		`);
		// keepalived just started: BACKUP until master-down, with nothing wrong (not a failure).
		expect(
			judge('vip', none, none, {
				hap1: live('BACKUP'),
				hap2: live('stopped'),
			}),
		).toMatchInlineSnapshot(`
			{
			  "message": "Идут выборы VRRP (hap1 — BACKUP, hap2 — служба остановлена): VIP появится сам.
			На hap2 keepalived не запущен: sudo systemctl start keepalived.
			Узел в BACKUP становится MASTER, если не слышит мастера 3 × advert_int плюс (256 − priority)/256 с (около 6,6 с при advert_int 2 и priority 100).",
			  "status": "pending",
			}
		`);
		expect(
			judge('vip', none, none, {
				hap1: live('BACKUP'),
				hap2: live('BACKUP'),
			}).status,
		).toBe('pending');
		// A FAULT beside a BACKUP is not an election that ends by itself.
		expect(
			judge('vip', none, none, {
				hap1: live('BACKUP'),
				hap2: live('FAULT'),
			}).status,
		).toBe('fail');
		expect(
			judge('vip', none, none, {
				hap1: live('MASTER', true),
				hap2: live('MASTER', true),
			}),
		).toMatchInlineSnapshot(`
			{
			  "message": "VIP 10.129.3.10 поднят на обоих узлах сразу — это split brain: узлы не слышат VRRP-объявлений друг друга, и каждый считает себя MASTER. Клиенты попадают то на один узел, то на другой, в зависимости от ARP. Проверьте, что virtual_router_id и advert_int на узлах совпадают.",
			  "status": "fail",
			}
		`);
	});

	it('vip: a VIP left behind by a killed keepalived is not called split brain', () => {
		expect(
			judge('vip', none, none, {
				hap1: live('stopped', true),
				hap2: live('MASTER', true),
			}).message,
		).toMatchInlineSnapshot(
			`"VIP 10.129.3.10 есть на обоих узлах, но keepalived на hap1 не работает: адрес остался на интерфейсе после аварийной остановки, и снять его некому. Трафик получает тот, кто последним разослал ARP. Запустите keepalived на hap1 (sudo systemctl start keepalived) — при запуске он уберёт лишний адрес."`,
		);
	});

	it('is pending with the reason when a node could not be asked, except for failover', () => {
		const results = evaluateChecks(CHECKS, {
			nodes: { hap1: { error: 'узел приостановлен' }, hap2: { probes: {} } },
			live: { hap1: { ...live('MASTER', true), state: 'paused' }, hap2: live('BACKUP') },
			vip: VIP,
			history: [
				{ holder: 'hap1', at: '2025-11-25T16:00:00.000Z' },
				{ holder: 'hap2', at: '2025-11-25T16:00:03.000Z' },
			],
		});
		expect(results.map((r) => [r.id, r.status])).toEqual([
			['install', 'pending'],
			['version', 'pending'],
			['config', 'pending'],
			['service', 'pending'],
			['vip', 'pending'],
			['logs', 'pending'],
			['failover', 'pass'],
		]);
		expect(results[0]!.message).toMatchInlineSnapshot(
			`"Не удалось опросить hap1: узел приостановлен. Проверка повторится сама; если узел завис, сбросьте его («Сбросить стенд»)."`,
		);
		expect(results[4]!.message).toMatch(/^Не удалось опросить hap1/);
	});

	it('vip: a frozen node (the freeze-node drill) makes it wait, whatever the node last said', () => {
		const frozen = judge('vip', none, none, {
			hap1: { ...live('MASTER', true), state: 'paused' },
			hap2: live('BACKUP'),
		});
		expect(frozen.status).toBe('pending');
		expect(frozen.message).toMatchInlineSnapshot(
			`"Узел hap1 заморожен (docker pause): VIP проверится, когда он снова заработает. Если идут учения, нажмите «Восстановить»."`,
		);
	});
});
