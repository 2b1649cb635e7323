/**
 * The instructor's page in Debian's Chromium against the built site and a real lab server (real
 * Docker): an instructor signs in on /instructor/ (a wrong secret first: a clear error), creates a
 * workshop from the page, and opens its dashboard in a second tab of the same browser with no
 * key in the address; a learner (another browser context) joins and moves between steps, and the
 * dashboard's «Шаг» follows the page the learner has open. Presenter mode, linked from the
 * dashboard, keeps the idle lab panel out of the way and shows a running lab's terminal in a font
 * as large as the slide's. axe clean on every new page state; screenshots in e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SHOTS, seriousViolations, startE2E, terminalText, waitForText } from './harness';

const SECRET = 'e2e-instructor-secret-0123456789';
const TITLE = 'Группа из браузера';

let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ browser, base, close } = await startE2E('instructor', { INSTRUCTOR_SECRET: SECRET }));
});
afterAll(() => close?.());

function newContext(colorScheme: 'light' | 'dark' = 'light'): Promise<BrowserContext> {
	return browser.newContext({
		viewport: { width: 1440, height: 900 },
		locale: 'ru-RU',
		colorScheme,
	});
}

/** No serious axe violation, and a screenshot (the whole page, or what a projector shows). */
async function clean(page: Page, shot: string, fullPage = true): Promise<void> {
	expect(await seriousViolations(page)).toEqual([]);
	await page.screenshot({ path: path.join(SHOTS, `${shot}.png`), fullPage });
}

/** The «Шаг» cell of a learner's row on the dashboard. */
function stepCell(dashboard: Page, name: string): Locator {
	return dashboard.getByRole('row', { name: new RegExp(name) }).locator('[data-cell="step"]');
}

/** The xterm font size in px of the page's hap1 terminal. */
function terminalFontSize(page: Page): Promise<number> {
	return page
		.locator('lab-terminal[node="hap1"] .xterm-rows')
		.evaluate((rows) => parseFloat(getComputedStyle(rows).fontSize));
}

it('an instructor signs in, creates a workshop and follows a learner from step to step', async () => {
	const instructor = await newContext();
	const home = await instructor.newPage();
	await home.goto(`${base}/instructor/`);
	const secret = home.getByLabel('Секрет преподавателя');
	await secret.waitFor();
	await clean(home, 'instructor-sign-in');

	// A wrong secret: said in words, the field marked, nothing signed in.
	await secret.fill('not-the-secret-at-all');
	await home.getByRole('button', { name: 'Войти' }).click();
	await waitForText(
		'the sign-in status',
		() => home.locator('#home-sign-in-status').innerText(),
		'Секрет не подходит. Проверьте его и попробуйте снова.',
		10_000,
	);
	expect(await secret.getAttribute('aria-invalid')).toBe('true');
	await clean(home, 'instructor-sign-in-error');

	await secret.fill(SECRET);
	await secret.press('Enter');
	const create = home.getByRole('button', { name: 'Создать занятие' });
	await create.waitFor();
	// The browser keeps a session token it cannot read, never the secret.
	const cookies = await instructor.cookies();
	expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path])).toEqual([
		['klab_instructor', true, 'Strict', '/api'],
	]);
	expect(cookies[0]!.value).not.toContain(SECRET);
	await clean(home, 'instructor-signed-in');

	await home.getByLabel('Название').fill(TITLE);
	await home.getByLabel('Стендов наготове').fill('1');
	await home.getByLabel('Мест').fill('3');
	await create.click();
	const done = await waitForText(
		'the create status',
		() => home.locator('[data-slot="create-status"]').innerText(),
		/создано, код [A-Z0-9]{3}-[A-Z0-9]{3}/,
		10_000,
	);
	const code = /код ([A-Z0-9]{3}-[A-Z0-9]{3})/.exec(done)![1]!;
	const open = home.getByRole('link', { name: `Открыть панель занятия «${TITLE}»` });
	const href = (await open.getAttribute('href'))!;
	expect(href).toMatch(/^\/instructor\/\?workshop=[a-z0-9]{10}$/);
	expect(await home.getByRole('row', { name: new RegExp(TITLE) }).innerText()).toContain(code);
	await clean(home, 'instructor-workshops');

	// A second tab of the same browser: the dashboard opens with no key in the address.
	const dashboard = await instructor.newPage();
	await dashboard.goto(`${base}${href}`);
	await dashboard.getByText(code, { exact: true }).waitFor({ timeout: 15_000 });
	expect(new URL(dashboard.url()).hash).toBe('');
	expect(await dashboard.getByRole('heading', { name: 'Занятия преподавателя' }).count()).toBe(0);
	expect(
		await dashboard.getByRole('link', { name: 'Режим презентации' }).getAttribute('href'),
	).toBe('/present/01-theory/');

	// A learner joins and moves between steps; the dashboard follows the page they have open.
	const learner = await newContext();
	const page = await learner.newPage();
	await page.goto(`${base}/workshop/?code=${code}`);
	await page.getByLabel('Ваше имя').fill('Анна Петрова');
	await page.getByRole('button', { name: 'Присоединиться' }).click();
	await page.waitForURL(/\/steps\/01-theory\//, { timeout: 150_000 });
	const step = stepCell(dashboard, 'Анна Петрова');
	await waitForText(
		'«Шаг» after the join',
		() => step.innerText(),
		'1. Немного теории: зачем нужен VIP и кто им управляет',
		15_000,
	);
	await clean(dashboard, 'instructor-dashboard-step');

	await page
		.getByRole('navigation', { name: 'Соседние шаги' })
		.getByRole('link', { name: /Далее/ })
		.click();
	await page.waitForURL(/\/steps\/02-lab-nodes\//);
	await waitForText(
		'«Шаг» on step 2',
		() => step.innerText(),
		'2. Стенд и узлы hap1, hap2',
		15_000,
	);
	await page.goto(`${base}/steps/05-config/`);
	await waitForText(
		'«Шаг» on step 5',
		() => step.innerText(),
		'5. Конфигурация keepalived.conf',
		15_000,
	);

	// Presenter mode with no lab: the idle panel with its learner text is out of the way.
	await dashboard.getByRole('link', { name: 'Режим презентации' }).click();
	await dashboard.waitForURL('**/present/01-theory/');
	await dashboard.locator('lab-panel[data-live]').waitFor({ state: 'attached' });
	await expect.poll(() => dashboard.locator('#lab-aside').isVisible()).toBe(false);
	const toggle = dashboard.getByRole('button', { name: 'Стенд', exact: true });
	expect(await toggle.getAttribute('aria-expanded')).toBe('false');
	await clean(dashboard, 'instructor-present-idle', false);
	await toggle.click();
	expect(await dashboard.locator('#lab-aside').isVisible()).toBe(true);
	expect(await toggle.getAttribute('aria-expanded')).toBe('true');

	// The learner's running lab in presenter mode: shown, its terminal's font as large as the slide's.
	await waitForText('hap1 on step 5', () => terminalText(page, 'hap1'), 'ubuntu@hap1:~$', 60_000);
	expect(await terminalFontSize(page)).toBe(14);
	await page.goto(`${base}/present/05-config/`);
	await waitForText('hap1 presented', () => terminalText(page, 'hap1'), 'ubuntu@hap1:~$', 60_000);
	expect(await page.locator('#lab-aside').isVisible()).toBe(true);
	await expect.poll(() => terminalFontSize(page)).toBeCloseTo(14 * 1.35, 1);
	await clean(page, 'instructor-present-lab', false);
	await learner.close();

	// Signing out in one tab: a dashboard open in another asks to sign in again.
	const again = await instructor.newPage();
	await again.goto(`${base}${href}`);
	await again.getByText(code, { exact: true }).waitFor({ timeout: 15_000 });
	await home.getByRole('button', { name: 'Выйти' }).click();
	await home.getByLabel('Секрет преподавателя').waitFor();
	await waitForText(
		'the dashboard after signing out',
		() => again.locator('[data-slot="message"]').innerText(),
		'войдите как преподаватель',
		10_000,
	);
	expect(await again.getByRole('link', { name: 'Войти' }).getAttribute('href')).toBe(
		'/instructor/',
	);
	expect(await instructor.cookies()).toEqual([]);
	await instructor.close();

	// The dark theme: the sign-in form and the list of workshops.
	const dark = await newContext('dark');
	const night = await dark.newPage();
	await night.goto(`${base}/instructor/`);
	await night.getByLabel('Секрет преподавателя').fill(SECRET);
	await clean(night, 'instructor-sign-in-dark');
	await night.getByRole('button', { name: 'Войти' }).click();
	await night.getByRole('row', { name: new RegExp(TITLE) }).waitFor();
	await clean(night, 'instructor-workshops-dark');
	await dark.close();
});
