/**
 * «Запустить стенд» with the warm pool, in Debian's Chromium against the built site: the lab is
 * one booted before the learner came, both prompts show at once, and the pool boots another.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../lab-server/testing/test-labs';
import { livePanel, SHOTS, startE2E, type E2E } from './harness';

let e2e: E2E;

beforeAll(async () => {
	e2e = await startE2E('warm', { WARM_LABS: '1' });
});
afterAll(() => e2e?.close());

const poolFull = () =>
	waitFor(
		'a lab in the warm pool',
		async () => (e2e.server.warm.ready.size === 1 ? [...e2e.server.warm.ready.keys()] : undefined),
		90_000,
	);

describe('a lab from the warm pool', () => {
	it('is the one booted ahead, with both prompts shown at once', async () => {
		const [waiting] = await poolFull();
		const context = await e2e.browser.newContext({
			viewport: { width: 1280, height: 900 },
			locale: 'ru-RU',
		});
		const page = await context.newPage();
		await page.goto(`${e2e.base}/steps/03-install/`);
		const panel = await livePanel(page);
		const clicked = Date.now();
		await panel.getByRole('button', { name: 'Запустить стенд' }).click();
		await page.locator('lab-panel[data-state="running"]').waitFor({ timeout: 30_000 });
		const running = Date.now() - clicked;
		// Watched every frame in the page (a poll from here would add its own interval).
		await page.waitForFunction(
			() =>
				document
					.querySelector('lab-terminal[node="hap1"] .xterm-rows')
					?.textContent?.includes('ubuntu@hap1:~$'),
			undefined,
			{ polling: 'raf', timeout: 30_000 },
		);
		console.log(
			`[measure] warm pool: click → lab running on the page ${running} ms, → hap1 prompt ${Date.now() - clicked} ms`,
		);
		await page.screenshot({ path: path.join(SHOTS, 'warm-lab.png') });

		const mine = e2e.server.labs.list().find((lab) => !e2e.server.warm.has(lab.id));
		expect(mine?.id).toBe(waiting);
		expect(mine?.ownerHash).not.toBe('warm');
		// And the pool boots another for the next learner.
		const [next] = await poolFull();
		expect(next).not.toBe(waiting);
		await context.close();
	});
});
