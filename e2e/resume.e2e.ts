/**
 * A lab that waits until tomorrow, in Debian's Chromium against the built site and a real lab
 * server: the learner types, the lab is stopped (as the reaper does after the idle timeout), the
 * page says so and keeps the terminal's text; after a reload «Продолжить» brings the same nodes
 * back, with the scrollback and a new shell.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOTS, startE2E, startLabOnStep, terminalText, waitForText, type E2E } from './harness';

let e2e: E2E;

beforeAll(async () => {
	e2e = await startE2E('resume');
});
afterAll(() => e2e?.close());

describe('a stopped lab', () => {
	it('is shown as stopped, kept, and resumed by «Продолжить» with its scrollback', async () => {
		const page = await startLabOnStep(e2e, '03-install');
		const terminal = page.locator('lab-terminal[node="hap1"] .xterm-helper-textarea');
		await terminal.focus();
		await page.keyboard.type('echo before-$((6*7))\n');
		await waitForText('the hap1 terminal', () => terminalText(page, 'hap1'), 'before-42', 10_000);

		const [lab] = e2e.server.labs.list();
		await e2e.server.labs.stop(lab!, 'idle');
		const panel = page.locator('lab-panel');
		await waitForText(
			'the lab panel',
			() => panel.innerText(),
			'Стенд остановлен: вас давно не было',
			10_000,
		);
		expect(await panel.innerText()).toMatch(/стенд хранится до \d+ \S+ \d{4}/);
		expect(await terminalText(page, 'hap1')).toContain('before-42');
		await page.screenshot({ path: path.join(SHOTS, 'lab-stopped.png') });

		// The next day: a reload finds the stopped lab, «Продолжить» starts it again.
		await page.reload();
		await page.locator('lab-panel[data-state="stopped"]').waitFor({ timeout: 20_000 });
		const started = Date.now();
		await page.getByRole('button', { name: 'Продолжить' }).click();
		const text = await waitForText(
			'the hap1 terminal',
			() => terminalText(page, 'hap1'),
			/before-42[\s\S]*прежняя оболочка завершилась[\s\S]*ubuntu@hap1:~\$/,
			60_000,
		);
		console.log(`[measure] «Продолжить» → hap1 prompt: ${Date.now() - started} ms`);
		expect(text).toContain('before-42');
		expect(e2e.server.labs.get(lab!.id)?.status).toBe('running');
		await page.screenshot({ path: path.join(SHOTS, 'lab-resumed.png') });
		await page.context().close();
	});
});
