/**
 * «Выполнить шаг за меня» on the VIP step, in Debian's Chromium against the built site and a real
 * lab server (real Docker): on a fresh lab it installs, configures and starts keepalived on both
 * nodes; while VRRP elects the first MASTER (≈6.6 s with the guide's config) the check box waits
 * in a neutral «ждём выборов VRRP…», never «не пройдено», then passes; both terminals show the
 * commands that were run. Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SHOTS, startE2E, startLabOnStep, terminalText, waitForText, type E2E } from './harness';

const VIP_STEP = '08-vip';

let e2e: E2E;

beforeAll(async () => {
	e2e = await startE2E('autopilot');
});
afterAll(() => e2e?.close());

/** Every `data-status` the step's check box takes from now on, with the page's time. */
async function recordStatuses(page: Page): Promise<() => Promise<[string, number][]>> {
	await page.evaluate(() => {
		const box = document.querySelector<HTMLElement>('step-check')!;
		const seen: [string, number][] = [[box.dataset.status ?? '', performance.now()]];
		(window as unknown as { seen: typeof seen }).seen = seen;
		new MutationObserver(() => seen.push([box.dataset.status ?? '', performance.now()])).observe(
			box,
			{ attributes: true, attributeFilter: ['data-status'] },
		);
	});
	return () => page.evaluate(() => (window as unknown as { seen: [string, number][] }).seen);
}

it('waits for the VRRP election in a neutral state, then passes, and shows the commands in the terminals', async () => {
	const page = await startLabOnStep(e2e, VIP_STEP);
	const check = page.getByRole('region', { name: 'Проверка шага' });
	const badge = check.locator('[data-slot="badge"]');
	await expect.poll(() => badge.innerText(), { timeout: 30_000 }).toBe('ожидает');

	const statuses = await recordStatuses(page);
	await check.getByRole('button', { name: 'Выполнить шаг за меня' }).click();
	await page
		.getByRole('dialog', { name: 'Выполнить шаг за вас?' })
		.getByRole('button', { name: 'Выполнить' })
		.click();

	await expect
		.poll(() => badge.innerText(), { timeout: 180_000, interval: 100 })
		.toBe('ждём выборов VRRP…');
	expect(await check.locator('[data-slot="message"]').innerText()).toContain('выбирают MASTER');
	await check.scrollIntoViewIfNeeded();
	await page.screenshot({ path: path.join(SHOTS, 'autopilot-waiting.png') });
	const { violations } = await new AxeBuilder({ page }).include('step-check').analyze();
	expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);

	await expect.poll(() => badge.innerText(), { timeout: 60_000, interval: 250 }).toBe('выполнено');
	const seen = await statuses();
	const waited = seen.find(([s]) => s === 'waiting');
	const passed = seen.find(([s]) => s === 'pass');
	console.log(
		`[measure] the VIP check waited for the election ${((passed![1] - waited![1]) / 1000).toFixed(1)} s; statuses: ${seen.map(([s]) => s).join(' → ')}`,
	);
	expect(seen.map(([s]) => s)).not.toContain('fail');

	// Both terminals (split view: the block went to both) show what was run, as comments.
	for (const node of ['hap1', 'hap2']) {
		const text = await waitForText(
			`the ${node} terminal`,
			() => terminalText(page, node),
			'#   sudo systemctl start keepalived',
			30_000,
		);
		// The header may wrap at the terminal's width.
		expect(text.replace(/\s+/g, ' ')).toContain(
			'# «Выполнить шаг за меня» выполнил на hap1 и hap2:',
		);
		expect(text).toContain('#   sudo apt-get install keepalived -y');
	}
	await page.screenshot({ path: path.join(SHOTS, 'autopilot-done.png') });
}, 300_000);
