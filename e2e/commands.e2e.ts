/**
 * Buttons that do what they say, in Debian's Chromium against the built site and a real lab: a
 * button's command waits for the shell's prompt (never typed into a pager or a running command),
 * says what became of it, and the step's check reacts when the command ends; «Записать» leaves a
 * clean line in the terminal and the right file on the node.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { completeStep } from '../lab-server/src/checks/autopilot';
import { guideConfig } from '../lab-server/src/course/guide-config';
import { connectDocker, execInNode } from '../lab-server/src/docker/engine';
import type { Lab } from '../lab-server/src/labs/lab';
import { SHOTS, startE2E, startLabOnStep, terminalText, waitForText, type E2E } from './harness';

const docker = connectDocker(inject('dockerSocket'));
let e2e: E2E;
let page: Page;
let lab: Lab;

const block = (command: string) => page.locator('lab-code', { hasText: command }).first();
const statusOf = (command: string) => block(command).locator('[data-status]').innerText();
const sh = async (node: 'hap1' | 'hap2', script: string) =>
	(await execInNode(docker, lab.containers[node], ['bash', '-c', script])).stdout;

/** Opens a step; the lab and its shells carry on (the terminals resume). */
async function openStep(slug: string): Promise<void> {
	await page.goto(`${e2e.base}/steps/${slug}/`);
	await waitForText(
		'the hap1 terminal',
		() => terminalText(page, 'hap1'),
		'ubuntu@hap1:~$',
		30_000,
	);
}

beforeAll(async () => {
	e2e = await startE2E('commands');
	page = await startLabOnStep(e2e, '04-version');
	lab = e2e.server.labs.list()[0]!;
	await completeStep(docker, lab, 'install');
});
afterAll(() => e2e?.close());

describe('run buttons', () => {
	it('make the step check pass soon after the command ends, with no change of node state', async () => {
		const badge = page
			.getByRole('region', { name: 'Проверка шага' })
			.locator('[data-slot="badge"]');
		await waitForText('the version check', () => badge.innerText(), 'ожидает', 30_000);
		await block('sudo keepalived -v').getByRole('button', { name: 'Выполнить на обоих' }).click();
		await waitForText(
			'the command block',
			() => statusOf('sudo keepalived -v'),
			/hap1: выполнено · hap2: выполнено|hap2: выполнено · hap1: выполнено/,
			30_000,
		);
		const ended = Date.now();
		await waitForText('the version check', () => badge.innerText(), 'выполнено', 10_000);
		console.log(`[measure] command ended → check passed on the page: ${Date.now() - ended} ms`);
	});

	it('write a config as one clean line and the exact file', async () => {
		await openStep('05-config');
		const write = page.getByRole('button', {
			name: /^Записать в \/etc\/keepalived\/keepalived\.conf/,
		});
		await write.click();
		await waitForText(
			'the config block',
			() => block('vrrp_script chk_haproxy').locator('[data-status]').innerText(),
			/выполнено.*выполнено/,
			30_000,
		);
		// The command line, then straight back to the prompt: nothing drawn over itself. (The
		// block says «выполнено» at the command's end mark, a moment before the prompt is drawn.)
		// The terminal wraps the long line: its rows are read as one.
		const flat = await waitForText(
			'the hap1 terminal',
			async () => (await terminalText(page, 'hap1')).replace(/\n/g, ''),
			/> \/dev\/null\s*ubuntu@hap1:~\$\s*$/,
			10_000,
		);
		expect(flat).toContain('| sudo tee /etc/keepalived/keepalived.conf > /dev/null');
		expect(flat).not.toMatch(/EOF/);
		for (const node of ['hap1', 'hap2'] as const) {
			expect((await sh(node, 'cat /etc/keepalived/keepalived.conf')).trimEnd()).toBe(
				guideConfig(lab.addresses.vip).trimEnd(),
			);
		}
		await page.screenshot({ path: path.join(SHOTS, 'config-written.png') });
	});

	it('wait while a pager is open, say why, and run in order after `q`', async () => {
		await openStep('07-service');
		// The learner opens a pager in hap1 by hand.
		await page.locator('lab-terminal[node="hap1"] .xterm-helper-textarea').focus();
		await page.keyboard.type('less /etc/passwd\n');
		await waitForText('the hap1 terminal', () => terminalText(page, 'hap1'), 'root:x:0:0', 10_000);

		// enable on both, start on hap1, start on hap2: clicked with no pause.
		await block('sudo systemctl enable keepalived')
			.getByRole('button', { name: 'Выполнить на обоих' })
			.click();
		await block('sudo systemctl start keepalived')
			.getByRole('button', { name: 'Выполнить на hap1' })
			.click();
		await page
			.locator('lab-code', { hasText: 'sudo systemctl start keepalived' })
			.nth(1)
			.getByRole('button', { name: 'Выполнить на hap2' })
			.click();

		await waitForText(
			'the enable block',
			() => statusOf('sudo systemctl enable keepalived'),
			/hap1: ждёт, пока в терминале закончится текущая команда/,
			10_000,
		);
		const busy = page.locator('lab-terminal[node="hap1"] [data-part="busy"]');
		await waitForText('the hap1 terminal', () => busy.innerText(), 'hap1 занят', 5_000);
		await page.screenshot({ path: path.join(SHOTS, 'command-waits.png') });
		// Nothing went into less: it is still showing the file, and hap2 got on with its commands.
		expect(await terminalText(page, 'hap1')).not.toContain('sudo systemctl');
		await waitForText(
			'hap2',
			async () => sh('hap2', 'systemctl is-active keepalived'),
			/^active/,
			30_000,
		);

		await page.locator('lab-terminal[node="hap1"] .xterm-helper-textarea').focus();
		await page.keyboard.press('q');
		await waitForText(
			'hap1',
			async () => sh('hap1', 'systemctl is-active keepalived'),
			/^active/,
			30_000,
		);
		expect(await busy.isHidden()).toBe(true);
		const history = await sh('hap1', 'tail -n 3 ~ubuntu/.bash_history');
		expect(history).toBe(
			'less /etc/passwd\nsudo systemctl enable keepalived\nsudo systemctl start keepalived\n',
		);
		await waitForText(
			'both nodes in the lab panel',
			() => page.locator('lab-panel .lab-nodes').innerText(),
			/(MASTER[\s\S]*BACKUP|BACKUP[\s\S]*MASTER)/,
			30_000,
		);
	});
});
