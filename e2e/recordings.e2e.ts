/**
 * Session recordings in Debian's Chromium against the built site and a real lab (real Docker): the
 * join page says what is recorded and how long it is kept; a workshop learner opens a step, runs a
 * command and downloads «Скачать запись сессии» — a `.cast` that parses as asciicast v2 with the
 * command's output and the step's marker; the instructor's «Запись» opens asciinema-player on
 * the learner's terminal with the markers to jump to. axe clean; screenshots in e2e/screenshots/.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCast } from '../lab-server/testing/asciicast';
import { SHOTS, seriousViolations, startE2E, terminalText, waitForText } from './harness';

const SECRET = 'e2e-instructor-secret-0123456789';

let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;
let workshop: { id: string; code: string; instructorUrl: string };
let learner: BrowserContext;
let page: Page;

beforeAll(async () => {
	({ browser, base, close } = await startE2E('recordings', { INSTRUCTOR_SECRET: SECRET }));
	const res = await fetch(`${base}/api/workshops`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
		body: JSON.stringify({ title: 'Записи e2e', pool: 1 }),
	});
	expect(res.status).toBe(201);
	workshop = (await res.json()) as typeof workshop;
});
afterAll(() => close?.());

const newContext = () =>
	browser.newContext({
		viewport: { width: 1440, height: 900 },
		locale: 'ru-RU',
		acceptDownloads: true,
	});

async function clean(p: Page, shot: string): Promise<void> {
	expect(await seriousViolations(p)).toEqual([]);
	await p.screenshot({ path: path.join(SHOTS, `${shot}.png`) });
}

it('a learner is told of recordings on joining, and downloads their own session', async () => {
	learner = await newContext();
	page = await learner.newPage();
	await page.goto(`${base}/workshop/?code=${workshop.code}`);
	expect(await page.locator('main').innerText()).toContain('Записи хранятся до завершения занятия');
	await page.getByLabel('Ваше имя').fill('Анна Петрова');
	await page.getByRole('button', { name: 'Присоединиться' }).click();
	await page.waitForURL(/\/steps\//, { timeout: 150_000 });
	await waitForText('hap1', () => terminalText(page, 'hap1'), 'ubuntu@hap1:~$', 60_000);

	const step = await page.goto(`${base}/steps/03-install/`);
	// Only the instructor's pages may compile WebAssembly (the player's terminal).
	expect(step?.headers()['content-security-policy']).not.toContain('wasm-unsafe-eval');
	await waitForText('hap1 again', () => terminalText(page, 'hap1'), 'ubuntu@hap1:~$', 60_000);
	await page.locator('lab-terminal[node="hap1"] .xterm').click();
	await page.keyboard.type('echo zapis-$((20+3))\n');
	await waitForText('the command', () => terminalText(page, 'hap1'), 'zapis-23', 15_000);

	await page.getByText('Скачать запись сессии').click();
	const link = page.getByRole('link', { name: /Терминал hap1 \(main\)/ });
	await link.waitFor({ timeout: 15_000 });
	await clean(page, 'recordings-learner');
	const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
	expect(download.suggestedFilename()).toMatch(/^[a-z0-9]{10}-hap1-main\.cast$/);
	const text = await readFile((await download.path())!, 'utf8');
	const { header, events } = parseCast(text);
	expect(header.version).toBe(2);
	expect(
		events
			.filter(([, c]) => c === 'o')
			.map(([, , d]) => d)
			.join(''),
	).toContain('zapis-23');
	expect(events.filter(([, c]) => c === 'm').map(([, , d]) => d)).toContain(
		'Шаг 3. Установка keepalived',
	);
});

it("the instructor replays the learner's terminal with asciinema-player and its markers", async () => {
	const instructor = await newContext();
	const dashboard = await instructor.newPage();
	const response = await dashboard.goto(`${base}${workshop.instructorUrl}`);
	expect(response?.headers()['content-security-policy']).toContain("'wasm-unsafe-eval'");
	await dashboard.getByRole('button', { name: 'Запись сессии: Анна Петрова' }).click();
	const dialog = dashboard.getByRole('dialog', { name: 'Запись сессии: Анна Петрова' });
	await dialog.waitFor();
	await dialog.locator('.ap-player').waitFor({ timeout: 30_000 });
	const marker = dialog.getByRole('button', { name: /Шаг 3\. Установка keepalived/ });
	await marker.waitFor({ timeout: 15_000 });
	expect(
		await dialog.getByRole('button', { name: 'hap1', exact: true }).getAttribute('aria-pressed'),
	).toBe('true');
	await marker.click();
	// Jumping to the marker shows the screen as it was then: the prompt, drawn by the player.
	await waitForText(
		'the player',
		() => dialog.locator('.ap-term-text').innerText(),
		'ubuntu@hap1',
		15_000,
	);
	// The marker's place on the player's own timeline.
	expect(await dialog.locator('.ap-marker-container, .ap-marker').count()).toBeGreaterThan(0);
	await clean(dashboard, 'recordings-dashboard-player');
	await instructor.close();
});

it('the player dialog reads in the dark theme too', async () => {
	const instructor = await browser.newContext({
		viewport: { width: 1440, height: 900 },
		locale: 'ru-RU',
		colorScheme: 'dark',
	});
	const dashboard = await instructor.newPage();
	await dashboard.goto(`${base}${workshop.instructorUrl}`);
	await dashboard.getByRole('button', { name: 'Запись сессии: Анна Петрова' }).click();
	const dialog = dashboard.getByRole('dialog', { name: 'Запись сессии: Анна Петрова' });
	await dialog.locator('.ap-player').waitFor({ timeout: 30_000 });
	await dialog.getByRole('button', { name: /Шаг 3\. Установка keepalived/ }).click();
	await waitForText(
		'the player',
		() => dialog.locator('.ap-term-text').innerText(),
		'ubuntu@hap1',
		15_000,
	);
	await clean(dashboard, 'recordings-dashboard-player-dark');
	await instructor.close();
	await learner.close();
});
