/**
 * The lab panel when the server is under pressure, in Debian's Chromium against the built site
 * (with its Content-Security-Policy) and a real lab server: when every lab is taken a learner
 * waits in a visible line and gets a lab by themselves as soon as one is free; a node stopped
 * over a limit says why, and «Сбросить узел» brings it back.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickStartLab, SHOTS, startE2E, terminalText, waitForText, type E2E } from './harness';

let e2e: E2E;
/** The learner's page, with a lab running once the first test is through. */
let page: Page;

beforeAll(async () => {
	e2e = await startE2E('queue', { MAX_LABS: '1' });
});
afterAll(() => e2e?.close());

describe('the waiting line', () => {
	it('shows the place in line, then starts the lab when one is free; the page obeys its CSP', async () => {
		const taken = await e2e.server.labs.create({ sessionHash: 'someone-else' });
		const context = await e2e.browser.newContext({
			viewport: { width: 1280, height: 900 },
			locale: 'ru-RU',
		});
		page = await context.newPage();
		const violations: string[] = [];
		page.on('console', (message) => {
			if (/Content Security Policy|Refused to/i.test(message.text()))
				violations.push(message.text());
		});
		const response = await page.goto(`${e2e.base}/steps/03-install/`);
		expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
		await clickStartLab(page);
		await waitForText(
			'the lab panel',
			() => page.locator('lab-panel').innerText(),
			/Все стенды заняты, вы 1-й в очереди/,
			20_000,
		);
		await page.screenshot({ path: path.join(SHOTS, 'waiting-line.png') });
		await e2e.server.labs.end(taken.lab, 'deleted');
		await waitForText(
			'the hap1 terminal',
			() => terminalText(page, 'hap1'),
			'ubuntu@hap1:~$',
			60_000,
		);
		expect(violations).toEqual([]);
	});

	it('says why a node was stopped over a limit, and «Сбросить узел» brings it back', async () => {
		const [lab] = e2e.server.labs.list();
		await e2e.server.labs.halt(lab!, 'hap2', {
			node: 'hap2',
			kind: 'disk',
			used: 2048,
			limit: 512,
			message: 'Узел hap2 остановлен: на его диске записано 2048 МБ при пределе 512 МБ.',
		});
		const alert = page.locator('lab-panel [data-slot="halted"]');
		await waitForText('the halted box', () => alert.innerText(), 'Узел hap2 остановлен', 10_000);
		await page.screenshot({ path: path.join(SHOTS, 'node-halted.png') });
		await alert.getByRole('button', { name: 'Сбросить узел hap2' }).click();
		await expect.poll(() => alert.isHidden(), { timeout: 60_000 }).toBe(true);
		expect(e2e.server.labs.get(lab!.id)!.halted.hap2).toBeUndefined();
		await page.context().close();
	});
});
