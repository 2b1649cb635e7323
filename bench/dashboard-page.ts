/**
 * The instructor's dashboard as Chromium shows it, for the dashboard figure: the built site's
 * instructor page on the bench's own server, with a MutationObserver that notes (wall clock,
 * ms) each text every learner's «Шаг» cell takes. A learner's PUT → their row showing the new
 * step on the instructor's page is then the stream's delay plus the page's own work. Only when
 * the site is built (`dist/`) and Chromium is there; otherwise `open` says why not.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { hasChromium, launchChromium } from '../lab-server/testing/chromium';

export const SITE_DIR = fileURLToPath(new URL('../dist/', import.meta.url));

/** labId → every text its step cell took, with when (performance.timeOrigin + now, ms). */
type Seen = Record<string, [number, string][]>;

// The scripts below run in Chromium (strings: the bench is compiled without the DOM's types).
const STEP_CELLS = `document.querySelectorAll('tr[data-lab-id] [data-cell="step"]')`;

/** Notes every text each step cell takes, with when, in `window.benchStepSeen`. */
const WATCH_STEPS = `(() => {
	const seen = {};
	window.benchStepSeen = seen;
	const root = document.querySelector('instructor-dashboard');
	new MutationObserver(() => {
		const at = performance.timeOrigin + performance.now();
		for (const cell of ${STEP_CELLS}) {
			const id = cell.closest('tr').dataset.labId;
			const list = (seen[id] ??= []);
			const text = cell.textContent ?? '';
			if (list.at(-1)?.[1] !== text) list.push([at, text]);
		}
	}).observe(root, { subtree: true, childList: true, characterData: true });
})()`;

/** Whether the page figure can run here; a reason when it cannot. */
export function dashboardPageSkipped(): string | null {
	if (!existsSync(path.join(SITE_DIR, 'index.html')))
		return 'the site is not built (npm run build)';
	if (!hasChromium()) return 'no Chromium';
	return null;
}

export class DashboardPage {
	readonly #browser: Browser;
	readonly #page: Page;

	private constructor(browser: Browser, page: Page) {
		this.#browser = browser;
		this.#page = page;
	}

	/** The instructor's page at `url` (the workshop's `instructorUrl`), with `learners` rows drawn. */
	static async open(url: string, learners: number): Promise<DashboardPage> {
		const browser = await launchChromium();
		try {
			// The page's CSP allows no 'unsafe-eval': the watch below is the bench's, not the site's.
			const page = await browser.newPage({
				viewport: { width: 1440, height: 900 },
				locale: 'ru-RU',
				bypassCSP: true,
			});
			await page.goto(url);
			await page.waitForFunction(`${STEP_CELLS}.length === ${learners}`, undefined, {
				timeout: 30_000,
			});
			await page.evaluate(WATCH_STEPS);
			return new DashboardPage(browser, page);
		} catch (error) {
			await browser.close();
			throw error;
		}
	}

	/**
	 * Waits until every row shows `text` in its step cell, then gives when each lab's row first
	 * did after `since` (wall clock, ms), by lab id.
	 */
	async shownAt(text: string, since: number, timeoutMs: number): Promise<Map<string, number>> {
		const wanted = JSON.stringify(text);
		await this.#page.waitForFunction(
			`[...${STEP_CELLS}].every((c) => (c.textContent ?? '').includes(${wanted}))`,
			undefined,
			{ timeout: timeoutMs },
		);
		const seen = (await this.#page.evaluate('window.benchStepSeen ?? {}')) as Seen;
		const shown = new Map<string, number>();
		for (const [labId, list] of Object.entries(seen)) {
			const first = list.find(([at, t]) => at >= since && t.includes(text));
			if (first) shown.set(labId, first[0]);
		}
		return shown;
	}

	close(): Promise<void> {
		return this.#browser.close();
	}
}

/** Now on the wall clock with sub-millisecond precision: the same clock the page's marks use. */
export function wallNow(): number {
	return performance.timeOrigin + performance.now();
}
