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
import { loadConfig } from '../lab-server/src/config/config';
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
		config: loadConfig({ PORT: '0', STATE_DIR: stateDir, ...env }),
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
