/**
 * Failure drills and the downtime meter on real Docker: a lab whose two nodes run the guide's
 * keepalived.conf, broken on purpose one drill at a time, with the meter's client asking the VIP
 * every 100 ms throughout.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDocker } from '../src/docker/engine';
import { containerName, LABELS } from '../src/docker/labels';
import {
	DrillError,
	drillState,
	startDrill,
	type DrillEvent,
	type DrillLab,
	type DrillName,
} from '../src/drills/index';
import { startDowntimeMeter, type DowntimeMeter } from '../src/drills/downtime-meter';
import type { Outage } from '../src/api';
import { LAB_NODES, type LabNode } from '../src/api';
import { watchLab, type LabWatch } from '../src/labs/live-state';
import { systemClock } from '../src/lib/clock';
import type { TestLab } from '../testing/test-labs';
import { installGuideKeepalived, provisionTestLab, sh, waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
/** The meter's own log (every probe line, traced), kept to describe a failed outage count. */
const meterLog: { time: number; msg: string; line?: string }[] = [];
const meterLogger = pino(
	{ level: 'trace' },
	{ write: (entry: string) => void meterLog.push(JSON.parse(entry)) },
);

describe('failure drills on a pair running the guide’s config', () => {
	let testLab: TestLab | undefined;
	let watch: LabWatch | undefined;
	let lab: DrillLab;
	let meter: DowntimeMeter | undefined;
	const drillEvents: DrillEvent[] = [];
	const outages: Outage[] = [];
	const ctx = () => ({ docker, lab, log });

	/** Nodes with the VIP on eth0, asked directly (not through the drills module). */
	async function holders(): Promise<LabNode[]> {
		const found: LabNode[] = [];
		for (const node of LAB_NODES) {
			const { stdout } = await sh(docker, lab.containers[node], 'ip -4 -o addr show');
			if (stdout.includes(` ${lab.addresses.vip}/`)) found.push(node);
		}
		return found;
	}

	/** The last VRRP state keepalived logged since its unit started. */
	async function vrrpState(node: LabNode): Promise<string> {
		const { stdout } = await sh(
			docker,
			lab.containers[node],
			'journalctl -u keepalived -o cat _SYSTEMD_INVOCATION_ID=$(systemctl show -P InvocationID keepalived) | grep -oE "Entering [A-Z]+ STATE" | tail -1',
		);
		return stdout.trim().split(' ')[1] ?? '';
	}

	function nextDrillEvent(
		drill: DrillName,
		phase: DrillEvent['phase'],
		after: number,
		timeoutMs = 30_000,
	): Promise<DrillEvent> {
		return waitFor(
			`a "${phase}" event of ${drill}`,
			async () =>
				drillEvents.slice(after).find((event) => event.drill === drill && event.phase === phase),
			timeoutMs,
			100,
		);
	}

	/** `restore`, then waits until one node holds the VIP and the meter is answered again. */
	async function restore(): Promise<DrillEvent> {
		const mark = drillEvents.length;
		await startDrill(ctx(), 'restore');
		const restored = await nextDrillEvent('restore', 'restored', mark);
		expect(restored.ok, restored.detail).toBe(true);
		expect(await holders()).toHaveLength(1);
		await steady();
		return restored;
	}

	/** Runs a drill and returns its events: `applied` and `outcome`, in order. */
	async function drill(name: DrillName, outcomeTimeoutMs = 30_000) {
		const mark = drillEvents.length;
		const started = await startDrill(ctx(), name);
		const outcome = await nextDrillEvent(name, 'outcome', mark, outcomeTimeoutMs);
		const mine = drillEvents.slice(mark).filter((event) => event.drill === name);
		if (!outcome.ok) {
			// Say what the nodes themselves said, so that a failure can be understood.
			for (const node of LAB_NODES) {
				const { stdout } = await sh(
					docker,
					lab.containers[node],
					'ip -4 -o addr show; journalctl -u keepalived -o short-precise -n 30 --no-pager',
				).catch((error) => ({ stdout: String(error) }));
				console.log(`[${name}] ${node}:\n${stdout}`);
			}
		}
		expect(mine.map((event) => event.phase)).toEqual(['applied', 'outcome']);
		expect(outcome.target).toBe(started.target);
		return { started, outcome };
	}

	/**
	 * Waits until the VIP has answered every probe for a second: the moment from which a drill's
	 * outage is the only one the meter can see (an ARP flap after a restore, or a probe that a busy
	 * host delayed, is over by then).
	 */
	async function steady(): Promise<void> {
		await waitFor(
			'the meter to see the VIP answer every probe for a second',
			async () => {
				const up = meter?.upSince();
				return up != null && up <= Date.now() - 1_000 ? true : undefined;
			},
			30_000,
			100,
		);
	}

	/**
	 * Outages that started after `since`, once the VIP answers again and the meter has ended the
	 * outage under way: it reports an outage when it ends, and ends it on the third answered probe
	 * in a row, which a busy host can delay.
	 */
	async function outagesSince(since: number): Promise<Outage[]> {
		const now = Date.now();
		await waitFor(
			'the meter to end the outage, with a probe sent from now on answered',
			async () => {
				const up = meter?.upSince();
				const probe = meter?.lastProbe();
				return up != null && probe?.ok && probe.sentAt >= now ? true : undefined;
			},
			30_000,
			100,
		);
		const seen = outages.filter((outage) => Date.parse(outage.startedAt) >= since - 200);
		if (seen.length !== 1) {
			// Say what the meter saw, line by line, from a second before the drill.
			const lines = meterLog
				.filter((entry) => entry.time >= since - 1_000)
				.map((entry) => `${entry.time - since} ${entry.msg} ${entry.line ?? ''}`);
			console.log(`[meter] since the drill (ms from its start):\n${lines.join('\n')}`);
		}
		return seen;
	}

	beforeAll(async () => {
		testLab = await provisionTestLab(docker);
		lab = testLab.lab;
		// The nodes' live state, as the server keeps it: drills read who holds the VIP there.
		watch = watchLab(testLab.lab, { docker, clock: systemClock, log });
		lab.events.on('drill', (event: DrillEvent) => drillEvents.push(event));
		lab.events.on('outage', (outage: Outage) => outages.push(outage));
		await installGuideKeepalived(docker, lab);
	});

	// A failed test must not leave its drill behind for the next one.
	afterEach(async () => {
		if (!lab || !drillState(lab).active) return;
		const mark = drillEvents.length;
		await startDrill(ctx(), 'restore').catch(() => undefined);
		await nextDrillEvent('restore', 'restored', mark).catch(() => undefined);
	});

	afterAll(async () => {
		await meter?.stop();
		watch?.stop();
		await testLab?.remove();
	});

	it('refuses an unknown drill (404) and any drill before keepalived runs (409), changing nothing', async () => {
		const unknown = await startDrill(ctx(), 'reboot-everything').catch((error) => error);
		expect(unknown).toBeInstanceOf(DrillError);
		expect(unknown).toMatchObject({ status: 404, code: 'unknown-drill' });

		for (const name of ['stop-haproxy', 'freeze-node', 'block-vrrp'] as const) {
			const refused = await startDrill(ctx(), name).catch((error) => error);
			expect(refused).toBeInstanceOf(DrillError);
			expect(refused).toMatchObject({ status: 409, code: 'keepalived-not-running' });
			expect(refused.message).toMatch(/^Сначала запустите keepalived на обоих узлах/);
		}
		expect(drillState(lab)).toEqual({ active: null, busy: false });
		expect(drillEvents).toEqual([]);
		for (const node of LAB_NODES) {
			const id = lab.containers[node];
			expect((await sh(docker, id, 'systemctl is-active haproxy')).stdout.trim()).toBe('active');
			expect((await sh(docker, id, 'tc filter show dev eth0 egress')).stdout).toBe('');
			const info = await docker.getContainer(id).inspect();
			expect(info.State.Paused).toBe(false);
		}
		const intruder = await docker
			.getContainer(containerName(lab.id, 'intruder'))
			.inspect()
			.catch((error) => error);
		expect(intruder.statusCode).toBe(404);
	});

	it('starts keepalived on both nodes and the meter on the VIP', async () => {
		for (const node of LAB_NODES) {
			const start = await sh(docker, lab.containers[node], 'systemctl enable --now keepalived');
			expect(start.exitCode, start.stderr).toBe(0);
		}
		await waitFor(
			'exactly one VIP holder',
			async () => ((await holders()).length === 1 ? true : undefined),
			15_000,
		);
		meter = await startDowntimeMeter({ docker, log: meterLogger }, lab);
		const client = await docker.getContainer(containerName(lab.id, 'client')).inspect();
		expect(client.Config.Labels[LABELS.lab]).toBe(lab.id);
		expect(client.NetworkSettings.Networks[`klab-${lab.id}`]?.IPAddress).toBe(lab.addresses.client);
		await waitFor(
			'the meter to be answered',
			async () => (meter!.lastProbe()?.ok ? true : undefined),
			10_000,
			100,
		);
		expect(LAB_NODES).toContain(meter!.lastProbe()!.node);
		expect(outages).toEqual([]);
	});

	it('stop-haproxy: the VIP moves, the meter sees one outage of 1.5–4.5 s, other drills wait for restore', async () => {
		await steady();
		const [holder] = await holders();
		const since = Date.now();
		const { started, outcome } = await drill('stop-haproxy');
		expect(started.target).toBe(holder);
		const other = holder === 'hap1' ? 'hap2' : 'hap1';
		expect(outcome.ok, outcome.detail).toBe(true);
		expect(outcome.holders).toEqual([other]);
		expect(await holders()).toEqual([other]);
		expect(drillState(lab).active).toMatchObject({ drill: 'stop-haproxy', phase: 'outcome' });

		const seen = await outagesSince(since);
		console.log(`[measure] stop-haproxy: ${JSON.stringify(seen)}`);
		expect(seen).toHaveLength(1);
		expect(seen[0]!.ms).toBeGreaterThanOrEqual(1_500);
		expect(seen[0]!.ms).toBeLessThanOrEqual(4_500);
		expect(seen[0]).toMatchObject({ before: holder, after: other });

		for (const name of ['freeze-node', 'stop-haproxy'] as const) {
			const refused = await startDrill(ctx(), name).catch((error) => error);
			expect(refused).toMatchObject({ status: 409, code: 'drill-active' });
		}
		expect(
			(await sh(docker, lab.containers[holder!], 'systemctl is-active haproxy')).stdout.trim(),
		).toBe('inactive');

		await restore();
		expect(
			(await sh(docker, lab.containers[holder!], 'systemctl is-active haproxy')).stdout.trim(),
		).toBe('active');
		expect(drillState(lab).active).toBeNull();
	});

	it('freeze-node: the backup takes over after the master-down interval, an outage of 4–8 s', async () => {
		await steady();
		const [holder] = await holders();
		const since = Date.now();
		const { outcome } = await drill('freeze-node');
		expect(outcome.ok, outcome.detail).toBe(true);
		expect(outcome.states?.[holder!]).toBe('frozen');
		const seen = await outagesSince(since);
		console.log(`[measure] freeze-node: ${JSON.stringify(seen)}`);
		expect(seen).toHaveLength(1);
		expect(seen[0]!.ms).toBeGreaterThanOrEqual(4_000);
		expect(seen[0]!.ms).toBeLessThanOrEqual(8_000);
		await restore();
		const info = await docker.getContainer(lab.containers[holder!]).inspect();
		expect(info.State.Paused).toBe(false);
	});

	it('block-vrrp: both nodes become MASTER (split brain), and restore ends it', async () => {
		const { started, outcome } = await drill('block-vrrp');
		expect(outcome.ok, outcome.detail).toBe(true);
		expect(outcome.states).toEqual({ hap1: 'MASTER', hap2: 'MASTER' });
		expect(await vrrpState('hap1')).toBe('MASTER');
		expect(await vrrpState('hap2')).toBe('MASTER');
		expect(await holders()).toEqual(['hap1', 'hap2']);
		const filters = await sh(
			docker,
			lab.containers[started.target as LabNode],
			'tc filter show dev eth0 ingress; tc filter show dev eth0 egress',
		);
		expect(filters.stdout.match(/pref 112 /g)?.length).toBeGreaterThanOrEqual(2);

		await restore();
		expect(await holders()).toHaveLength(1);
		const states = [await vrrpState('hap1'), await vrrpState('hap2')].sort();
		expect(states).toEqual(['BACKUP', 'MASTER']);
		const after = await sh(
			docker,
			lab.containers[started.target as LabNode],
			'tc filter show dev eth0 ingress; tc filter show dev eth0 egress',
		);
		expect(after.stdout).toBe('');
	});

	it('kill-keepalived: the VIP stays on the killed node while the other takes it too', async () => {
		const [holder] = await holders();
		const { outcome } = await drill('kill-keepalived');
		expect(outcome.ok, outcome.detail).toBe(true);
		expect(outcome.holders).toEqual(['hap1', 'hap2']);
		expect(await holders()).toEqual(['hap1', 'hap2']);
		const killed = await sh(docker, lab.containers[holder!], 'pgrep -x keepalived || echo none');
		expect(killed.stdout.trim()).toBe('none');
		await restore();
		expect(
			(await sh(docker, lab.containers[holder!], 'systemctl is-active keepalived')).stdout.trim(),
		).toBe('active');
	});

	it('cut-network: the other node takes the VIP; restore reconnects the node as eth0 with its address', async () => {
		const [holder] = await holders();
		const id = lab.containers[holder!];
		const { outcome } = await drill('cut-network');
		expect(outcome.ok, outcome.detail).toBe(true);
		expect(outcome.holders).toEqual([holder === 'hap1' ? 'hap2' : 'hap1']);
		expect((await sh(docker, id, 'ip -o link show | grep -c eth || true')).stdout.trim()).toBe('0');
		await restore();
		const link = await sh(docker, id, 'ip -4 -o addr show dev eth0');
		expect(link.stdout).toContain(` ${lab.addresses[holder!]}/24`);
		const info = await docker.getContainer(id).inspect();
		expect(info.NetworkSettings.Networks[`klab-${lab.id}`]?.Aliases).toContain(holder);
		// The node answers its neighbour again, and a second cut works too (Docker finds the
		// renamed interface by its alternative name).
		const other = holder === 'hap1' ? 'hap2' : 'hap1';
		const ping = await sh(docker, lab.containers[other], `ping -c1 -W2 ${lab.addresses[holder!]}`);
		expect(ping.exitCode).toBe(0);
		const again = await drill('cut-network');
		expect(again.outcome.ok, again.outcome.detail).toBe(true);
		await restore();
		expect((await sh(docker, id, 'ip -4 -o addr show dev eth0')).stdout).toContain(
			` ${lab.addresses[holder!]}/24`,
		);
	});

	it('vrid-conflict: an intruder with the same virtual_router_id makes the guide’s error appear', async () => {
		const since = Date.now();
		const { outcome } = await drill('vrid-conflict', 150_000);
		expect(outcome.ok, outcome.detail).toBe(true);
		// keepalived 2.2.7 writes «advert: »; the guide quotes an older one, «advert : ».
		expect(outcome.line).toMatch(
			/Keepalived_vrrp\[\d+\]: \(hap_srv\) ip address associated with VRID 115 not present in MASTER advert ?: /,
		);
		const journal = await sh(
			docker,
			lab.containers[outcome.node!],
			`journalctl -u keepalived -o cat --since @${Math.floor(since / 1000)} | grep -cE "ip address associated with VRID 115 not present in MASTER advert ?: ${lab.addresses.vip}$"`,
		);
		expect(Number(journal.stdout.trim())).toBeGreaterThan(0);
		const intruder = await docker.getContainer(containerName(lab.id, 'intruder')).inspect();
		expect(intruder.Config.Labels[LABELS.lab]).toBe(lab.id);
		await restore();
		const gone = await docker
			.getContainer(containerName(lab.id, 'intruder'))
			.inspect()
			.catch((error) => error);
		expect(gone.statusCode).toBe(404);
	}, 240_000);
});
