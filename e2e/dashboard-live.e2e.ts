/**
 * The live dashboard in Debian's Chromium against the built site and a real lab server (real
 * Docker): opened with the workshop's key, it follows one event stream and never polls. It shows
 * the pool filling; two learners join (the second while the pool refills: the join page waits
 * out the 503 by itself), a third finds the workshop full (409); a learner opening another step
 * changes their row live; sorting, a reset, «продлить все» and a dropped connection (a visible
 * «нет связи» line, then back by itself); the end of the workshop reaches the dashboard and both
 * learners' pages. axe clean in each state; screenshots in e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedWorkshop } from '../lab-server/src/api';
import type { LabServer } from '../lab-server/src/server';
import { SHOTS, seriousViolations, startE2E, waitForText } from './harness';

const SECRET = 'e2e-instructor-secret-0123456789';

let browser: Browser;
let base: string;
let server: LabServer;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ browser, base, server, close } = await startE2E('dashboard-live', {
		INSTRUCTOR_SECRET: SECRET,
	}));
});
afterAll(() => close?.());

function newContext(): Promise<BrowserContext> {
	return browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'ru-RU' });
}

async function clean(page: Page, shot: string): Promise<void> {
	expect(await seriousViolations(page)).toEqual([]);
	await page.screenshot({ path: path.join(SHOTS, `${shot}.png`), fullPage: true });
}

/** The learners' names in the dashboard's table, top to bottom. */
function rowNames(dashboard: Page): Promise<string[]> {
	return dashboard.locator('tbody tr [data-cell="name"]').allInnerTexts();
}

describe('the live dashboard', () => {
	let created: CreatedWorkshop;
	let instructor: BrowserContext;
	let dashboard: Page;
	/** GET /api/workshops/:id the dashboard page sent (it should send none: no polling). */
	const polls: string[] = [];
	let streams = 0;
	const learners: Page[] = [];

	async function join(name: string): Promise<Page> {
		const context = await newContext();
		const page = await context.newPage();
		await page.goto(`${base}/workshop/?code=${created.code}`);
		await page.getByLabel('Ваше имя').fill(name);
		await page.getByRole('button', { name: 'Присоединиться' }).click();
		return page;
	}

	it('opens with the key, on one stream, and shows the pool filling', async () => {
		const res = await fetch(`${base}/api/workshops`, {
			method: 'POST',
			headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
			body: JSON.stringify({ title: 'Живая панель', pool: 1, seats: 2 }),
		});
		expect(res.status).toBe(201);
		created = (await res.json()) as CreatedWorkshop;

		instructor = await newContext();
		dashboard = await instructor.newPage();
		dashboard.on('request', (request) => {
			const { pathname } = new URL(request.url());
			if (request.method() === 'GET' && pathname === `/api/workshops/${created.id}`) {
				polls.push(pathname);
			}
			if (pathname === `/api/workshops/${created.id}/events`) streams++;
		});
		await dashboard.goto(`${base}${created.instructorUrl}`);
		await waitForText(
			'the pool line',
			() => dashboard.locator('[data-slot="pool"]').innerText(),
			'Готовых стендов: 1, запускается: 0',
			90_000,
		);
		expect(new URL(dashboard.url()).hash).toBe('');
		expect(streams).toBe(1);
		await clean(dashboard, 'dashboard-live-empty');
	});

	it('shows learners as they join: the second waits out the refill (503), a third is refused (409)', async () => {
		const anna = await join('Анна');
		await anna.waitForURL(/\/steps\//, { timeout: 60_000 });
		learners.push(anna);
		// The one seat left has its lab booting right now: 503, and the page tries again itself.
		const boris = await join('Борис');
		await waitForText(
			'the join status',
			() => boris.getByRole('status').first().innerText(),
			'Свободные стенды ещё готовятся',
			10_000,
		);
		await clean(boris, 'dashboard-live-join-refilling');
		await boris.waitForURL(/\/steps\//, { timeout: 90_000 });
		learners.push(boris);

		const late = await join('Вера');
		await waitForText(
			'the join status',
			() => late.getByRole('status').first().innerText(),
			'Мест больше нет',
			10_000,
		);
		await clean(late, 'dashboard-live-join-full');
		await late.context().close();

		await dashboard.getByRole('row', { name: /Борис/ }).waitFor({ timeout: 10_000 });
		expect(await rowNames(dashboard)).toEqual(['Анна', 'Борис']);
		expect(await dashboard.locator('[data-slot="seats"]').innerText()).toBe('Участников: 2 из 2');
	});

	it('changes a row live when its learner opens another step, with no poll', async () => {
		const step = dashboard.getByRole('row', { name: /Анна/ }).locator('[data-cell="step"]');
		await waitForText('Анна’s step', () => step.innerText(), /^1\./, 10_000);
		const anna = learners[0]!;
		const t0 = Date.now();
		await anna.goto(`${base}/steps/02-lab-nodes/`);
		await waitForText('Анна’s step', () => step.innerText(), /^2\./, 10_000);
		console.log(
			`[measure] step page opened → dashboard row: ${Date.now() - t0} ms (page load included)`,
		);
		expect(polls).toEqual([]);
		expect(streams).toBe(1);
		await clean(dashboard, 'dashboard-live-rows');
	});

	it('sorts the learners by name and by step', async () => {
		const header = (name: string) =>
			dashboard.getByRole('columnheader', { name }).getByRole('button');
		await header('Имя').click();
		expect(await rowNames(dashboard)).toEqual(['Борис', 'Анна']);
		expect(
			await dashboard.getByRole('columnheader', { name: 'Имя' }).getAttribute('aria-sort'),
		).toBe('descending');
		await header('Шаг').click();
		expect(await rowNames(dashboard)).toEqual(['Борис', 'Анна']);
		await header('Шаг').click();
		expect(await rowNames(dashboard)).toEqual(['Анна', 'Борис']);
		expect(
			await dashboard.getByRole('columnheader', { name: 'Шаг' }).getAttribute('aria-sort'),
		).toBe('descending');
	});

	it('resets a learner’s lab and extends every lab from the dashboard', async () => {
		await dashboard.getByRole('button', { name: 'Сбросить стенд: Борис' }).click();
		await dashboard
			.getByRole('dialog', { name: 'Сбросить стенд участника?' })
			.getByRole('button', { name: 'Сбросить' })
			.click();
		const said = () => dashboard.locator('[data-slot="action-message"]').innerText();
		await waitForText('the reset', said, 'Стенд участника «Борис» сброшен', 60_000);
		await waitForText(
			'the learner’s notice',
			() => learners[1]!.locator('lab-panel [data-slot="reset-notice"]').innerText(),
			'Преподаватель сбросил ваш стенд',
			30_000,
		);
		await dashboard.getByRole('button', { name: 'Продлить все стенды' }).click();
		await waitForText('the extension', said, 'Все стенды продлены', 30_000);
		expect(polls).toEqual([]);
	});

	// Last of the live ones: a stream refused while offline is asked about with one GET.
	it('says so while the stream is down, and comes back by itself', async () => {
		const line = () => dashboard.locator('[data-slot="updated"]').innerText();
		// The network goes, and the stream with it (the server drops its HTTP connections: the
		// learners' pages reconnect by themselves too).
		await instructor.setOffline(true);
		server.http.closeAllConnections();
		await waitForText('the offline line', line, 'Нет связи, переподключаемся…', 15_000);
		await clean(dashboard, 'dashboard-live-offline');
		await instructor.setOffline(false);
		await waitForText('the live line', line, 'Обновлено в', 30_000);
		// Back on a stream, and still following: a step change arrives.
		const step = dashboard.getByRole('row', { name: /Борис/ }).locator('[data-cell="step"]');
		await learners[1]!.goto(`${base}/steps/03-install/`);
		await waitForText('Борис’s step', () => step.innerText(), /^3\./, 15_000);
	});

	it('ends the workshop: the dashboard and both learners’ pages say so', async () => {
		await dashboard.getByRole('button', { name: 'Завершить занятие' }).click();
		await dashboard
			.getByRole('dialog', { name: 'Завершить занятие?' })
			.getByRole('button', { name: 'Завершить' })
			.click();
		await dashboard.locator('[data-slot="ended"]').waitFor({ state: 'visible', timeout: 60_000 });
		await clean(dashboard, 'dashboard-live-ended');
		for (const page of learners) {
			await waitForText(
				'the learner’s page',
				() => page.locator('lab-panel').innerText(),
				'Занятие завершено преподавателем',
				60_000,
			);
		}
		await clean(learners[0]!, 'dashboard-live-learner-ended');
		await instructor.close();
		for (const page of learners) await page.context().close();
	});
});
