/**
 * A reset the instructor made while the learner's page was closed, in Debian's Chromium against
 * the built site and a real lab server with a workshop: the page that comes back says so (the
 * lab's `lastReset`), once — dismissed, a reload does not say it again; nor of one told live
 * (workshop.e2e follows that one further). Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations, SHOTS, startE2E, terminalText, waitForText } from './harness';

const SECRET = 'e2e-reset-notice-secret-with-enough-length';

let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ browser, base, close } = await startE2E('reset-notice', { INSTRUCTOR_SECRET: SECRET }));
});
afterAll(() => close?.());

describe('the instructor resets a lab while its page is closed', () => {
	it('is told when the page comes back, and only once', async () => {
		const response = await fetch(`${base}/api/workshops`, {
			method: 'POST',
			headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
			body: JSON.stringify({ title: 'Сброс без слушателя', pool: 1 }),
		});
		expect(response.status).toBe(201);
		const workshop = (await response.json()) as {
			id: string;
			code: string;
			instructorToken: string;
		};

		const context = await browser.newContext({
			viewport: { width: 1280, height: 900 },
			locale: 'ru-RU',
		});
		const first = await context.newPage();
		await first.goto(`${base}/workshop/?code=${workshop.code}`);
		await first.getByLabel('Ваше имя').fill('Ирина');
		await first.getByRole('button', { name: 'Присоединиться' }).click();
		await first.waitForURL(/\/steps\//, { timeout: 150_000 });
		await waitForText('hap1', () => terminalText(first, 'hap1'), 'ubuntu@hap1:~$', 60_000);
		const labId = await first.evaluate(() => localStorage.getItem('keepalived-lab:lab-id'));
		const stepUrl = first.url();
		await first.close();

		const resetLab = () =>
			fetch(`${base}/api/workshops/${workshop.id}/labs/${labId}/reset`, {
				method: 'POST',
				headers: {
					authorization: `Bearer ${workshop.instructorToken}`,
					'content-type': 'application/json',
				},
				body: '{}',
			});
		expect((await resetLab()).status).toBe(200);

		const page = await context.newPage();
		await page.goto(stepUrl);
		const notice = page.locator('lab-panel [data-slot="reset-notice"]');
		await notice.waitFor({ state: 'visible', timeout: 30_000 });
		// Told as over, with its time: it happened while nobody looked.
		expect(await notice.innerText()).toMatch(
			/^Пока страница была закрыта, в \d\d:\d\d преподаватель сбросил ваш стенд: узлы hap1 и hap2 вернулись в исходное состояние/,
		);
		expect(await seriousViolations(page)).toEqual([]);
		await page.screenshot({ path: path.join(SHOTS, 'reset-notice-after-closed.png') });

		await notice.getByRole('button', { name: 'Скрыть сообщение о сбросе стенда' }).click();
		await page.reload();
		await waitForText('hap1 again', () => terminalText(page, 'hap1'), 'ubuntu@hap1:~$', 60_000);
		expect(await page.locator('lab-panel').getAttribute('data-state')).toBe('running');
		expect(await notice.isHidden()).toBe(true);

		// One told live, while the page is open, is not told again after a reload either.
		expect((await resetLab()).status).toBe(200);
		await notice.waitFor({ state: 'visible', timeout: 30_000 });
		expect(await notice.innerText()).toContain('Преподаватель сбросил ваш стенд: узлы hap1 и hap2');
		await notice.getByRole('button', { name: 'Скрыть сообщение о сбросе стенда' }).click();
		await page.reload();
		await waitForText('hap1 at last', () => terminalText(page, 'hap1'), 'ubuntu@hap1:~$', 60_000);
		expect(await notice.isHidden()).toBe(true);
		await context.close();
	});
});
