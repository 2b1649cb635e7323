/**
 * A workshop in Debian's Chromium against the built site and a real lab server (real
 * Docker): the instructor creates one through the API (pool of 2), a learner joins by code and
 * name on /workshop/ and lands on the first step with the lab running, the instructor's dashboard
 * lists the learner and shows the learner's terminal read-only, and presenter mode moves between
 * steps with the arrow keys; when the instructor resets the learner's lab, the learner's page says
 * so (and does not when the learner resets it). Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOTS, startE2E, terminalText, seriousViolations } from './harness';

const SECRET = 'e2e-instructor-secret-0123456789';

let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ browser, base, close } = await startE2E('workshop', { INSTRUCTOR_SECRET: SECRET }));
});
afterAll(() => close?.());

async function newContext(colorScheme: 'light' | 'dark' = 'light'): Promise<BrowserContext> {
	return browser.newContext({
		viewport: { width: 1440, height: 900 },
		locale: 'ru-RU',
		colorScheme,
	});
}

interface Created {
	id: string;
	code: string;
	instructorToken: string;
	instructorUrl: string;
}

describe('a workshop', () => {
	let created: Created;
	let learner: BrowserContext;

	it('is created by the instructor through the API', async () => {
		const response = await fetch(`${base}/api/workshops`, {
			method: 'POST',
			headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
			body: JSON.stringify({ title: 'Занятие e2e', pool: 2 }),
		});
		expect(response.status).toBe(201);
		created = (await response.json()) as Created;
		expect(created.instructorUrl).toBe(`/instructor/#${created.id}.${created.instructorToken}`);
	});

	it('says plainly when the code is unknown', async () => {
		const context = await newContext();
		const page = await context.newPage();
		await page.goto(`${base}/workshop/?code=aaa-aaa`);
		expect(await page.getByLabel('Код занятия').inputValue()).toBe('AAA-AAA');
		await page.getByLabel('Ваше имя').fill('Никто');
		await page.getByRole('button', { name: 'Присоединиться' }).click();
		await expect
			.poll(() => page.getByRole('status').first().innerText())
			.toContain('Нет такого занятия');
		await context.close();
	});

	it('is joined by code and name, and the lab runs on the first step', async () => {
		learner = await newContext();
		const page = await learner.newPage();
		const code = `${created.code.slice(0, 3)}-${created.code.slice(3)}`.toLowerCase();
		await page.goto(`${base}/workshop/?code=${code}`);
		await page.getByLabel('Ваше имя').fill('Анна Петрова');
		expect(await seriousViolations(page)).toEqual([]);
		await page.screenshot({ path: path.join(SHOTS, 'workshop-join.png') });

		await page.getByRole('button', { name: 'Присоединиться' }).click();
		// The pool may still be starting: the page retries 503 by itself.
		await page.waitForURL(/\/steps\//, { timeout: 150_000 });
		await expect
			.poll(() => page.locator('lab-terminal[node="hap1"] .xterm-rows').innerText(), {
				timeout: 60_000,
			})
			.toContain('ubuntu@hap1:~$');
	});

	it('shows the learner on the instructor dashboard, with a read-only terminal', async () => {
		const context = await newContext();
		const page = await context.newPage();
		await page.goto(`${base}${created.instructorUrl}`);
		const row = page.getByRole('row', { name: /Анна Петрова/ });
		await row.waitFor({ timeout: 15_000 });
		// The token is not left in the address bar (a dashboard is often on a projector).
		expect(new URL(page.url()).hash).toBe('');
		const code = `${created.code.slice(0, 3)}-${created.code.slice(3)}`;
		expect(await page.getByText(code, { exact: true }).first().isVisible()).toBe(true);
		expect(
			await page.getByRole('link', { name: /\/workshop\/\?code=/ }).getAttribute('href'),
		).toContain(`code=${code}`);
		expect(await seriousViolations(page)).toEqual([]);
		await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });

		await page.getByRole('button', { name: 'Посмотреть терминал: Анна Петрова' }).click();
		const dialog = page.getByRole('dialog', { name: /Терминал: Анна Петрова/ });
		await dialog.waitFor();
		expect(await dialog.innerText()).toContain('только просмотр');
		await expect
			.poll(() => dialog.locator('.xterm-rows').innerText(), { timeout: 30_000 })
			.toContain('ubuntu@hap1:~$');
		await page.screenshot({ path: path.join(SHOTS, 'dashboard-viewer.png') });
		await page.keyboard.press('Escape');
		await context.close();

		const dark = await newContext('dark');
		const darkPage = await dark.newPage();
		await darkPage.goto(`${base}${created.instructorUrl}`);
		await darkPage.getByRole('row', { name: /Анна Петрова/ }).waitFor({ timeout: 15_000 });
		expect(await seriousViolations(darkPage)).toEqual([]);
		await darkPage.screenshot({ path: path.join(SHOTS, 'dashboard-dark.png') });
		await dark.close();
	});

	it('tells the learner that the instructor reset the lab, without taking the focus', async () => {
		const page = learner.pages()[0]!;
		// The learner is at work in hap1's terminal.
		await page.locator('lab-terminal[node="hap1"] .xterm').click();
		const focusedTerminal = () =>
			page.evaluate(
				() => document.activeElement?.closest('lab-terminal')?.getAttribute('node') ?? null,
			);
		expect(await focusedTerminal()).toBe('hap1');

		const context = await newContext();
		const dashboard = await context.newPage();
		await dashboard.goto(`${base}${created.instructorUrl}`);
		await dashboard.getByRole('button', { name: 'Сбросить стенд: Анна Петрова' }).click();
		await dashboard
			.getByRole('dialog', { name: 'Сбросить стенд участника?' })
			.getByRole('button', { name: 'Сбросить' })
			.click();

		const notice = page.locator('lab-panel [data-slot="reset-notice"]');
		await notice.waitFor({ state: 'visible', timeout: 60_000 });
		const text =
			'Преподаватель сбросил ваш стенд: узлы hap1 и hap2 возвращаются в исходное состояние';
		expect(await notice.innerText()).toContain(text);
		// Said to screen readers by the panel's polite live region, not by moving the focus.
		await expect
			.poll(() => page.locator('lab-panel > [aria-live="polite"]').innerText())
			.toContain(text);
		expect(await focusedTerminal()).toBe('hap1');
		// The reset is over (the dashboard says so) and hap1's terminal is on a new shell.
		await expect
			.poll(() => dashboard.getByText('Стенд участника «Анна Петрова» сброшен').count(), {
				timeout: 60_000,
			})
			.toBe(1);
		// A prompt of the new node's shell, not just the page's line: a reconnect during the reset
		// once opened on the node going away and waited for a prompt that never came.
		await expect
			.poll(() => terminalText(page, 'hap1'), { timeout: 30_000 })
			.toMatch(/новый сеанс[\s\S]*ubuntu@hap1:~\$/);
		expect(await focusedTerminal()).toBe('hap1');
		expect(await seriousViolations(page)).toEqual([]);
		await page.screenshot({ path: path.join(SHOTS, 'instructor-reset-notice.png') });
		await context.close();

		// «Понятно» hides it, and the focus goes back to the terminal.
		await notice.getByRole('button', { name: 'Скрыть сообщение о сбросе стенда' }).click();
		expect(await notice.isHidden()).toBe(true);
		expect(await focusedTerminal()).toBe('hap1');

		// The learner's own reset needs no notice: the button's line says it is done.
		const panel = page.locator('lab-panel');
		await panel.getByRole('button', { name: 'Сбросить стенд' }).click();
		await panel
			.getByRole('dialog', { name: 'Сбросить стенд?' })
			.getByRole('button', { name: 'Сбросить' })
			.click();
		await expect
			.poll(() => panel.locator('[data-slot="action-message"]').innerText(), { timeout: 60_000 })
			.toBe('Стенд сброшен');
		expect(await notice.isHidden()).toBe(true);
	});

	it('presents the steps one per screen, moved with the arrow keys', async () => {
		const page = learner.pages()[0]!;
		const first = new URL(page.url()).pathname.split('/')[2]!;
		await page.getByRole('link', { name: 'Режим презентации' }).click();
		await page.waitForURL(`**/present/${first}/`);
		await page.locator('body').click({ position: { x: 5, y: 300 } });
		await page.keyboard.press('ArrowRight');
		await page.waitForURL(
			(url) => url.pathname.startsWith('/present/') && !url.pathname.includes(first),
		);
		await expect
			.poll(() => page.locator('lab-terminal[node="hap1"] .xterm-rows').innerText())
			.toContain('ubuntu@hap1:~$');
		expect(await seriousViolations(page)).toEqual([]);
		await page.screenshot({ path: path.join(SHOTS, 'present.png') });
		await page.keyboard.press('PageUp');
		await page.waitForURL(`**/present/${first}/`);
		await learner.close();
	});
});
