/**
 * Progress and drills as a learner sees them, in Debian's Chromium against the built site and a
 * real lab server (real Docker): a step's check box goes from «ожидает» to «выполнено» through
 * «Выполнить шаг за меня» and the steps list marks the step; on the failover step the drill
 * «Остановить haproxy» moves the VIP and the downtime meter's outage appears beside the theory.
 * Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	clickStartLab,
	inViewport,
	livePanel,
	seriousViolations,
	SHOTS,
	startE2E,
} from './harness';

const SERVICE_STEP = '07-service';
const FAILOVER_STEP = '10-failover';

let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ browser, base, close } = await startE2E('progress'));
});
afterAll(() => close?.());

async function newContext(): Promise<BrowserContext> {
	return browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'ru-RU' });
}

describe('before a lab runs', () => {
	it('the failover step (check box and drills) loads at most 60 KB of JavaScript (gzip)', async () => {
		const context = await newContext();
		const page = await context.newPage();
		let bytes = 0;
		page.on('response', async (response) => {
			if (response.request().resourceType() !== 'script') return;
			bytes += Number((await response.allHeaders())['content-length'] ?? 0);
		});
		await page.goto(`${base}/steps/${FAILOVER_STEP}/`, { waitUntil: 'networkidle' });
		console.log(
			`[measure] JS on the failover step before a lab starts: ${(bytes / 1024).toFixed(1)} KB (gzip)`,
		);
		expect(bytes).toBeGreaterThan(0);
		expect(bytes).toBeLessThanOrEqual(60 * 1024);

		// Nothing to press yet: the buttons wait for a lab and say so.
		const drills = page.getByRole('region', { name: /Учения/ });
		await expect
			.poll(() => drills.getByRole('button', { name: 'Остановить haproxy' }).isDisabled())
			.toBe(true);
		const check = page.getByRole('region', { name: 'Проверка шага' });
		expect(await check.getByRole('button', { name: 'Проверить' }).isDisabled()).toBe(true);
		expect(await check.innerText()).toContain('стенд не запущен');
		expect(await seriousViolations(page)).toEqual([]);
		await context.close();
	});
});

describe('progress and drills on a real lab', () => {
	let context: BrowserContext;
	let page: Page;

	beforeAll(async () => {
		context = await newContext();
		page = await context.newPage();
	});

	afterAll(async () => {
		await context?.close();
	});

	it('«Выполнить шаг за меня» turns a pending check into a done step in the steps list', async () => {
		await page.goto(`${base}/steps/${SERVICE_STEP}/`);
		await clickStartLab(page);
		await page.getByRole('region', { name: /Терминал hap1/ }).waitFor({ timeout: 90_000 });

		const check = page.getByRole('region', { name: 'Проверка шага' });
		const badge = check.locator('[data-slot="badge"]');
		// A fresh lab: keepalived is not even installed, so the service step has not started.
		await expect.poll(() => badge.innerText(), { timeout: 30_000 }).toBe('ожидает');
		const nav = page.getByRole('navigation', { name: 'Шаги курса' });
		const serviceLink = nav.getByRole('link', { name: /Запуск службы keepalived/ });
		expect(await serviceLink.innerText()).not.toContain('выполнено');
		await check.scrollIntoViewIfNeeded();
		await page.screenshot({ path: path.join(SHOTS, 'progress-pending.png') });

		await check.getByRole('button', { name: 'Выполнить шаг за меня' }).click();
		const dialog = page.getByRole('dialog', { name: 'Выполнить шаг за вас?' });
		await dialog.getByRole('button', { name: 'Выполнить' }).click();
		await expect
			.poll(() => badge.innerText(), { timeout: 180_000, interval: 500 })
			.toBe('выполнено');
		expect(await check.getByRole('list').innerText()).toContain('sudo systemctl start keepalived');

		// The steps list marks the step and those before it that the commands completed.
		await expect
			.poll(() => nav.getByRole('link', { name: /Запуск службы keepalived\s+выполнено/ }).count())
			.toBe(1);
		expect(await nav.getByRole('link', { name: /Установка keepalived\s+выполнено/ }).count()).toBe(
			1,
		);
		expect(
			await nav.getByRole('link', { name: /Отказоустойчивость на практике\s+выполнено/ }).count(),
		).toBe(0);
		// Kept per lab in the browser: a reload marks the steps before the lab answers.
		const stored = await page.evaluate(() => {
			const id = localStorage.getItem('keepalived-lab:lab-id');
			return localStorage.getItem(`keepalived-lab:progress:${id}`);
		});
		expect(JSON.parse(stored ?? '[]')).toContainEqual(
			expect.objectContaining({ id: 'service', status: 'pass' }),
		);
		await page.screenshot({ path: path.join(SHOTS, 'progress-done.png') });
		expect(await seriousViolations(page)).toEqual([]);
	});

	it('on the failover step «Остановить haproxy» moves the VIP and shows the outage', async () => {
		const nav = page.getByRole('navigation', { name: 'Шаги курса' });
		await nav.getByRole('link', { name: /Отказоустойчивость на практике/ }).click();
		await page.waitForURL((url) => url.pathname.includes(FAILOVER_STEP));

		const drills = page.locator('drills-panel');
		const holder = drills.locator('[data-slot="holder"]');
		// advert_int 2: the first MASTER comes ≈7 s after keepalived starts.
		await expect
			.poll(() => holder.innerText(), { timeout: 60_000, interval: 500 })
			.toMatch(/^hap[12]$/);

		await drills.getByRole('button', { name: 'Остановить haproxy' }).click();
		// The server accepted it (202): no refusal in the alert region once the call is over.
		await expect.poll(() => drills.getAttribute('aria-busy'), { timeout: 15_000 }).toBeNull();
		expect(await drills.locator('[data-slot="error"]').textContent()).toBe('');
		// The drill acts on the node that held the VIP when the server validated it.
		const active = await drills.locator('[data-slot="active"]').innerText();
		const before = /на (hap[12])/.exec(active)?.[1] ?? '';
		expect(before).toMatch(/^hap[12]$/);
		const after = before === 'hap1' ? 'hap2' : 'hap1';
		// While it is on, the other drills wait and «Восстановить» is the button to press.
		const restore = drills.getByRole('button', { name: 'Восстановить' });
		expect(await restore.getAttribute('class')).toContain('btn--primary');
		const freeze = drills.getByRole('button', { name: 'Заморозить узел' });
		expect(await freeze.getAttribute('aria-disabled')).toBe('true');
		// aria-disabled keeps it focusable and clickable (Playwright waits for "enabled" unless forced).
		await freeze.click({ force: true });
		expect(await drills.locator('[data-slot="error"]').innerText()).toContain(
			'Сейчас идут учения «Остановить haproxy»',
		);
		await expect.poll(() => holder.innerText(), { timeout: 30_000, interval: 250 }).toBe(after);
		const timeline = drills.getByRole('list', { name: 'Хронология' });
		expect(await timeline.innerText()).toContain(`VIP перешёл на ${after}`);

		// The meter's outage, next to the theory for this config (fall 2 × interval 1 + skew).
		const measured = drills.locator('[data-slot="measured"]');
		await expect
			.poll(() => measured.innerText(), { timeout: 30_000, interval: 250 })
			.toMatch(/^\d+,\d с$/);
		expect(await drills.locator('[data-slot="theory"]').innerText()).toMatch(/\d,\d–\d,\d с/);
		await expect
			.poll(() => drills.locator('[data-slot="outcome"]').innerText(), { timeout: 30_000 })
			.toContain(`VIP переехал с ${before} на ${after}`);
		// The results came into view by themselves, each number under its own name.
		for (const slot of ['outcome', 'figures']) {
			await expect.poll(() => inViewport(drills.locator(`[data-slot="${slot}"]`))).toBe(true);
		}
		expect(await drills.locator('[data-slot="moved"]').innerText()).toMatch(/^\d+,\d с$/);
		const figures = await drills.locator('.drills__figures dt').allTextContents();
		expect(figures).toEqual(['VIP переехал', 'Клиент без ответа', 'По теории']);
		await page.screenshot({ path: path.join(SHOTS, 'drill-stop-haproxy.png') });
		expect(await seriousViolations(page)).toEqual([]);

		// The step's own check follows: the VIP moved.
		const check = page.getByRole('region', { name: 'Проверка шага' });
		await expect
			.poll(() => check.locator('[data-slot="badge"]').innerText(), { timeout: 30_000 })
			.toBe('выполнено');

		await restore.click();
		await expect
			.poll(() => drills.locator('[data-slot="active"]').innerText(), { timeout: 30_000 })
			.toContain('Стенд восстановлен');
		expect(await restore.getAttribute('class')).not.toContain('btn--primary');
		expect(await freeze.getAttribute('aria-disabled')).toBeNull();
	});

	it('the ✓ marks outlive the lab: «Завершить стенд», then a reload, keeps them', async () => {
		const nav = page.getByRole('navigation', { name: 'Шаги курса' });
		const done = nav.locator('[data-passed]');
		const passedNow = await done.evaluateAll((items) =>
			items.map((item) => (item as HTMLElement).dataset.check),
		);
		// Everything up to the failover the drill made pass (logs is read by hand, not by the run).
		expect(passedNow).toEqual(expect.arrayContaining(['install', 'config', 'service', 'failover']));

		await page.getByRole('button', { name: 'Завершить', exact: true }).click();
		const dialog = page.getByRole('dialog', { name: 'Завершить стенд?' });
		await dialog.getByRole('button', { name: 'Завершить стенд' }).click();
		const panel = page.locator('lab-panel');
		await expect.poll(() => panel.getAttribute('data-state'), { timeout: 30_000 }).toBe('idle');

		const marks = async () =>
			done.evaluateAll((items) =>
				items.map(
					(item) =>
						`${(item as HTMLElement).dataset.check}:${(item as HTMLElement).dataset.passed}`,
				),
			);
		const earlier = passedNow.map((id) => `${id}:earlier`);
		await expect.poll(marks).toEqual(earlier);
		// Each ✓ is inside the sidebar: the current step's long bold title once pushed its ✓ out.
		const cutOff = await nav.locator('[data-done]:not([hidden])').evaluateAll((shown) =>
			shown
				.filter((mark) => {
					const box = mark.getBoundingClientRect();
					const side = mark.closest('.layout__nav')!.getBoundingClientRect();
					return box.width === 0 || box.right > side.right;
				})
				.map((mark) => mark.closest('li')?.dataset.check),
		);
		expect(cutOff).toHaveLength(0);
		expect(
			await nav.getByRole('link', { name: /Запуск службы keepalived\s+выполнено раньше/ }).count(),
		).toBe(1);
		// The step's own box: no lab, and it says the step passed on an earlier one.
		const check = page.getByRole('region', { name: 'Проверка шага' });
		await expect
			.poll(() => check.locator('[data-slot="badge"]').innerText())
			.toBe('пройдено на прежнем стенде');
		expect(await check.innerText()).toContain('Вы уже выполнили этот шаг');
		await check.scrollIntoViewIfNeeded();
		await page.screenshot({ path: path.join(SHOTS, 'progress-after-lab.png') });
		expect(await seriousViolations(page)).toEqual([]);

		await page.reload();
		await livePanel(page);
		expect(await marks()).toEqual(earlier);
		expect(
			await page
				.getByRole('region', { name: 'Проверка шага' })
				.locator('[data-slot="badge"]')
				.innerText(),
		).toBe('пройдено на прежнем стенде');
		// Another step that never passed says nothing of an earlier lab.
		await nav.getByRole('link', { name: /Логи keepalived/ }).click();
		await expect
			.poll(() =>
				page
					.getByRole('region', { name: 'Проверка шага' })
					.locator('[data-slot="badge"]')
					.innerText(),
			)
			.toBe('стенд не запущен');
	});
});
