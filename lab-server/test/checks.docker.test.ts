/**
 * The course's checks on a real lab: nothing passes on fresh nodes, and each check passes once
 * its step is done through the very commands the course shows (as the learner `ubuntu`, through
 * sudo, in an interactive shell where the course types). Broken configs get their own messages.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { CHECKS } from '../src/checks/specs';
import { runChecks } from '../src/checks/run';
import type { CheckResult } from '../src/api';
import { systemClock } from '../src/lib/clock';
import { connectDocker, execInNode } from '../src/docker/engine';
import { guideConfig } from '../src/course/guide-config';
import type { Lab } from '../src/labs/lab';
import { watchLab, type LabWatch } from '../src/labs/live-state';
import { LAB_NODES, type LabNode } from '../src/api';
import type { TestLab } from '../testing/test-labs';
import { provisionTestLab, sh, stripAnsi, waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

describe('checks on a lab, step by step', () => {
	let testLab: TestLab | undefined;
	/** A lab as the server keeps it, its node state fed by the same observers (live-state.ts). */
	let lab: Lab;
	let watch: LabWatch | undefined;

	beforeAll(async () => {
		testLab = await provisionTestLab(docker);
		lab = testLab.lab;
		watch = watchLab(lab, { docker, clock: systemClock, log });
	});

	afterAll(async () => {
		watch?.stop();
		await testLab?.remove();
	});

	const statuses = async () =>
		Object.fromEntries((await runChecks(docker, lab)).map((r) => [r.id, r.status]));
	const check = async (id: string) => (await runChecks(docker, lab, id))[0]!;
	/** The message with this lab's VIP as `<VIP>`, so that snapshots hold in any subnet. */
	const text = (result: CheckResult) =>
		result.message.replace(
			new RegExp(`(?<![\\d.])${lab.addresses.vip.replaceAll('.', '\\.')}(?!\\d)`, 'g'),
			'<VIP>',
		);
	const asUbuntu = (node: LabNode, script: string, timeoutMs = 30_000) =>
		sh(docker, lab.containers[node], script, { user: 'ubuntu', timeoutMs });
	const writeConfig = (node: LabNode, config: string) =>
		execInNode(docker, lab.containers[node], ['tee', '/etc/keepalived/keepalived.conf'], {
			stdin: config,
		});
	/** The guide's config with one edit; throws if the edit did not apply. */
	const edited = (from: string | RegExp, to: string) => {
		const guide = guideConfig(lab.addresses.vip);
		const result = guide.replace(from, to);
		if (result === guide) throw new Error(`edit ${String(from)} did not apply`);
		return result;
	};

	it('finds nothing done on fresh nodes, in one exec per node', async () => {
		const execs = vi.spyOn(docker, 'getContainer');
		const started = performance.now();
		const results = await runChecks(docker, lab);
		const ms = Math.round(performance.now() - started);
		expect(execs).toHaveBeenCalledTimes(LAB_NODES.length);
		execs.mockRestore();
		console.log(`[measure] runChecks on fresh nodes: ${ms} ms`);
		expect(results.map((r) => r.id)).toEqual(CHECKS.map((c) => c.id));
		expect(results.map((r) => [r.id, r.status])).toEqual([
			['install', 'pending'],
			['version', 'pending'],
			['config', 'pending'],
			['service', 'pending'],
			['vip', 'pending'],
			['logs', 'pending'],
			['failover', 'pending'],
		]);
		for (const result of results) {
			expect(result.step, result.id).not.toBe('');
			expect(result.message, result.id).not.toBe('');
		}
	});

	it('install: fails with keepalived on one node only, passes with both', async () => {
		const first = await asUbuntu('hap1', 'sudo apt-get install keepalived -y', 120_000);
		expect(first.exitCode, first.stderr).toBe(0);
		const half = await check('install');
		expect(half.status).toBe('fail');
		expect(text(half)).toMatchInlineSnapshot(
			`"keepalived не установлен на hap2: кластер — это два узла, и без keepalived hap2 не сможет подхватить VIP. Выполните на hap2: sudo apt-get install keepalived -y"`,
		);
		const second = await asUbuntu('hap2', 'sudo apt-get install keepalived -y', 120_000);
		expect(second.exitCode, second.stderr).toBe(0);
		expect(await check('install')).toMatchObject({ status: 'pass' });
	}, 300_000);

	it('version: passes once `sudo keepalived -v` is typed in a terminal', async () => {
		expect((await check('version')).status).toBe('pending');
		const exec = await docker.getContainer(lab.containers.hap2).exec({
			Cmd: ['bash', '-l'],
			User: 'ubuntu',
			WorkingDir: '/home/ubuntu',
			Env: ['TERM=xterm-256color'],
			Tty: true,
			AttachStdin: true,
			AttachStdout: true,
		});
		const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
		let screen = '';
		stream.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
		const prompts = () => stripAnsi(screen).split('ubuntu@hap2:~$').length - 1;
		await waitFor('the prompt', async () => (prompts() >= 1 ? true : undefined), 10_000, 50);
		stream.write('sudo keepalived -v\n');
		// history -a runs before the next prompt is drawn.
		await waitFor('the next prompt', async () => (prompts() >= 2 ? true : undefined), 10_000, 50);
		expect(stripAnsi(screen)).toContain('Keepalived v2.2.7');
		stream.end('exit\n');
		expect(await check('version')).toEqual({
			id: 'version',
			step: CHECKS.find((c) => c.id === 'version')!.step,
			title: 'Версия keepalived проверена (keepalived -v)',
			status: 'pass',
			message: 'Команда keepalived -v выполнена на hap2.',
		});
	});

	it("config: pending without a file, passes with the guide's config on both nodes", async () => {
		expect(await check('config')).toMatchObject({ status: 'pending' });
		await writeConfig('hap1', guideConfig(lab.addresses.vip));
		const oneFile = await check('config');
		expect(oneFile.status).toBe('fail');
		expect(text(oneFile)).toMatchInlineSnapshot(
			`"На hap2 нет файла /etc/keepalived/keepalived.conf: без него служба keepalived на hap2 не запустится, и подхватить VIP будет некому. Создайте его по образцу из руководства."`,
		);
		await writeConfig('hap2', guideConfig(lab.addresses.vip));
		const good = await check('config');
		expect(good.status, good.message).toBe('pass');
		expect(text(good)).toMatchInlineSnapshot(
			`"Конфигурация на обоих узлах верна: keepalived -t без ошибок, virtual_router_id и advert_int совпадают, VIP — <VIP>."`,
		);
	});

	describe('config: a broken config gets its own message', () => {
		const broken = async (hap1: string, hap2: string) => {
			await Promise.all([writeConfig('hap1', hap1), writeConfig('hap2', hap2)]);
			const result = await check('config');
			expect(result.status).toBe('fail');
			return text(result);
		};
		afterAll(async () => {
			for (const node of LAB_NODES) await writeConfig(node, guideConfig(lab.addresses.vip));
		});

		it('different virtual_router_id on hap1 and hap2', async () => {
			const guide = guideConfig(lab.addresses.vip);
			expect(
				await broken(guide, edited('virtual_router_id 115', 'virtual_router_id 116')),
			).toMatchInlineSnapshot(
				`"virtual_router_id на hap1 (115) и hap2 (116) различаются — узлы не увидят друг друга: каждый отбрасывает VRRP-объявления чужого виртуального роутера, оба станут MASTER и поднимут VIP одновременно (split brain). Укажите на обоих одно и то же число, в руководстве — 115."`,
			);
		});

		it('no script_user', async () => {
			const config = edited(/ *script_user root\n/, '');
			expect(await broken(config, config)).toMatchInlineSnapshot(`
				"В global_defs на hap1 и hap2 есть enable_script_security, но нет script_user, а пользователя keepalived_script в системе нет: keepalived не сможет запустить скрипты (chk_haproxy, chk_keepalived) и удалит их — в журнале останется лишь «Unable to set default user», а VIP не переедет, когда упадёт haproxy. Добавьте в global_defs script_user root, как в руководстве.
				keepalived -t на hap1 и hap2 завершился с кодом 5 — в конфигурации ошибки: keepalived пропустит или заменит неверные настройки, и узел будет работать не так, как написано в файле. Первые сообщения keepalived: «(Line 14) Unable to set default user keepalived_script for script»; «(Line 14) Unable to set default user for vrrp script chk_haproxy - removing»; «(Line 23) Unable to set default user for vrrp script chk_keepalived - removing»."
			`);
		});

		it('a VIP that is not this lab’s', async () => {
			const config = edited(`${lab.addresses.vip}/24`, '10.129.0.100/24');
			expect(await broken(config, config)).toMatchInlineSnapshot(
				`"В virtual_ipaddress на hap1 и hap2 указан 10.129.0.100, а VIP вашего стенда — <VIP>: у каждого стенда своя подсеть, и чужой адрес клиенты в ней не найдут. Замените адрес на <VIP>/24."`,
			);
		});

		it('a track_script no vrrp_script defines', async () => {
			const config = edited(/^( +)chk_keepalived$/m, '$1chk_keepalive');
			expect(await broken(config, config)).toMatchInlineSnapshot(`
				"В track_script на hap1 и hap2 указан chk_keepalive, но блока vrrp_script chk_keepalive нет (определены: chk_haproxy, chk_keepalived): keepalived пропустит эту проверку («track script chk_keepalive not found, ignoring»), и её отказ не переместит VIP. Исправьте имя или опишите vrrp_script chk_keepalive.
				keepalived -t на hap1 и hap2 завершился с кодом 5 — в конфигурации ошибки: keepalived пропустит или заменит неверные настройки, и узел будет работать не так, как написано в файле. Первые сообщения keepalived: «(Line 51) (hap_srv) track script chk_keepalive not found, ignoring...»."
			`);
		});

		it('state MASTER with nopreempt', async () => {
			const guide = guideConfig(lab.addresses.vip);
			expect(await broken(edited('state BACKUP', 'state MASTER'), guide)).toMatchInlineSnapshot(`
				"На hap1 state MASTER вместе с nopreempt: nopreempt работает только с начальным состоянием BACKUP, и keepalived его сбрасывает («nopreempt will not work with initial state MASTER - clearing»). Узел в MASTER, вернувшись после сбоя, сразу объявит себя мастером и поднимет VIP, не дожидаясь выборов, — то самое лишнее переключение, от которого должен был защитить nopreempt. Укажите state BACKUP, как в руководстве.
				keepalived -t на hap1 завершился с кодом 5 — в конфигурации ошибки: keepalived пропустит или заменит неверные настройки, и узел будет работать не так, как написано в файле. Первые сообщения keepalived: «(hap_srv) Warning - nopreempt will not work with initial state MASTER - clearing»."
			`);
		});

		it('scripts without enable_script_security (keepalived -t exits 6)', async () => {
			const config = edited(/ *enable_script_security\n/, '');
			expect(await broken(config, config)).toMatchInlineSnapshot(
				`"keepalived -t на hap1 и hap2 завершился с кодом 6 — скрипты проверки описаны, но в global_defs нет enable_script_security: keepalived считает это нарушением безопасности (скрипт, который может изменить не-root пользователь, выполнился бы от root). Добавьте enable_script_security и script_user root, как в руководстве. Первые сообщения keepalived: «SECURITY VIOLATION - scripts are being executed but script_security not enabled»."`,
			);
		});
	});

	it('service: pending before the start, fails with one node down, passes with both', async () => {
		expect(await check('service')).toMatchObject({ status: 'pending' });
		const start = 'sudo systemctl enable keepalived && sudo systemctl start keepalived';
		expect((await asUbuntu('hap1', start)).exitCode).toBe(0);
		const half = await check('service');
		expect(half.status).toBe('fail');
		expect(text(half)).toMatchInlineSnapshot(
			`"keepalived на hap2 не запущен: пока служба стоит, узел не участвует в выборах и не подхватит VIP. Выполните sudo systemctl start keepalived."`,
		);
		expect((await asUbuntu('hap2', start)).exitCode).toBe(0);
		expect(await check('service')).toMatchObject({ status: 'pass' });
	});

	it('vip: passes once one node holds the VIP', async () => {
		const result = await waitFor(
			'one VIP holder',
			async () => {
				const vip = await check('vip');
				return vip.status === 'pass' ? vip : undefined;
			},
			30_000,
			500,
		);
		expect(text(result)).toMatch(
			/^VIP <VIP> держит (hap1|hap2) \(hap1 — (MASTER|BACKUP), hap2 — (MASTER|BACKUP)\)\.$/,
		);
		await waitFor(
			'the VIP in the history',
			async () => lab.vipHistory.at(-1)?.holder ?? undefined,
			5_000,
		);
	});

	it('logs: passes once the learner read the journal', async () => {
		expect((await check('logs')).status).toBe('pending');
		await asUbuntu('hap1', "echo 'sudo journalctl -u keepalived -n 20' >> ~/.bash_history");
		expect(await check('logs')).toMatchObject({
			status: 'pass',
			message: 'Журнал keepalived просмотрен на hap1.',
		});
	});

	it('failover: pending until the VIP moves when haproxy stops on its holder', async () => {
		const holder = lab.vipHistory.at(-1)!.holder!;
		const other = holder === 'hap1' ? 'hap2' : 'hap1';
		expect(await check('failover')).toMatchObject({
			status: 'pending',
			message: expect.stringContaining(`Сейчас VIP на ${holder}.`),
		});
		await asUbuntu(holder, 'sudo systemctl stop haproxy');
		try {
			await waitFor(
				`the VIP to move to ${other}`,
				async () => (lab.vipHistory.at(-1)?.holder === other ? true : undefined),
				15_000,
				100,
			);
			const result = await check('failover');
			expect(result.status).toBe('pass');
			expect(result.message).toMatch(
				new RegExp(
					`^VIP переехал с ${holder} на ${other}: (адрес был без хозяина около \\d+,\\d с|без заметного перерыва)\\.$`,
				),
			);
		} finally {
			await asUbuntu(holder, 'sudo systemctl start haproxy');
		}
	});

	it('passes everything at the end (and prints the time a run takes)', async () => {
		const times: number[] = [];
		let results: CheckResult[] = [];
		for (let i = 0; i < 7; i++) {
			const started = performance.now();
			results = await runChecks(docker, lab);
			times.push(performance.now() - started);
		}
		times.sort((a, b) => a - b);
		const median = Math.round(times[3]!);
		console.log(
			`[measure] runChecks, all checks passing: median ${median} ms (min ${Math.round(times[0]!)}, max ${Math.round(times[6]!)}) over 7 runs`,
		);
		expect(Object.fromEntries(results.map((r) => [r.id, r.status]))).toEqual(
			Object.fromEntries(CHECKS.map((c) => [c.id, 'pass'])),
		);
		expect(await statuses()).toMatchObject({ vip: 'pass', service: 'pass' });
	});

	it('a paused node: node checks wait with the reason, failover still answers', async () => {
		const hap2 = docker.getContainer(lab.containers.hap2);
		await hap2.pause();
		try {
			const results = await runChecks(docker, lab);
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
				`"Не удалось опросить hap2: узел приостановлен. Проверка повторится сама; если узел завис, сбросьте его («Сбросить стенд»)."`,
			);
		} finally {
			await hap2.unpause();
		}
	});

	it('runs one check by id, asking the nodes only when it needs them', async () => {
		const execs = vi.spyOn(docker, 'getContainer');
		expect((await runChecks(docker, lab, 'failover')).map((r) => r.id)).toEqual(['failover']);
		expect(execs).not.toHaveBeenCalled();
		expect((await runChecks(docker, lab, 'install')).map((r) => r.status)).toEqual(['pass']);
		expect(execs).toHaveBeenCalledTimes(LAB_NODES.length);
		execs.mockRestore();
	});

	it('refuses an unknown check id', async () => {
		await expect(runChecks(docker, lab, 'nope')).rejects.toThrow(
			'unknown check "nope": expected one of install, version, config, service, vip, logs, failover',
		);
	});
});
