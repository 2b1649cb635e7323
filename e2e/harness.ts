/**
 * What every browser test starts from: a real lab server (real Docker) serving the built site on
 * port 0 with a state directory of its own, and Debian's Chromium driven by playwright-core.
 * `close()` ends every lab the test created and removes the state directory.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import pino from 'pino';
import type { Browser, Locator, Page } from 'playwright-core';
import { inject } from 'vitest';
import { testConfig } from '../lab-server/testing/test-config';
import { connectDocker } from '../lab-server/src/docker/engine';
import { launchChromium } from '../lab-server/testing/chromium';
import { removeServerLabs } from '../lab-server/testing/test-labs';
import { createLabServer, type LabServer } from '../lab-server/src/server';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SHOTS = path.join(ROOT, 'e2e/screenshots');

export interface E2E {
	server: LabServer;
	browser: Browser;
	base: string;
	close(): Promise<void>;
}

/**
 * `env` adds to (or overrides) the server's environment, as `loadConfig` reads it: e.g.
 * `{ INSTRUCTOR_SECRET: '…' }` for the workshop calls, which are refused while it is unset.
 */
export async function startE2E(name: string, env: Record<string, string> = {}): Promise<E2E> {
	const stateDir = await mkdtemp(path.join(tmpdir(), `klab-e2e-${name}-`));
	const docker = connectDocker(inject('dockerSocket'));
	const server = createLabServer({
		config: testConfig({ STATE_DIR: stateDir, ...env }),
		log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
		image: inject('nodeImage'),
		siteDir: path.join(ROOT, 'dist'),
		docker,
	});
	const { port } = await server.start();
	const browser = await launchChromium();
	await mkdir(SHOTS, { recursive: true });
	return {
		server,
		browser,
		base: `http://localhost:${port}`,
		async close() {
			await browser.close();
			await server.stop();
			// After the stop: a workshop's pool lab may still have been booting before it.
			await removeServerLabs(docker, stateDir);
			await rm(stateDir, { recursive: true, force: true });
		},
	};
}

/** axe's serious and critical violations on the page as it is now, one line each. */
export async function seriousViolations(page: Page): Promise<string[]> {
	const { violations } = await new AxeBuilder({ page }).analyze();
	return violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${page.url()}: ${v.id} (${v.nodes.length})`);
}

/** Text currently rendered by a node's terminal (xterm's DOM renderer rows). */
export function terminalText(page: Page, node: string): Promise<string> {
	return page.locator(`lab-terminal[node="${node}"] .xterm-rows`).innerText();
}

/** Whether the whole element is within the page's viewport (top to bottom) right now. */
export function inViewport(locator: Locator): Promise<boolean> {
	return locator.evaluate((el) => {
		const box = el.getBoundingClientRect();
		return box.top >= 0 && box.bottom <= window.innerHeight;
	});
}

/**
 * Waits until `read()` gives text matching `expected`, and returns it; on timeout fails with the
 * text it saw last, so a failure says what the page showed instead.
 */
export async function waitForText(
	what: string,
	read: () => Promise<string>,
	expected: RegExp | string,
	timeoutMs: number,
): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	let last = '';
	for (;;) {
		last = await read().catch((error: unknown) => `(unreadable: ${String(error)})`);
		if (typeof expected === 'string' ? last.includes(expected) : expected.test(last)) return last;
		if (Date.now() > deadline) {
			throw new Error(
				`${what}: no ${String(expected)} within ${timeoutMs} ms; last seen:\n${last.slice(-2000)}`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

/**
 * The page's lab panel once it listens (`data-live`). Rarely (a few runs in a hundred, not
 * reproduced by hand) a fresh page's scripts have not run 20 s after its load; the helper then
 * prints what the page was like — which scripts never finished loading — and reloads it once,
 * as a learner would, before it fails.
 */
export async function livePanel(page: Page): Promise<Locator> {
	const panel = page.locator('lab-panel[data-live]');
	const live = () => panel.waitFor({ state: 'attached', timeout: 20_000 });
	try {
		await live();
	} catch {
		console.log(`[flake] the lab panel was not live 20 s after load: ${await pageState(page)}`);
		await page.reload();
		await live().catch(async (error: unknown) => {
			throw new Error(`the lab panel never went live: ${await pageState(page)}`, {
				cause: error,
			});
		});
	}
	return panel;
}

/** What a page is like, for a failure message: scripts, which of them loaded, the panels. */
function pageState(page: Page): Promise<string> {
	return page
		.evaluate(() => {
			const loaded = new Set(performance.getEntriesByType('resource').map((e) => e.name));
			return JSON.stringify({
				url: location.href,
				readyState: document.readyState,
				defined: customElements.get('lab-panel') !== undefined,
				panels: [...document.querySelectorAll('lab-panel')].map((p) => p.outerHTML.slice(0, 120)),
				scriptsNotLoaded: [...document.scripts]
					.filter((s) => s.src && !loaded.has(s.src))
					.map((s) => s.src),
				resources: performance
					.getEntriesByType('resource')
					.map((e) => `${e.name.split('/').pop()} ${Math.round(e.duration)}ms`),
			});
		})
		.catch((reason: unknown) => `(unreadable: ${String(reason)})`);
}

/**
 * Clicks «Запустить стенд» once the panel listens (`data-live`), and checks that the click took:
 * the panel leaves its idle view within 10 s (a lost click fails here, saying so, rather than
 * as a missing terminal a minute later).
 */
export async function clickStartLab(page: Page): Promise<void> {
	const panel = await livePanel(page);
	await panel.getByRole('button', { name: 'Запустить стенд' }).click();
	await waitForText(
		'the lab panel after «Запустить стенд»',
		async () => `state=${await panel.getAttribute('data-state')}`,
		/state=(?!idle)/,
		10_000,
	);
}

/**
 * A learner's page (1280×900 unless `viewport` says, Russian) on the step `slug`, its lab started
 * and hap1's prompt shown.
 */
export async function startLabOnStep(
	e2e: E2E,
	slug: string,
	viewport = { width: 1280, height: 900 },
): Promise<Page> {
	const context = await e2e.browser.newContext({
		viewport,
		locale: 'ru-RU',
	});
	const page = await context.newPage();
	await page.goto(`${e2e.base}/steps/${slug}/`);
	await clickStartLab(page);
	await waitForText(
		'the hap1 terminal',
		() => terminalText(page, 'hap1'),
		'ubuntu@hap1:~$',
		60_000,
	);
	return page;
}
