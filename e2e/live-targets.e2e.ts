/**
 * «Выполнить на узле с VIP» and «… на другом узле» on the failover step, in Debian's Chromium
 * against the built site and a real lab (real Docker): the buttons say which node they mean, send
 * the command to that node's terminal, and follow the VIP when a failover moves it. Screenshots go
 * to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_NODES, isLabNode, otherNode, type LabNode } from '../lab-server/src/api';
import { clickStartLab, SHOTS, startE2E, terminalText } from './harness';

const FAILOVER_STEP = '10-failover';
/** Step 10's first command «на узле с VIP»: harmless, and `hostname` prints the node it ran on. */
const PROBE = 'hostname; ip -brief addr show eth0';

let browser: Browser;
let base: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
	({ browser, base, close } = await startE2E('live-targets'));
});
afterAll(() => close?.());

/** A call to the learner's lab API from the page itself: same origin, the learner's cookie. */
async function labApi(
	page: Page,
	method: 'GET' | 'POST',
	route: string,
): Promise<{ status: number; json: unknown }> {
	return page.evaluate(
		async ({ method, route }) => {
			const id = localStorage.getItem('keepalived-lab:lab-id');
			const response = await fetch(`/api/labs/${id}${route}`, {
				method,
				credentials: 'same-origin',
				headers: {
					accept: 'application/json',
					...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
				},
				body: method === 'POST' ? '{}' : null,
			});
			return { status: response.status, json: await response.json().catch(() => null) };
		},
		{ method, route },
	);
}

/** Who holds the VIP as the server sees it (null: nobody, or both). */
async function vipHolder(page: Page): Promise<LabNode | null> {
	const { json } = await labApi(page, 'GET', '');
	const holder = (json as { vipHolder?: unknown } | null)?.vipHolder;
	return isLabNode(holder) ? holder : null;
}

/** How many times a terminal shows `hostname`'s answer: a line that is the node's name alone. */
async function probeRuns(page: Page, node: LabNode): Promise<number> {
	const text = await terminalText(page, node);
	return text.split('\n').filter((line) => line.trim() === node).length;
}

/** The button names `node`, and a click runs the probe in `node`'s terminal and not the other's. */
async function expectRunsOn(page: Page, button: Locator, node: LabNode): Promise<void> {
	await expect.poll(() => button.innerText(), { timeout: 15_000 }).toContain(`сейчас ${node}`);
	const other = otherNode(node);
	const before = { here: await probeRuns(page, node), there: await probeRuns(page, other) };
	await button.click();
	await expect
		.poll(() => probeRuns(page, node), { timeout: 15_000, interval: 250 })
		.toBe(before.here + 1);
	expect(await probeRuns(page, other)).toBe(before.there);
}

describe('commands that follow the VIP', () => {
	it('«на узле с VIP» runs on the holder, and on the new holder after a failover', async () => {
		const context = await browser.newContext({
			viewport: { width: 1440, height: 900 },
			locale: 'ru-RU',
		});
		const page = await context.newPage();
		await page.goto(`${base}/steps/${FAILOVER_STEP}/`);
		await clickStartLab(page);
		await page.getByRole('region', { name: /Терминал hap1/ }).waitFor({ timeout: 90_000 });
		// Both terminals on screen, so each one renders what it receives.
		await page.getByRole('button', { name: 'Оба терминала' }).click();
		for (const node of LAB_NODES) {
			await expect
				.poll(() => terminalText(page, node), { timeout: 30_000 })
				.toContain(`ubuntu@${node}:~$`);
		}

		const probe = page.locator('lab-code').filter({ hasText: PROBE });
		const onVip = probe.getByRole('button', { name: /^Выполнить на узле с VIP/ });
		// No keepalived yet, so no VIP: the button waits and the block says why.
		await expect.poll(() => onVip.isDisabled(), { timeout: 15_000 }).toBe(true);
		expect(await probe.locator('[data-no-vip]').isVisible()).toBe(true);

		// keepalived installed, configured and started on both nodes («Выполнить шаг за меня»).
		expect((await labApi(page, 'POST', '/checks/service/complete')).status).toBe(200);
		// advert_int 2: the first MASTER comes ≈7 s after keepalived starts.
		await expect
			.poll(() => vipHolder(page), { timeout: 60_000, interval: 500 })
			.toMatch(/^hap[12]$/);
		const first = (await vipHolder(page))!;
		await expectRunsOn(page, onVip, first);
		expect(await probe.locator('[data-no-vip]').isVisible()).toBe(false);
		await probe.scrollIntoViewIfNeeded();
		await page.screenshot({ path: path.join(SHOTS, 'run-on-vip-before.png') });

		// A failover: haproxy stops on the holder, chk_haproxy fails, the VIP moves to the other.
		expect((await labApi(page, 'POST', '/drills/stop-haproxy')).status).toBe(202);
		const second = otherNode(first);
		await expect.poll(() => vipHolder(page), { timeout: 30_000, interval: 250 }).toBe(second);
		await expectRunsOn(page, onVip, second);
		// «на другом узле» now means the node that lost the VIP: where haproxy is started again.
		const startHaproxy = page
			.locator('lab-code')
			.filter({ hasText: 'sudo systemctl start haproxy' })
			.getByRole('button', { name: /^Выполнить на другом узле/ });
		await expect.poll(() => startHaproxy.innerText()).toContain(`сейчас ${first}`);
		await page.screenshot({ path: path.join(SHOTS, 'run-on-vip-after.png') });

		expect((await labApi(page, 'POST', '/drills/restore')).status).toBe(202);
		await context.close();
	}, 420_000);
});
