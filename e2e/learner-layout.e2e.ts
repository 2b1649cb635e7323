/**
 * The lab where a learner's eyes and fingers are, in Debian's Chromium against the built site and
 * a real lab. On a phone (touch, 390×844) the running lab docks at the bottom of the screen, next
 * to the step's run buttons, and its extra-keys bar completes with Tab and interrupts with Ctrl
 * then «c» while the phone's keyboard keeps the focus in the terminal. On a wide screen the line
 * between the text and the lab moves by drag and by keys, is remembered across a reload, and the
 * shell's columns follow the terminal's width. Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	clickStartLab,
	inViewport,
	seriousViolations,
	SHOTS,
	startE2E,
	terminalText,
	waitForText,
} from './harness';

const STEP = '03-install';

let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ browser, base, close } = await startE2E('learner-layout'));
});
afterAll(() => close?.());

async function startLab(page: Page): Promise<void> {
	await page.goto(`${base}/steps/${STEP}/`);
	await clickStartLab(page);
	await waitForText('the hap1 prompt', () => terminalText(page, 'hap1'), 'ubuntu@hap1:~$', 90_000);
}

/** Types into the focused terminal and waits for `expected` in hap1's screen. */
async function typeAndSee(page: Page, text: string, expected: RegExp | string): Promise<string> {
	await page.keyboard.type(text);
	return waitForText(`hap1 after «${text}»`, () => terminalText(page, 'hap1'), expected, 15_000);
}

describe('on a phone', () => {
	let page: Page;

	beforeAll(async () => {
		const context = await browser.newContext({
			viewport: { width: 390, height: 844 },
			isMobile: true,
			hasTouch: true,
			locale: 'ru-RU',
		});
		page = await context.newPage();
		await startLab(page);
	});

	afterAll(() => page?.context().close());

	it('docks the running lab beside the step’s run buttons, and folds it away', async () => {
		const run = page.getByRole('button', { name: /^Выполнить на/ }).first();
		await run.scrollIntoViewIfNeeded();
		const terminal = page.locator('lab-terminal[node="hap1"] .xterm-screen');
		expect(await inViewport(run)).toBe(true);
		expect(await inViewport(terminal)).toBe(true);
		await page.screenshot({ path: path.join(SHOTS, 'phone-docked.png') });

		// One button, its name saying what it will do.
		const fold = page.locator('lab-panel [data-action="dock"]');
		expect(await fold.innerText()).toBe('Свернуть');
		await fold.tap();
		expect(await fold.getAttribute('aria-expanded')).toBe('false');
		expect(await terminal.isVisible()).toBe(false);
		await page.screenshot({ path: path.join(SHOTS, 'phone-folded.png') });
		await page.getByRole('button', { name: 'Развернуть' }).tap();
		expect(await fold.getAttribute('aria-expanded')).toBe('true');
		expect(await terminal.isVisible()).toBe(true);
		expect(await seriousViolations(page)).toEqual([]);
	});

	it('types Tab and Ctrl+C from the extra-keys bar, the terminal keeping the focus', async () => {
		const keys = page.getByRole('group', { name: 'Дополнительные клавиши hap1' });
		expect(await keys.isVisible()).toBe(true);
		// All nine keys fit the phone's width: none hides past the edge.
		expect(await keys.evaluate((bar) => bar.scrollWidth <= bar.clientWidth)).toBe(true);
		await page.locator('lab-terminal[node="hap1"] .xterm-screen').tap();
		const focusedInTerminal = () =>
			page.evaluate(() => document.activeElement?.closest('lab-terminal')?.getAttribute('node'));
		await expect.poll(focusedInTerminal).toBe('hap1');

		// Tab completes a command, as the Tab key would.
		await page.keyboard.type('ech');
		await keys.getByRole('button', { name: 'Tab' }).tap();
		await waitForText('completion', () => terminalText(page, 'hap1'), /\$ echo\s*$/m, 15_000);
		expect(await focusedInTerminal()).toBe('hap1');
		await typeAndSee(page, 'tab-$((6*7))\n', 'tab-42');

		// Ctrl is held for the next letter typed: Ctrl then c interrupts a running command.
		await typeAndSee(page, 'sleep 600\n', 'sleep 600');
		const ctrl = keys.getByRole('button', { name: 'Ctrl для следующей буквы' });
		await ctrl.tap();
		expect(await ctrl.getAttribute('aria-pressed')).toBe('true');
		await page.keyboard.type('c');
		expect(await ctrl.getAttribute('aria-pressed')).toBe('false');
		await typeAndSee(page, 'echo after-$((6*7))\n', 'after-42');
		expect(await terminalText(page, 'hap1')).toContain('^C');
		expect(await focusedInTerminal()).toBe('hap1');
		await page.screenshot({ path: path.join(SHOTS, 'phone-extra-keys.png') });
		expect(await seriousViolations(page)).toEqual([]);
	});
});

describe('on a wide screen', () => {
	let page: Page;
	let separator: Locator;
	let asks = 0;

	/** The shell's own idea of its width, asked anew each time. */
	async function shellCols(): Promise<number> {
		asks += 1;
		await page.locator('lab-terminal[node="hap1"] .xterm-screen').click();
		const text = await typeAndSee(
			page,
			`echo w${asks}=$(tput cols)\n`,
			new RegExp(`w${asks}=\\d+`),
		);
		return Number(new RegExp(`w${asks}=(\\d+)`).exec(text)?.[1]);
	}
	const value = async () => Number(await separator.getAttribute('aria-valuenow'));
	const panelWidth = () =>
		page.locator('.layout__lab').evaluate((el) => el.getBoundingClientRect().width);

	beforeAll(async () => {
		const context = await browser.newContext({
			viewport: { width: 1600, height: 1000 },
			locale: 'ru-RU',
		});
		page = await context.newPage();
		await startLab(page);
		separator = page.getByRole('separator', { name: 'Граница между текстом и стендом' });
	});

	afterAll(() => page?.context().close());

	it('drags the line between text and lab; the terminal gets the columns', async () => {
		expect(await separator.getAttribute('aria-orientation')).toBe('vertical');
		const before = { value: await value(), width: await panelWidth(), cols: await shellCols() };
		const box = (await separator.boundingBox())!;
		const y = box.y + box.height / 2;
		await page.mouse.move(box.x + box.width / 2, y);
		await page.mouse.down();
		await page.mouse.move(box.x + box.width / 2 - 240, y, { steps: 6 });
		await page.mouse.up();

		expect(await panelWidth()).toBeCloseTo(before.width + 240, -1);
		expect(await value()).toBe(before.value - 15);
		await expect.poll(shellCols, { timeout: 15_000 }).toBeGreaterThan(before.cols + 20);
		await page.screenshot({ path: path.join(SHOTS, 'wide-split-dragged.png') });
	});

	it('moves by keys, to either end, and keeps the line after a reload', async () => {
		await separator.focus();
		const start = await value();
		const width = await panelWidth();
		await page.keyboard.press('ArrowRight');
		await page.keyboard.press('ArrowRight');
		expect(await value()).toBe(start + 4);
		expect(await panelWidth()).toBeLessThan(width - 50);

		await page.keyboard.press('End');
		const max = Number(await separator.getAttribute('aria-valuemax'));
		expect(await value()).toBe(max);
		const narrowest = await panelWidth();
		expect(narrowest).toBeCloseTo(22 * 16, -1);
		const cols = await shellCols();
		await separator.focus();
		await page.keyboard.press('Home');
		expect(await value()).toBe(Number(await separator.getAttribute('aria-valuemin')));
		await expect.poll(shellCols, { timeout: 15_000 }).toBeGreaterThan(cols + 20);
		const widest = await panelWidth();
		expect(await seriousViolations(page)).toEqual([]);
		await page.screenshot({ path: path.join(SHOTS, 'wide-split-widest.png') });

		await page.reload();
		await separator.waitFor();
		expect(await panelWidth()).toBeCloseTo(widest, 0);
		// Every step page, and presenter mode keeps its own layout.
		await page.getByRole('link', { name: 'Далее' }).first().click();
		await page.waitForURL((url) => !url.pathname.includes(STEP));
		expect(await panelWidth()).toBeCloseTo(widest, 0);
	});
});
