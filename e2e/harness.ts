/**
 * What every browser test starts from: a real lab server (real Docker) serving the built site on
 * port 0 with a state directory of its own, and Debian's Chromium driven by playwright-core.
 * `close()` ends every lab the test created and removes the state directory.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { testConfig } from '../lab-server/testing/test-config';
import { connectDocker } from '../lab-server/src/docker/engine';
import { removeServerLabs } from '../lab-server/testing/test-labs';
import { createLabServer, type LabServer } from '../lab-server/src/server';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SHOTS = path.join(ROOT, 'e2e/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

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
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
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

/** Text currently rendered by a node's terminal (xterm's DOM renderer rows). */
export function terminalText(page: Page, node: string): Promise<string> {
	return page.locator(`lab-terminal[node="${node}"] .xterm-rows`).innerText();
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
 * Clicks «Запустить стенд» once the panel listens (`data-live`), and checks that the click took:
 * the panel leaves its idle view within 10 s (a lost click fails here, saying so, rather than
 * as a missing terminal a minute later).
 */
export async function clickStartLab(page: Page): Promise<void> {
	const panel = page.locator('lab-panel[data-live]');
	await panel.waitFor({ state: 'attached', timeout: 30_000 }).catch(async (error: unknown) => {
		// Say what the page was like: the script not run, the element not defined, or not live.
		const seen = await page
			.evaluate(() => ({
				url: location.href,
				readyState: document.readyState,
				defined: customElements.get('lab-panel') !== undefined,
				panels: [...document.querySelectorAll('lab-panel')].map((p) => ({
					live: p.hasAttribute('data-live'),
					state: p.getAttribute('data-state'),
				})),
				scripts: [...document.scripts].map((s) => s.src.split('/').pop()),
			}))
			.catch((reason: unknown) => String(reason));
		throw new Error(`the lab panel never went live: ${JSON.stringify(seen)}`, { cause: error });
	});
	await panel.getByRole('button', { name: 'Запустить стенд' }).click();
	await waitForText(
		'the lab panel after «Запустить стенд»',
		async () => `state=${await panel.getAttribute('data-state')}`,
		/state=(?!idle)/,
		10_000,
	);
}
