/**
 * The course's text where it once was wrong: each corrected sentence is there and the wrong one is
 * gone, the guide's words are quoted as the guide has them, and the «vrid-conflict» drill is the
 * neighbour step 11 describes. Reads the steps (content/steps/) and the UI strings
 * (src/i18n/ru.json) as they are written.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GUIDE_ADDRESSES, type AddrName } from '../../../src/lib/guide-addresses';
import { DRILL_TITLES } from '../api';
import { INTRUDER_PRIORITY, intruderConfig } from '../drills/intruder';
import { labAddresses, parsePool } from '../labs/subnets';
import { STEPS_DIR } from './steps';

const RU_JSON = fileURLToPath(new URL('../../../src/i18n/ru.json', import.meta.url));

/** A step's MDX source as written. */
function source(slug: string): string {
	return readFileSync(path.join(STEPS_DIR, `${slug}.mdx`), 'utf8');
}

/** A step's text with the quote markers dropped and the hand wrapping undone: one line. */
function text(slug: string): string {
	return source(slug)
		.replace(/^>[ \t]?/gm, '')
		.replace(/\s+/g, ' ');
}

function ui(key: string): string {
	const dict = JSON.parse(readFileSync(RU_JSON, 'utf8')) as Record<string, string>;
	const value = dict[key];
	if (value === undefined) throw new Error(`ru.json has no "${key}"`);
	return value;
}

describe('the course’s notes, corrected', () => {
	const CORRECTED: Record<string, { says: string[]; never: string[] }> = {
		'03-install': {
			says: [
				'Но сама служба не запустилась',
				'Пока условие не выполнено, systemd пропускает запуск без ошибки.',
			],
			never: ['запуститься ей пока не из чего', 'Служба ждёт конфигурацию'],
		},
		'04-version': {
			says: ['сведения о версии keepalived печатает в stderr'],
			never: ['справка идёт мимо него'],
		},
		'05-config': {
			says: [
				'Строка начнёт влиять на поведение, только когда приоритеты у узлов разные.',
				'важно лишь, чтобы маска была одинаковой на обоих узлах',
				'Если исправить только `chk_haproxy`, узел всё равно останется в FAULT — уже из-за `chk_keepalived`.',
				'блок `vrrp_track_process`',
				'заканчивается ошибкой `Operation not permitted`, проверка падает всегда, и узел не выходит из FAULT',
			],
			never: ['если приоритеты узлов сделать разными', 'главное — одинаковый на обоих узлах'],
		},
		'06-reference': {
			says: [
				'Этот интервал BACKUP отсчитывает от последнего объявления, которое услышал.',
				'от самого сбоя до переезда VIP проходит от 4,6 до 6,6 секунды',
				'VIP переедет через 4,6–6,6 секунды после сбоя (не позже 6,6 секунды после последнего объявления)',
			],
			never: [
				'Так долго VIP будет недоступен',
				'при внезапной потере MASTER VIP переедет примерно через 6,6 секунды',
			],
		},
		'07-service': {
			says: [
				'сам переводит свои процессы в планирование реального времени и повышает их приоритет',
				'systemd предупреждает, что сообщение о готовности прислал дочерний процесс',
				'первый узел станет MASTER, только когда ≈6,6 секунды не услышит ни одного объявления',
			],
			never: [
				'сделает намерение явным',
				'дождался своей очереди',
				'ворчит',
				'совет запускать keepalived с повышенным приоритетом планировщика',
			],
		},
		'09-logs': {
			says: [
				'Поэтому, когда VIP ведёт себя не так, как ожидалось, начинать стоит с журнала.',
				'Остановите её в **каждом** терминале, где запустили: щёлкните в терминал и нажмите **Ctrl+C**.',
				'<Cmd code="sudo tail -20 /var/log/messages|grep -i keepalived" on="both" />',
			],
			never: ['главный источник правды'],
		},
		'10-failover': {
			says: [
				'<Cmd code="sudo systemctl kill -s STOP keepalived && sudo systemctl kill -s KILL keepalived" on="none" />',
				'просит ядро прислать ему SIGTERM, когда умрёт родительский процесс (`PR_SET_PDEATHSIG`)',
				'до 6,6 секунды после последнего объявления, то есть 4,6–6,6 секунды после сбоя',
				'Лишний адрес снимет новый запуск keepalived на этом узле',
				'<Cmd code="sudo ip addr del 10.129.0.10/24 dev eth0" on="none" />',
				'он забрал VIP обратно, как узел с бо́льшим приоритетом, — но не сразу.',
				'примерно через 6,6 секунды после того, как он сам стал BACKUP',
			],
			never: [
				'Убирает лишний адрес только новый запуск keepalived',
				'сразу забрал VIP обратно',
				'(`systemctl kill -s KILL keepalived`), как при падении процесса',
				'Во всех командах ниже тоже поменяйте',
			],
		},
		'11-errors': {
			says: [
				'То же сообщение появится, если у ваших `hap1` и `hap2` разные адреса в `virtual_ipaddress`',
				'`(hap_srv) received an unexpected ip number count 2, expected 1!`',
				'`(hap_srv) expected 1 VIPs but received 2`',
			],
			never: [],
		},
		'12-summary': {
			says: [
				'а если скрипты запускаются не от root, она всегда падает (`Operation not permitted`) и держит узел в FAULT',
				'блоком `vrrp_track_process`',
			],
			never: [],
		},
	};

	it.each(Object.entries(CORRECTED))('%s', (slug, { says, never }) => {
		const step = text(slug);
		for (const sentence of says) expect(step).toContain(sentence);
		for (const sentence of never) expect(step).not.toContain(sentence);
	});

	it('07: the pager’s «q» comes before the first systemctl status', () => {
		const step = source('07-service');
		const hint = step.indexOf('нажмите клавишу `q`');
		expect(hint).toBeGreaterThan(0);
		expect(hint).toBeLessThan(step.indexOf('<Cmd code="sudo systemctl status keepalived"'));
	});

	it('10: after finding the VIP, commands follow it rather than a fixed node', () => {
		const step = source('10-failover');
		const rest = step.slice(step.indexOf('## 2.'), step.indexOf('## Что должно получиться'));
		const targets = [...rest.matchAll(/<Cmd[^>]*?\son="([a-z0-9]+)"/g)].map((m) => m[1]);
		expect(targets).toEqual(['vip', 'both', 'other', 'other', 'vip', 'other', 'none', 'none']);
	});

	it('the drills promise what keepalived does: 4,6–6,6 s with advert_int 2 and priority 100', () => {
		const kill = ui('drills.about.kill-keepalived');
		expect(kill).toContain('SIGSTOP');
		expect(kill).toContain('3 × advert_int + (256 − priority)/256 с после последнего объявления');
		expect(kill).toContain('через 4,6–6,6 с после сбоя');
		expect(kill).not.toContain('3–4 с');
		const freeze = ui('drills.about.freeze-node');
		expect(freeze).toContain('3 × advert_int + (256 − priority)/256 с после последнего объявления');
		expect(freeze).toContain('через 4,6–6,6 с после заморозки');
	});
});

describe('the guide, quoted as the guide has it', () => {
	const VERBATIM: [slug: string, guide: string, edited: string][] = [
		['01-theory', '### Немного теории: ', '### Немного теории - '],
		[
			'02-lab-nodes',
			'### Список ВМ с которыми идет взаимодействие на данном этапе',
			'Список ВМ, с которыми',
		],
		[
			'06-reference',
			'Основные параметры раздела vrrp_script (скрипта проверки) :',
			'(скрипта проверки):',
		],
		[
			'11-errors',
			'Натолкнулся на ситуацию в которой был уже занят `virtual_router_id`, как я понял. И ошибка выглядит так',
			'ситуацию, в которой',
		],
		[
			'12-summary',
			'Так же полезна, если надо поставить под аппаратный балансировщик',
			'Также полезна',
		],
		['12-summary', '## 👍 `KeepAlived` установлен и настроен', '👍 KeepAlived'],
	];

	it.each(VERBATIM)('%s: «%s»', (slug, guide, edited) => {
		expect(text(slug)).toContain(guide);
		expect(text(slug)).not.toContain(edited);
	});

	it('05: the config file’s name links to the file, as in the guide, and says where it is', () => {
		const step = text('05-config');
		expect(step).toContain(
			'Редактируем конфигурационный файл [`/etc/keepalived/keepalived.conf`](#guide-config). Мы будем настраивать в конфигурации `BACKUP-BACKUP`',
		);
		expect(step).toContain('В руководстве имя файла — ссылка на `config_files/keepalived.conf`');
		expect(step).toContain('<ConfigFile id="guide-config"');
	});

	it('01 lists every change to the guide’s wording', () => {
		const step = text('01-theory');
		for (const typo of [
			'«отсдельное»',
			'«единную»',
			'«мы и будет использовать»',
			'«Есди»',
			'«keealived»',
		])
			expect(step).toContain(typo);
		expect(step).toContain('ссылка на файл `config_files/keepalived.conf`');
	});
});

describe('the «vrid-conflict» drill is step 11’s example', () => {
	const lab = labAddresses(parsePool('10.129.0.0/16'), 0);

	it('the text prints the first lab’s addresses, the neighbour’s among them', () => {
		const names = Object.keys(GUIDE_ADDRESSES) as AddrName[];
		expect(Object.fromEntries(names.map((name) => [name, lab[name]]))).toEqual(GUIDE_ADDRESSES);
		expect(lab.intruder).toBe('10.129.0.50');
		expect(lab.intruderVip).toBe('10.129.0.99');
		// No other host of the lab (the nodes, the VIP, the meter's client, the gateway) is either.
		const others = [lab.gateway, lab.hap1, lab.hap2, lab.vip, lab.client];
		expect(others).not.toContain(lab.intruder);
		expect(others).not.toContain(lab.intruderVip);
	});

	it('step 11 describes the drill’s neighbour and offers the drill', () => {
		const step = text('11-errors');
		expect(step).toContain('К сети узлов подключается третий узел, <Addr of="intruder" />');
		expect(step).toContain(`приоритет ${INTRUDER_PRIORITY} и свой адрес <Addr of="intruderVip" />`);
		expect(step).toContain('`addrs:` <Addr of="intruderVip" />');
		expect(source('11-errors')).toMatch(/^drills: \[vrid-conflict\]$/m);
		// The recorded tcpdump is the same neighbour.
		const tcpdump = readFileSync(path.join(STEPS_DIR, 'outputs/vrid-error-lab.txt'), 'utf8');
		expect(tcpdump).toContain(
			`${lab.intruder} > 224.0.0.18: VRRPv2, Advertisement, vrid 115, prio ${INTRUDER_PRIORITY},`,
		);
		expect(tcpdump).toContain(`addrs: ${lab.intruderVip}`);
	});

	it('the neighbour’s keepalived.conf: the learner’s VRID and advert_int, priority 200, its VIP', () => {
		expect(intruderConfig({ vrid: 115, advertInt: 2, vip: lab.intruderVip }))
			.toMatchInlineSnapshot(`
				"! The drill «vrid-conflict»: a neighbour using the learner’s virtual_router_id.
				vrrp_instance intruder {
				    state MASTER
				    interface eth0
				    virtual_router_id 115
				    priority 200
				    advert_int 2
				    virtual_ipaddress {
				        10.129.0.99/24 dev eth0
				    }
				}
				"
			`);
	});
});

describe('the server’s words for the page’s things', () => {
	it('names each drill as its button does, never by its id', () => {
		for (const [id, title] of Object.entries(DRILL_TITLES)) {
			expect(ui(`drills.label.${id}`), id).toBe(title);
		}
	});

	it('calls a workshop «занятие» everywhere', () => {
		const dict = readFileSync(RU_JSON, 'utf8');
		expect(dict).not.toMatch(/[Вв]оркшоп|[Пп]рактикум/);
	});
});
