/**
 * A lab that waits until tomorrow, in Debian's Chromium against the built site and a real lab
 * server: the learner types, the lab is stopped (as the reaper does after the idle timeout), the
 * page says so and keeps the terminal's text; after a reload «Продолжить» brings the same nodes
 * back, with the scrollback and a new shell. A reload in a window narrowed since shows the
 * scrollback as it was, not redrawn for the new width.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
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

describe('a reload at another width', () => {
	it('shows the scrollback as the terminal showed it, progress lines included', async () => {
		const page = await startLabOnStep(e2e, '03-install', { width: 1600, height: 900 });
		const wide = await columns(page);
		// A progress line as apt draws it: a line nearly as wide as the terminal, then a carriage
		// return and the text over its start.
		const width = wide - 4;
		await typeIn(page, `printf '%0${width}d\\rDONE\\n' 0\n`);
		await waitForText('the hap1 terminal', () => terminalText(page, 'hap1'), /^DONE0+$/m, 10_000);

		// The window narrows: the shell is told, and xterm reflows what it shows.
		await page.setViewportSize({ width: 1120, height: 900 });
		const narrow = await columns(page);
		expect(narrow, `${wide} columns, then ${narrow}`).toBeLessThan(width);
		const before = await screenLines(page);
		expect(before.join('\n')).toMatch(/^DONE0+\n0+$/m);

		await page.reload();
		await waitForText('the hap1 terminal', () => terminalText(page, 'hap1'), 'DONE', 30_000);
		// Replayed at the sizes it was written for, then reflowed: the same lines as before the
		// reload (written at the new width, the carriage return lands on the wrapped part).
		await expect.poll(() => screenLines(page), { timeout: 5_000 }).toEqual(before);
		await page.screenshot({ path: path.join(SHOTS, 'scrollback-narrower.png') });
		await page.context().close();
	});
});

async function typeIn(page: Page, text: string): Promise<void> {
	await page.locator('lab-terminal[node="hap1"] .xterm-helper-textarea').focus();
	await page.keyboard.type(text);
}

/** The terminal's width, as the shell has it (`stty size`). */
async function columns(page: Page): Promise<number> {
	const marker = `size-${Math.random().toString(36).slice(2, 8)}`;
	await typeIn(page, `echo ${marker} $(stty size)\n`);
	const text = await waitForText(
		'the hap1 terminal',
		() => terminalText(page, 'hap1'),
		new RegExp(`^${marker} \\d+ (\\d+)`, 'm'),
		10_000,
	);
	return Number(new RegExp(`^${marker} \\d+ (\\d+)`, 'm').exec(text)![1]);
}

/** The terminal's lines with text, without the trailing blanks of the DOM renderer. */
async function screenLines(page: Page): Promise<string[]> {
	const text = await terminalText(page, 'hap1');
	return text
		.split('\n')
		.map((line) => line.trimEnd())
		.filter((line) => line !== '');
}
