/**
 * «Позвать преподавателя» in Debian's Chromium against the built site and a real lab server
 * (real Docker), one learner and the instructor: the learner raises a hand with a message from
 * the lab panel and the dashboard shows it at once (with the message) above the table; the
 * instructor asks for input rights from the learner's terminal, the learner sees «Преподаватель
 * просит доступ к вводу» and allows; both pages show a banner; the instructor types a command in
 * the viewer and the learner's terminal runs it; the learner ends it, then (asked and allowed
 * again) the instructor does, then closing the viewer does. axe clean on each new state; screenshots in e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
	SHOTS,
	inViewport,
	seriousViolations,
	startE2E,
	terminalText,
	waitForText,
} from './harness';

const SECRET = 'e2e-instructor-secret-0123456789';
const NAME = 'Анна Петрова';
/** Learner text goes on the instructor's screen as text, never as markup. */
const MESSAGE = 'VIP не переезжает на hap2 <b>помогите</b>';

let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ browser, base, close } = await startE2E('help', { INSTRUCTOR_SECRET: SECRET }));
});
afterAll(() => close?.());

function newContext(): Promise<BrowserContext> {
	return browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'ru-RU' });
}

async function clean(page: Page, shot: string): Promise<void> {
	expect(await seriousViolations(page)).toEqual([]);
	await page.screenshot({ path: path.join(SHOTS, `${shot}.png`) });
}

/** Waits until the locator is visible (or, with `false`, hidden). */
async function shown(locator: Locator, visible = true, timeout = 15_000): Promise<void> {
	await locator.waitFor({ state: visible ? 'visible' : 'hidden', timeout });
}

it('a learner calls the instructor, who types in the learner terminal only while allowed', async () => {
	const res = await fetch(`${base}/api/workshops`, {
		method: 'POST',
		headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
		body: JSON.stringify({ title: 'Занятие с помощью', pool: 1, seats: 1 }),
	});
	expect(res.status).toBe(201);
	const workshop = (await res.json()) as { code: string; instructorUrl: string };

	// The learner joins and the lab runs.
	const learnerContext = await newContext();
	const learner = await learnerContext.newPage();
	await learner.goto(`${base}/workshop/?code=${workshop.code}`);
	await learner.getByLabel('Ваше имя').fill(NAME);
	await learner.getByRole('button', { name: 'Присоединиться' }).click();
	await learner.waitForURL(/\/steps\//, { timeout: 150_000 });
	await waitForText('hap1', () => terminalText(learner, 'hap1'), 'ubuntu@hap1:~$', 60_000);

	// The instructor's dashboard, open before the hand goes up.
	const instructorContext = await newContext();
	const dashboard = await instructorContext.newPage();
	await dashboard.goto(`${base}${workshop.instructorUrl}`);
	const row = dashboard.getByRole('row', { name: new RegExp(NAME) });
	await row.waitFor({ timeout: 15_000 });
	const hands = dashboard.getByRole('region', { name: /Зовут преподавателя/ });
	expect(await hands.count()).toBe(0);
	// The sound is off until the instructor turns it on.
	expect(await dashboard.getByLabel('Звук, когда зовут').isChecked()).toBe(false);

	// The hand goes up with a message.
	const help = learner.locator('lab-help');
	await shown(help);
	await help.getByLabel('Сообщение преподавателю (необязательно)').fill(MESSAGE);
	await help.getByRole('button', { name: 'Позвать преподавателя' }).click();
	await shown(help.getByRole('button', { name: 'Опустить руку' }));
	expect(await help.innerText()).toContain(
		`Рука поднята: преподаватель видит ваш вызов и сообщение «${MESSAGE}».`,
	);
	await clean(learner, 'help-hand-raised');

	await shown(hands);
	expect(await hands.innerText()).toContain(`${NAME} зовёт преподавателя`);
	expect(await hands.innerText()).toContain(`«${MESSAGE}»`);
	expect(await hands.locator('b').count()).toBe(0);
	expect(await row.getAttribute('class')).toContain('dash-row--hand');
	await waitForText(
		'the announcement',
		() => dashboard.locator('[data-slot="hands-announce"]').innerText(),
		`${NAME} зовёт преподавателя: ${MESSAGE}`,
		5_000,
	);
	await dashboard.screenshot({ path: path.join(SHOTS, 'help-dashboard-hand.png'), fullPage: true });
	expect(await seriousViolations(dashboard)).toEqual([]);
	const darkContext = await browser.newContext({
		viewport: { width: 1440, height: 900 },
		locale: 'ru-RU',
		colorScheme: 'dark',
	});
	const dark = await darkContext.newPage();
	await dark.goto(`${base}${workshop.instructorUrl}`);
	await shown(dark.getByRole('region', { name: /Зовут преподавателя/ }));
	expect(await seriousViolations(dark)).toEqual([]);
	await dark.screenshot({ path: path.join(SHOTS, 'help-dashboard-hand-dark.png') });
	await darkContext.close();

	// The instructor opens the terminal from the hand and asks for input rights.
	await hands.getByRole('button', { name: `Открыть терминал: ${NAME}` }).click();
	const viewer = dashboard.getByRole('dialog', { name: new RegExp(`Терминал: ${NAME}`) });
	await viewer.waitFor();
	await waitForText(
		'the viewer',
		() => viewer.locator('.xterm-rows').innerText(),
		'ubuntu@hap1:~$',
		30_000,
	);
	expect(await viewer.innerText()).toContain('только просмотр');
	await viewer.getByRole('button', { name: 'Попросить доступ к вводу' }).click();
	await waitForText(
		'the takeover status',
		() => viewer.locator('[data-slot="takeover-text"]').innerText(),
		'Запрос отправлен',
		10_000,
	);

	// The learner is asked, and allows.
	const ask = help.getByRole('group', { name: 'Преподаватель просит доступ к вводу' });
	await shown(ask);
	await clean(learner, 'help-takeover-asked');
	await ask.getByRole('button', { name: 'Разрешить' }).click();
	const banner = help.locator('[data-slot="allowed"]');
	await shown(banner);
	expect(await banner.innerText()).toContain(
		'Преподаватель может вводить команды в ваших терминалах',
	);
	await clean(learner, 'help-takeover-allowed');
	// On a phone the banner stays above the docked terminal, in view.
	await learner.setViewportSize({ width: 400, height: 800 });
	await learner.locator('lab-panel').scrollIntoViewIfNeeded();
	expect(await inViewport(banner)).toBe(true);
	await learner.screenshot({ path: path.join(SHOTS, 'help-takeover-allowed-phone.png') });
	await learner.setViewportSize({ width: 1440, height: 900 });

	// The dashboard's next picture says so; the viewer types now.
	await waitForText(
		'the takeover status',
		() => viewer.locator('[data-slot="takeover-text"]').innerText(),
		'Участник разрешил ввод',
		10_000,
	);
	expect(await viewer.locator('[data-slot="viewer-badge"]').innerText()).toBe('ввод разрешён');
	await viewer.locator('.xterm').click();
	await dashboard.keyboard.type('echo "from-teacher-$((6*7))"');
	await dashboard.keyboard.press('Enter');
	await waitForText(
		'the learner hap1',
		() => terminalText(learner, 'hap1'),
		'from-teacher-42',
		15_000,
	);
	await waitForText(
		'the viewer',
		() => viewer.locator('.xterm-rows').innerText(),
		'from-teacher-42',
		15_000,
	);
	await dashboard.screenshot({ path: path.join(SHOTS, 'help-dashboard-takeover.png') });
	expect(await seriousViolations(dashboard)).toEqual([]);

	// The learner ends it: the viewer is told, and typing no longer reaches the shell.
	await help.getByRole('button', { name: 'Прекратить' }).click();
	await shown(banner, false);
	await waitForText(
		'the viewer status',
		() => viewer.locator('[data-slot="viewer-status"]').innerText(),
		'Слушатель прекратил доступ к вводу',
		10_000,
	);
	await viewer.locator('.xterm').click();
	await dashboard.keyboard.type('echo "too-late-$((6*7))"');
	await dashboard.keyboard.press('Enter');
	await learner.locator('lab-terminal[node="hap1"] .xterm').click();
	await learner.keyboard.type('echo "fence-$((2+3))"');
	await learner.keyboard.press('Enter');
	await waitForText('the learner hap1', () => terminalText(learner, 'hap1'), 'fence-5', 15_000);
	expect(await terminalText(learner, 'hap1')).not.toContain('too-late-42');
	await waitForText(
		'the takeover status',
		() => viewer.locator('[data-slot="takeover-text"]').innerText(),
		'Доступ к вводу прекращён',
		10_000,
	);

	/** The instructor asks for input rights, the learner allows, the dashboard says so. */
	const askAndAllow = async () => {
		await viewer.getByRole('button', { name: 'Попросить доступ к вводу' }).click();
		await shown(ask);
		await ask.getByRole('button', { name: 'Разрешить' }).click();
		await shown(banner);
		await waitForText(
			'the takeover status',
			() => viewer.locator('[data-slot="takeover-text"]').innerText(),
			'Участник разрешил ввод',
			10_000,
		);
	};

	// Asked and allowed again; this time the instructor ends it.
	await askAndAllow();
	await viewer.getByRole('button', { name: 'Прекратить' }).click();
	await shown(banner, false);
	expect(await viewer.locator('[data-slot="viewer-badge"]').innerText()).toBe('только просмотр');

	// Once more; closing the viewer ends it too: input rights never outlive the open terminal.
	await askAndAllow();
	await viewer.getByRole('button', { name: 'Закрыть' }).click();
	await shown(viewer, false);
	await shown(banner, false);

	// The hand goes down, and the dashboard lets it go.
	await help.getByRole('button', { name: 'Опустить руку' }).click();
	await shown(help.getByRole('button', { name: 'Позвать преподавателя' }));
	await shown(hands, false);
	expect(await row.getAttribute('class')).not.toContain('dash-row--hand');
	await instructorContext.close();
	await learnerContext.close();
});
