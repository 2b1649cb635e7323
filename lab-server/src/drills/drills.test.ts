/**
 * Drills without Docker: the nodes' live state set by hand (as the observers would), and a fake
 * engine that records every call, so that refusals can be shown to change nothing. The real
 * effects are tested in test/drills.docker.test.ts.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock';
import {
	cancelDrills,
	configValue,
	DrillError,
	drillState,
	seconds,
	startDrill,
	type DrillEvent,
	type DrillLab,
} from './index';
import { LAB_NODES, type KeepalivedState, type LabNode } from '../api';
import { newLab } from '../labs/lab';
import { labAddresses, parsePool } from '../labs/subnets';

interface FakeNode {
	keepalived: KeepalivedState;
	hasVip: boolean;
	paused?: boolean;
}

const addresses = labAddresses(parsePool('10.129.0.0/16'), 3);

function fakeLab(nodes: Record<LabNode, FakeNode>) {
	const calls: string[] = [];
	const lab: DrillLab = newLab({
		id: 'labunit001',
		addresses,
		tokenHash: '',
		ownerHash: '',
		clientIp: null,
		halted: {},
		workshop: null,
		createdAt: 0,
		expiresAt: 0,
		idleSince: 0,
		containers: { hap1: 'hap1', hap2: 'hap2' },
	});
	for (const node of LAB_NODES) {
		lab.nodes[node] = { ...lab.nodes[node], ...nodes[node], state: 'running' };
	}
	const container = (node: LabNode) => ({
		inspect: async () => ({
			State: { Running: true, Paused: Boolean(nodes[node].paused) },
			NetworkSettings: { Networks: { 'klab-labunit001': {} } },
		}),
		// Only the intruder is ever removed, and there is none here.
		remove: async () => Promise.reject(Object.assign(new Error('gone'), { statusCode: 404 })),
		pause: async () => void calls.push(`${node}: pause`),
		unpause: async () => void calls.push(`${node}: unpause`),
		exec: async ({ Cmd }: { Cmd: string[] }) => {
			calls.push(`${node}: ${(Cmd[2] ?? '').trim().split('\n')[0]}`);
			return {
				start: async () => {
					const stream = new PassThrough();
					setImmediate(() => stream.end(''));
					return stream;
				},
				inspect: async () => ({ ExitCode: 0 }),
			};
		},
	});
	const docker = {
		modem: {
			demuxStream: (stream: PassThrough, stdout: PassThrough) =>
				stream.on('data', (chunk: Buffer) => stdout.write(chunk)),
		},
		getContainer: (id: string) => container(id as LabNode),
		getNetwork: () => ({
			connect: async () => void calls.push('connect'),
			disconnect: async () => void calls.push('disconnect'),
		}),
	} as unknown as Docker;
	const events: DrillEvent[] = [];
	lab.events.on('drill', (event: DrillEvent) => events.push(event));
	const ctx = { docker, lab, log: pino({ level: 'silent' }), clock: new ManualClock(1_000) };
	return { ctx, calls, events, lab };
}

const healthy = (): Record<LabNode, FakeNode> => ({
	hap1: { keepalived: 'MASTER', hasVip: true },
	hap2: { keepalived: 'BACKUP', hasVip: false },
});

async function refusal(promise: Promise<unknown>): Promise<DrillError> {
	const error = await promise.then(
		() => null,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(DrillError);
	return error as DrillError;
}

describe('startDrill refuses before changing anything', () => {
	it('answers 404 for an unknown drill', async () => {
		const { ctx, calls } = fakeLab(healthy());
		const error = await refusal(startDrill(ctx, 'drop-tables'));
		expect(error).toMatchObject({ status: 404, code: 'unknown-drill' });
		expect(error.message).toMatchInlineSnapshot(
			`"Учения «drop-tables» нет. Есть: «Остановить haproxy», «Убить keepalived», «Заморозить узел», «Отключить сеть», «Заблокировать VRRP», «Чужой VRID»."`,
		);
		expect(calls).toEqual([]);
	});

	it('answers 409 while keepalived is not running on both nodes', async () => {
		const nodes = healthy();
		nodes.hap2.keepalived = 'stopped';
		const { ctx, calls, events, lab } = fakeLab(nodes);
		const error = await refusal(startDrill(ctx, 'freeze-node'));
		expect(error).toMatchObject({ status: 409, code: 'keepalived-not-running' });
		expect(error.message).toMatchInlineSnapshot(
			`"Сначала запустите keepalived на обоих узлах: sudo systemctl start keepalived (сейчас не запущен на hap2)."`,
		);
		expect(calls).toEqual([]);
		expect(events).toEqual([]);
		expect(drillState(lab)).toEqual({ active: null, busy: false });
	});

	it('answers 409 without a single VIP holder, or with a node in FAULT', async () => {
		const both = healthy();
		both.hap2 = { keepalived: 'MASTER', hasVip: true };
		const split = fakeLab(both);
		expect(await refusal(startDrill(split.ctx, 'stop-haproxy'))).toMatchObject({
			status: 409,
			code: 'no-single-vip-holder',
		});
		const fault = healthy();
		fault.hap2.keepalived = 'FAULT';
		const faulty = fakeLab(fault);
		expect(await refusal(startDrill(faulty.ctx, 'stop-haproxy'))).toMatchObject({
			status: 409,
			code: 'keepalived-fault',
		});
		expect([...split.calls, ...faulty.calls]).toEqual([]);
	});

	it('allows one drill at a time: 409 until restore', async () => {
		const { ctx, calls, events, lab } = fakeLab(healthy());
		const first = startDrill(ctx, 'stop-haproxy');
		// A second request while the first is still being validated.
		expect(await refusal(startDrill(ctx, 'freeze-node'))).toMatchObject({
			status: 409,
			code: 'drill-busy',
		});
		expect(await first).toMatchObject({ drill: 'stop-haproxy', target: 'hap1' });
		expect(calls).toEqual(['hap1: systemctl stop haproxy']);
		expect(events.map((e) => [e.drill, e.phase])).toEqual([['stop-haproxy', 'applied']]);
		expect(drillState(lab).active).toMatchObject({ drill: 'stop-haproxy', phase: 'applied' });

		const busy = await refusal(startDrill(ctx, 'block-vrrp'));
		expect(busy).toMatchObject({ status: 409, code: 'drill-active' });
		expect(busy.message).toMatchInlineSnapshot(
			`"Уже идут учения «Остановить haproxy» на hap1: сначала нажмите «Восстановить»."`,
		);

		await startDrill(ctx, 'restore');
		expect(calls).toContain('hap1: systemctl start haproxy');
		expect(drillState(lab).active).toBeNull();
		await startDrill(ctx, 'freeze-node');
		expect(calls.at(-1)).toBe('hap1: pause');
	});
});

describe('cancelDrills', () => {
	it('forgets the active drill of an ending lab without touching the nodes', async () => {
		const { ctx, calls, lab } = fakeLab(healthy());
		await startDrill(ctx, 'kill-keepalived');
		const before = calls.length;
		cancelDrills(lab);
		expect(drillState(lab)).toEqual({ active: null, busy: false });
		expect(calls).toHaveLength(before);
	});
});

describe('configValue', () => {
	it("reads the guide's virtual_router_id and advert_int, skipping comments", () => {
		const guide = readFileSync(
			new URL('../../../content/steps/files/keepalived.conf', import.meta.url),
			'utf8',
		);
		expect(configValue(guide, 'virtual_router_id')).toBe(115);
		expect(configValue(guide, 'advert_int')).toBe(2);
		expect(
			configValue('! virtual_router_id 254\n  virtual_router_id 51 # x', 'virtual_router_id'),
		).toBe(51);
		expect(configValue('vrrp_instance x {\n}', 'virtual_router_id')).toBeNull();
	});
});

describe('seconds', () => {
	it('prints seconds the Russian way', () => {
		expect(seconds(2609)).toBe('2,6 с');
		expect(seconds(6_000)).toBe('6,0 с');
	});
});
