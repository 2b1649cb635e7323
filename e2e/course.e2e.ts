/**
 * The course as a learner uses it, in Debian's Chromium against the built site and a real lab
 * server (real Docker): pages, steps, starting a lab, running a command from the text, moving
 * between steps with the terminal alive, accessibility. Screenshots go to e2e/screenshots/.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDocker } from '../lab-server/src/docker/engine';
import { listLabResources } from '../lab-server/src/docker/lab-network';
import type { LabServer } from '../lab-server/src/server';
import { clickStartLab, ROOT, SHOTS, startE2E, terminalText } from './harness';

let server: LabServer;
let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ server, browser, base, close } = await startE2E('course'));
});
afterAll(() => close?.());

async function stepSlugs(): Promise<string[]> {
	const files = await readdir(path.join(ROOT, 'content/steps'));
	return files
		.filter((f) => f.endsWith('.mdx'))
		.sort()
		.map((f) => f.replace(/\.mdx$/, ''));
}

async function newPage(): Promise<Page> {
	const context = await browser.newContext({
		viewport: { width: 1440, height: 900 },
		locale: 'ru-RU',
	});
	return context.newPage();
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
		await clickStartLab(page);
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
		expect((await listLabResources(connectDocker(inject('dockerSocket')))).has(lab!.id)).toBe(
			false,
		);
	});
});
