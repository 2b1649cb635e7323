/**
 * The course as a learner uses it, in Debian's Chromium against the built site and a real lab
 * server (real Docker): pages, steps, starting a lab, running a command from the text, moving
 * between steps with the terminal alive, accessibility. Screenshots go to e2e/screenshots/.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../lab-server/src/config';
import { connectDocker, listLabResources } from '../lab-server/src/docker';
import { createLabServer, type LabServer } from '../lab-server/src/server';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SHOTS = path.join(ROOT, 'e2e/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: LabServer;
let stateDir: string;
let browser: Browser;
let base: string;

beforeAll(async () => {
	stateDir = await mkdtemp(path.join(tmpdir(), 'klab-e2e-'));
	server = createLabServer({
		config: loadConfig({ PORT: '0', STATE_DIR: stateDir }),
		log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
		image: inject('nodeImage'),
		siteDir: path.join(ROOT, 'dist'),
		docker: connectDocker(inject('dockerSocket')),
	});
	const { port } = await server.start();
	base = `http://localhost:${port}`;
	browser = await chromium.launch({
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
});

afterAll(async () => {
	await browser?.close();
	for (const lab of server?.labs.list() ?? []) await server.labs.end(lab, 'deleted');
	await server?.stop();
	await rm(stateDir, { recursive: true, force: true });
});

async function stepSlugs(): Promise<string[]> {
	const files = await readdir(path.join(ROOT, 'content/steps'));
	return files
		.filter((f) => f.endsWith('.mdx'))
		.sort()
		.map((f) => f.replace(/\.mdx$/, ''));
}

async function newPage(): Promise<Page> {
	const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'ru-RU' });
	return context.newPage();
}

/** Text currently rendered by a node's terminal (xterm's DOM renderer rows). */
function terminalText(page: Page, node: string) {
	return page.locator(`lab-terminal[node="${node}"] .xterm-rows`).innerText();
}

describe('the course site', () => {
	it('loads the overview and reaches every step by «next»', async () => {
		const page = await newPage();
		await page.goto(base);
		expect(await page.getByRole('heading', { level: 1 }).innerText()).toMatch(/KeepAlived/i);
		const slugs = await stepSlugs();
		expect(slugs.length).toBeGreaterThanOrEqual(8);

		await page.goto(`${base}/steps/${slugs[0]}/`);
		const visited: string[] = [];
		for (let i = 0; i < slugs.length + 2; i++) {
			visited.push(new URL(page.url()).pathname);
			const next = page.getByRole('link', { name: /Далее|Следующий/ });
			if ((await next.count()) === 0) break;
			await next.first().click();
			await page.waitForURL((url) => url.pathname !== visited.at(-1));
		}
		expect(visited).toEqual(slugs.map((s) => `/steps/${s}/`));
		await page.context().close();
	});

	it('loads at most 60 KB of JavaScript (gzip) on a step page before a lab starts', async () => {
		const page = await newPage();
		let bytes = 0;
		page.on('response', async (response) => {
			if (response.request().resourceType() !== 'script') return;
			const length = Number((await response.allHeaders())['content-length'] ?? 0);
			bytes += length;
		});
		const [first] = await stepSlugs();
		await page.goto(`${base}/steps/${first}/`, { waitUntil: 'networkidle' });
		console.log(`[measure] JS before a lab starts: ${(bytes / 1024).toFixed(1)} KB (gzip)`);
		expect(bytes).toBeGreaterThan(0);
		expect(bytes).toBeLessThanOrEqual(60 * 1024);
		await page.context().close();
	});

	it('has no serious or critical accessibility violations', async () => {
		const page = await newPage();
		const slugs = await stepSlugs();
		for (const url of [base, `${base}/steps/${slugs[0]}/`, `${base}/steps/${slugs[4]}/`]) {
			await page.goto(url);
			const { violations } = await new AxeBuilder({ page }).analyze();
			const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
			expect(bad.map((v) => `${url}: ${v.id} (${v.nodes.length})`)).toEqual([]);
		}
		await page.context().close();
	});
});

describe('the lab on the page', () => {
	it('starts a lab, runs a command from the text, and keeps the terminal across steps', async () => {
		const page = await newPage();
		const sockets: string[] = [];
		page.on('websocket', (ws) => sockets.push(ws.url()));
		const slugs = await stepSlugs();
		const install = slugs.find((s) => /install|ustanov/.test(s)) ?? slugs[2]!;
		await page.goto(`${base}/steps/${install}/`);

		const clicked = Date.now();
		await page.getByRole('button', { name: /^Запустить/ }).first().click();
		const hap1 = page.getByRole('region', { name: /Терминал hap1/ });
		await hap1.waitFor({ state: 'visible', timeout: 60_000 });
		await expect
			.poll(() => terminalText(page, 'hap1'), { timeout: 30_000 })
			.toContain('ubuntu@hap1:~$');
		console.log(`[measure] click → hap1 prompt: ${Date.now() - clicked} ms`);
		await page.screenshot({ path: path.join(SHOTS, 'lab-started.png') });

		await page.getByRole('button', { name: 'Выполнить на hap1' }).first().click();
		await expect
			.poll(() => terminalText(page, 'hap1'), { timeout: 90_000, interval: 500 })
			.toMatch(/Setting up keepalived|keepalived is already the newest/);
		const before = await terminalText(page, 'hap1');
		await page.screenshot({ path: path.join(SHOTS, 'command-run.png') });

		const next = page.getByRole('link', { name: /Далее|Следующий/ }).first();
		await next.click();
		await page.waitForURL((url) => !url.pathname.includes(install));
		await expect.poll(() => terminalText(page, 'hap1')).toContain('keepalived');
		expect((await terminalText(page, 'hap1')).length).toBeGreaterThanOrEqual(before.length - 200);
		expect(sockets.filter((u) => u.includes('/terminals/hap1'))).toHaveLength(1);
		await page.screenshot({ path: path.join(SHOTS, 'next-step.png'), fullPage: false });

		const [lab] = server.labs.list();
		expect(lab).toBeDefined();
		await page.context().close();
		await server.labs.end(lab!, 'deleted');
		expect((await listLabResources(connectDocker(inject('dockerSocket')))).has(lab!.id)).toBe(false);
	});
});
