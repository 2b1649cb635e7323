import { describe, expect, it } from 'vitest';
import { guideConfig } from '../course/guide-config';
import { configTestProblems, findConfProblems, type NodeConf } from './conf-problems';
import { parseKeepalivedConf, summarizeConf } from './keepalived-conf';

/** A lab other than the first, so that the guide's own VIP is the wrong one here. */
const VIP = '10.129.3.10';
const GUIDE = guideConfig(VIP);

function conf(text: string, hasKeepalivedScriptUser = false): NodeConf {
	return { summary: summarizeConf(parseKeepalivedConf(text)), hasKeepalivedScriptUser };
}

/** The guide's config with one edit; throws if the edit did not apply (a test that cannot fail). */
function edited(from: string | RegExp, to: string, text = GUIDE): string {
	const result = text.replace(from, to);
	if (result === text) throw new Error(`edit ${String(from)} did not apply`);
	return result;
}

function problems(hap1: string, hap2: string = hap1, options: { scriptUser?: boolean } = {}) {
	return findConfProblems(
		{ hap1: conf(hap1, options.scriptUser), hap2: conf(hap2, options.scriptUser) },
		VIP,
	);
}

describe('parseKeepalivedConf', () => {
	it("reads the guide's config: blocks, arguments, lines, comments skipped", () => {
		const statements = parseKeepalivedConf(GUIDE);
		expect(statements.map((s) => [s.keyword, ...s.args, s.line])).toEqual([
			['global_defs', 1],
			['vrrp_script', 'chk_haproxy', 8],
			['vrrp_script', 'chk_keepalived', 17],
			['vrrp_instance', 'hap_srv', 26],
		]);
		// `!weight 6` is a comment; the quoted script is one token.
		expect(statements[1]!.block!.map((s) => [s.keyword, ...s.args])).toEqual([
			['script', 'pkill -0 haproxy'],
			['interval', '1'],
			['timeout', '2'],
			['rise', '1'],
			['fall', '2'],
		]);
		const instance = statements[3]!.block!;
		expect(instance.find((s) => s.keyword === 'virtual_ipaddress')?.block).toEqual([
			{
				keyword: `${VIP}/24`,
				args: ['dev', 'eth0', 'label', 'eth0:1'],
				line: 47,
				block: null,
			},
		]);
	});

	it("summarizes the guide's config", () => {
		expect(summarizeConf(parseKeepalivedConf(GUIDE))).toEqual({
			enableScriptSecurity: true,
			scriptUser: 'root',
			vrrpScripts: ['chk_haproxy', 'chk_keepalived'],
			instances: [
				{
					name: 'hap_srv',
					line: 26,
					state: 'BACKUP',
					nopreempt: true,
					interface: 'eth0',
					virtualRouterId: '115',
					advertInt: '2',
					virtualIps: [VIP],
					hasVirtualIpBlock: true,
					trackScripts: ['chk_haproxy', 'chk_keepalived'],
				},
			],
		});
	});

	it('skips comments after values, and keeps # and ! inside quotes', () => {
		const [script] = parseKeepalivedConf(
			[
				'vrrp_script chk { # the check',
				'  script "pkill -0 haproxy # still the script !"   ! a comment',
				'  #interval 5',
				'  interval 1 ! every second',
				'}',
			].join('\n'),
		);
		expect(script!.block!.map((s) => [s.keyword, ...s.args])).toEqual([
			['script', 'pkill -0 haproxy # still the script !'],
			['interval', '1'],
		]);
	});

	it('takes braces written against words, on the next line, and blocks on one line', () => {
		const text = [
			'vrrp_instance hap_srv',
			'{',
			'    virtual_router_id 115',
			'    virtual_ipaddress { 10.129.3.10/24 }',
			'    track_script {chk_haproxy}',
			'}',
			'vrrp_script chk_haproxy{',
			'    script "pkill -0 haproxy" }',
		].join('\r\n');
		const summary = summarizeConf(parseKeepalivedConf(text));
		expect(summary.vrrpScripts).toEqual(['chk_haproxy']);
		expect(summary.instances[0]).toMatchObject({
			name: 'hap_srv',
			virtualRouterId: '115',
			virtualIps: ['10.129.3.10'],
			trackScripts: ['chk_haproxy'],
		});
	});

	it('never throws on unbalanced braces: open blocks end with the text, extra } are skipped', () => {
		const unclosed = parseKeepalivedConf(GUIDE.replace(/\}\s*$/, ''));
		expect(unclosed.map((s) => s.keyword)).toEqual([
			'global_defs',
			'vrrp_script',
			'vrrp_script',
			'vrrp_instance',
		]);
		expect(summarizeConf(unclosed).instances[0]?.trackScripts).toEqual([
			'chk_haproxy',
			'chk_keepalived',
		]);
		const extra = parseKeepalivedConf(`}\n}\n${GUIDE}\n}`);
		expect(extra.map((s) => s.keyword)).toHaveLength(4);
		expect(parseKeepalivedConf('')).toEqual([]);
		expect(parseKeepalivedConf('{\n{ }\n"unterminated')).toHaveLength(1);
	});
});

describe('findConfProblems', () => {
	it("finds nothing wrong with the guide's config on both nodes", () => {
		expect(problems(GUIDE)).toEqual([]);
	});

	it('names both virtual_router_ids when they differ', () => {
		expect(problems(GUIDE, edited('virtual_router_id 115', 'virtual_router_id 116')))
			.toMatchInlineSnapshot(`
			[
			  "virtual_router_id на hap1 (115) и hap2 (116) различаются — узлы не увидят друг друга: каждый отбрасывает VRRP-объявления чужого виртуального роутера, оба станут MASTER и поднимут VIP одновременно (split brain). Укажите на обоих одно и то же число, в руководстве — 115.",
			]
		`);
	});

	it('sees advert_int differ, counting a missing one as keepalived does (1)', () => {
		expect(problems(GUIDE, edited(/ *advert_int 2\n/, ''))).toMatchInlineSnapshot(`
			[
			  "advert_int на hap1 (2) и hap2 (1) различаются: keepalived (VRRPv2) отбрасывает объявления с чужим интервалом («advertisement interval mismatch»), узлы не услышат друг друга, и оба станут MASTER (split brain). Укажите одинаковый advert_int, в руководстве — 2.",
			]
		`);
	});

	it('explains state MASTER with nopreempt, and state MASTER alone', () => {
		expect(problems(edited('state BACKUP', 'state MASTER'), GUIDE)).toMatchInlineSnapshot(`
			[
			  "На hap1 state MASTER вместе с nopreempt: nopreempt работает только с начальным состоянием BACKUP, и keepalived его сбрасывает («nopreempt will not work with initial state MASTER - clearing»). Узел в MASTER, вернувшись после сбоя, сразу объявит себя мастером и поднимет VIP, не дожидаясь выборов, — то самое лишнее переключение, от которого должен был защитить nopreempt. Укажите state BACKUP, как в руководстве.",
			]
		`);
		expect(problems(edited(/ *nopreempt\n/, '', edited('state BACKUP', 'state MASTER')), GUIDE))
			.toMatchInlineSnapshot(`
			[
			  "На hap1 state MASTER: в руководстве оба узла стартуют в BACKUP и выбирают мастера между собой. Узел в MASTER при каждом запуске сразу объявляет себя мастером и поднимает VIP, не дожидаясь выборов: вернувшись после сбоя, он на время окажется вторым MASTER рядом с действующим (VIP на двух узлах сразу), а nopreempt с MASTER не работает. Укажите state BACKUP, как в руководстве.",
			]
		`);
	});

	it('asks for nopreempt when it is missing', () => {
		expect(problems(GUIDE, edited(/ *nopreempt\n/, ''))).toMatchInlineSnapshot(`
			[
			  "В vrrp_instance hap_srv на hap2 нет nopreempt, а в конфигурации руководства он есть. При равных priority (100 и 100) это незаметно, но стоит сделать приоритеты разными — и узел с большим priority, вернувшись после сбоя, отберёт VIP у действующего MASTER: второе, лишнее переключение с обрывом соединений. Добавьте nopreempt.",
			]
		`);
	});

	it('warns that scripts are dropped without script_user, unless keepalived_script exists', () => {
		const noUser = edited(/ *script_user root\n/, '');
		expect(problems(noUser)).toMatchInlineSnapshot(`
			[
			  "В global_defs на hap1 и hap2 есть enable_script_security, но нет script_user, а пользователя keepalived_script в системе нет: keepalived не сможет запустить скрипты (chk_haproxy, chk_keepalived) и удалит их — в журнале останется лишь «Unable to set default user», а VIP не переедет, когда упадёт haproxy. Добавьте в global_defs script_user root, как в руководстве.",
			]
		`);
		expect(problems(noUser, noUser, { scriptUser: true })).toEqual([]);
	});

	it("names the VIP found and this lab's VIP, once for both nodes", () => {
		const guideVip = edited(VIP, '10.129.0.10');
		expect(problems(guideVip)).toMatchInlineSnapshot(`
			[
			  "В virtual_ipaddress на hap1 и hap2 указан 10.129.0.10, а VIP вашего стенда — 10.129.3.10: у каждого стенда своя подсеть, и чужой адрес клиенты в ней не найдут. Замените адрес на 10.129.3.10/24.",
			]
		`);
		expect(problems(GUIDE, guideVip)).toMatchInlineSnapshot(`
			[
			  "В virtual_ipaddress на hap2 указан 10.129.0.10, а VIP вашего стенда — 10.129.3.10: у каждого стенда своя подсеть, и чужой адрес клиенты в ней не найдут. Замените адрес на 10.129.3.10/24.",
			]
		`);
	});

	it('names a track_script that no vrrp_script defines', () => {
		expect(problems(edited(/^( +)chk_keepalived$/m, '$1chk_keepalive'))).toMatchInlineSnapshot(`
			[
			  "В track_script на hap1 и hap2 указан chk_keepalive, но блока vrrp_script chk_keepalive нет (определены: chk_haproxy, chk_keepalived): keepalived пропустит эту проверку («track script chk_keepalive not found, ignoring»), и её отказ не переместит VIP. Исправьте имя или опишите vrrp_script chk_keepalive.",
			]
		`);
	});

	it('asks for interface, track_script, virtual_ipaddress and virtual_router_id', () => {
		expect(problems(edited(/ *interface eth0\n/, ''), GUIDE)).toMatchInlineSnapshot(`
			[
			  "В vrrp_instance hap_srv на hap1 нет interface: keepalived не знает, через какой интерфейс слать VRRP-объявления и куда поднимать VIP. Добавьте interface eth0.",
			]
		`);
		expect(problems(edited(/ *track_script \{[^}]*\}\n/, ''), GUIDE)).toMatchInlineSnapshot(`
			[
			  "В vrrp_instance hap_srv на hap1 нет track_script: keepalived не следит за haproxy, и если haproxy упадёт, VIP останется на узле, который уже не отвечает клиентам. Добавьте track_script { chk_haproxy } с vrrp_script chk_haproxy, как в руководстве.",
			]
		`);
		expect(problems(edited(/ *virtual_ipaddress \{[^}]*\}\n/, ''), GUIDE)).toMatchInlineSnapshot(`
			[
			  "В vrrp_instance hap_srv на hap1 нет адресов в virtual_ipaddress: keepalived не поднимет VIP 10.129.3.10. Добавьте блок virtual_ipaddress { 10.129.3.10/24 dev eth0 label eth0:1 }.",
			]
		`);
		expect(problems(edited(/ *virtual_router_id 115\n/, ''), GUIDE)).toMatchInlineSnapshot(`
			[
			  "В vrrp_instance hap_srv на hap1 не задан virtual_router_id: без него keepalived не запустит этот экземпляр VRRP. Добавьте virtual_router_id 115, одинаковый на обоих узлах.",
			]
		`);
	});

	it('says when there is no vrrp_instance at all', () => {
		expect(problems('global_defs {\n}\n', GUIDE)).toMatchInlineSnapshot(`
			[
			  "В конфигурации hap1 нет блока vrrp_instance: keepalived запустится, но виртуальным адресом управлять не будет — VIP не появится ни на одном узле.",
			]
		`);
		expect(findConfProblems({ hap2: conf('') }, VIP)).toMatchInlineSnapshot(`
			[
			  "В конфигурации hap2 нет блока vrrp_instance: keepalived запустится, но виртуальным адресом управлять не будет — VIP не появится ни на одном узле.",
			]
		`);
	});

	it('compares the instance that holds the VIP when there are several', () => {
		const two = `${GUIDE}\nvrrp_instance other {\n    virtual_router_id 51\n}\n`;
		expect(problems(two, GUIDE)).toEqual([]);
	});
});

describe('configTestProblems', () => {
	const noUserOutput = [
		'(/etc/keepalived/keepalived.conf: Line 14) Unable to set default user keepalived_script for script',
		'(Line 14) Unable to set default user keepalived_script for script',
		'(/etc/keepalived/keepalived.conf: Line 14) Unable to set default user keepalived_script for script',
		'(/etc/keepalived/keepalived.conf: Line 14) Unable to set default user for vrrp script chk_haproxy - removing',
		'(/etc/keepalived/keepalived.conf: Line 23) Unable to set default user for vrrp script chk_keepalived - removing',
		'(/etc/keepalived/keepalived.conf: Line 49) (hap_srv) track script chk_haproxy not found, ignoring...',
	].join('\n');

	it('is silent when keepalived -t exits 0', () => {
		expect(
			configTestProblems({ hap1: { code: 0, output: '' }, hap2: { code: 0, output: '' } }),
		).toEqual([]);
	});

	it('explains exit code 5 with the first distinct lines, once for both nodes', () => {
		expect(
			configTestProblems({
				hap1: { code: 5, output: noUserOutput },
				hap2: { code: 5, output: noUserOutput },
			}),
		).toMatchInlineSnapshot(`
			[
			  "keepalived -t на hap1 и hap2 завершился с кодом 5 — в конфигурации ошибки: keepalived пропустит или заменит неверные настройки, и узел будет работать не так, как написано в файле. Первые сообщения keepalived: «(Line 14) Unable to set default user keepalived_script for script»; «(Line 14) Unable to set default user for vrrp script chk_haproxy - removing»; «(Line 23) Unable to set default user for vrrp script chk_keepalived - removing».",
			]
		`);
	});

	it('explains exit code 6 and the rest', () => {
		expect(
			configTestProblems({
				hap1: {
					code: 6,
					output:
						'SECURITY VIOLATION - scripts are being executed but script_security not enabled.\n',
				},
				hap2: { code: 124, output: '' },
			}),
		).toMatchInlineSnapshot(`
			[
			  "keepalived -t на hap1 завершился с кодом 6 — скрипты проверки описаны, но в global_defs нет enable_script_security: keepalived считает это нарушением безопасности (скрипт, который может изменить не-root пользователь, выполнился бы от root). Добавьте enable_script_security и script_user root, как в руководстве. Первые сообщения keepalived: «SECURITY VIOLATION - scripts are being executed but script_security not enabled».",
			  "keepalived -t на hap2 не закончил проверку за 5 секунд: возможно, include подключает слишком много файлов.",
			]
		`);
		expect(configTestProblems({ hap1: { code: 2, output: '' } })).toMatchInlineSnapshot(`
			[
			  "keepalived -t на hap1 завершился с кодом 2 — конфигурацию не удалось проверить.",
			]
		`);
	});
});
