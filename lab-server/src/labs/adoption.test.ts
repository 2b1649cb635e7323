import { describe, expect, it } from 'vitest';
import type { LabResources } from '../docker/lab-network';
import { adoption } from './adoption';
import { labLabels } from './labels';
import { RUNNING, type SavedLab, type SavedLabs } from './store';
import { parsePool } from './subnets';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const DAY = 86_400_000;
const config = {
	labTtlMs: 3_600_000,
	labSubnetPool: parsePool('10.129.0.0/16'),
	labKeepMs: 7 * DAY,
};
const labels = labLabels(
	{
		index: 3,
		tokenHash: 'a'.repeat(64),
		ownerHash: 'b'.repeat(64),
		createdAt: NOW - 60_000,
		workshop: null,
	},
	'server-1',
);

function found(states: { hap1?: string; hap2?: string }, network = true): LabResources {
	return {
		labId: 'lab1',
		labels,
		networkId: network ? 'net1' : null,
		containers: Object.entries(states).map(([role, state]) => ({
			id: `${role}-id`,
			role: role as 'hap1' | 'hap2',
			state,
			labels,
		})),
	};
}

const saved = (entry: Partial<SavedLab> = {}): SavedLabs => ({
	lab1: { ...RUNNING, expiresAt: NOW + 600_000, idleSince: NOW - 1_000, ...entry },
});

const decide = (
	resources: LabResources,
	state: SavedLabs,
	serverId = 'server-1',
	keep = config.labKeepMs,
) => adoption(resources, state, { serverId, now: NOW, config: { ...config, labKeepMs: keep } });

describe('adoption', () => {
	it('takes back a whole lab of its own with the saved expiry', () => {
		const next = decide(found({ hap1: 'running', hap2: 'paused' }), saved());
		expect(next.kind).toBe('adopt');
		if (next.kind !== 'adopt') return;
		expect(next.fields.expiresAt).toBe(NOW + 600_000);
		expect(next.fields.addresses.subnet).toBe('10.129.3.0/24');
		expect(next.fields.containers).toEqual({ hap1: 'hap1-id', hap2: 'hap2-id' });
	});

	it("takes the owner and token hash saved when a pool's lab was taken over the labels'", () => {
		const taken = decide(
			found({ hap1: 'running', hap2: 'running' }),
			saved({ ownerHash: 'c'.repeat(64), tokenHash: 'd'.repeat(64) }),
		);
		const untouched = decide(found({ hap1: 'running', hap2: 'running' }), saved());
		if (taken.kind !== 'adopt' || untouched.kind !== 'adopt') throw new Error('not adopted');
		expect(taken.fields).toMatchObject({ ownerHash: 'c'.repeat(64), tokenHash: 'd'.repeat(64) });
		expect(untouched.fields).toMatchObject({
			ownerHash: 'b'.repeat(64),
			tokenHash: 'a'.repeat(64),
		});
	});

	it("leaves another server's lab alone", () => {
		expect(decide(found({ hap1: 'running', hap2: 'running' }), saved(), 'server-2').kind).toBe(
			'foreign',
		);
	});

	it('removes a lab that was still being created when the previous server went', () => {
		expect(decide(found({ hap1: 'running', hap2: 'running' }), saved({ creating: true }))).toEqual({
			kind: 'remove',
			whole: true,
		});
	});

	it('removes half a lab, and an expired one', () => {
		expect(decide(found({ hap1: 'running' }), saved())).toEqual({ kind: 'remove', whole: false });
		expect(decide(found({ hap1: 'running', hap2: 'running' }, false), saved()).kind).toBe('remove');
		expect(
			decide(found({ hap1: 'running', hap2: 'running' }), saved({ expiresAt: NOW - 1 })).kind,
		).toBe('remove');
	});

	it('keeps a node stopped over a limit down in a running lab', () => {
		const halted = {
			hap2: {
				node: 'hap2' as const,
				kind: 'disk' as const,
				used: 600,
				limit: 512,
				message: 'диск',
				at: new Date(NOW).toISOString(),
			},
		};
		const next = decide(found({ hap1: 'running', hap2: 'exited' }), saved({ halted }));
		expect(next).toMatchObject({ kind: 'adopt', stopNodes: false, fields: { status: 'running' } });
	});

	it('takes back a stopped lab as stopped until its keep time, then removes it', () => {
		const stopped = saved({ status: 'stopped', stoppedAt: NOW - DAY, keptUntil: NOW + DAY });
		expect(decide(found({ hap1: 'exited', hap2: 'exited' }), stopped)).toMatchObject({
			kind: 'adopt',
			stopNodes: false,
			fields: { status: 'stopped', keptUntil: NOW + DAY, stoppedAt: NOW - DAY },
		});
		const past = saved({ status: 'stopped', stoppedAt: NOW - 8 * DAY, keptUntil: NOW - 1 });
		expect(decide(found({ hap1: 'exited', hap2: 'exited' }), past).kind).toBe('remove');
	});

	it('keeps a running lab found stopped (a host restart) as a stopped one, from now', () => {
		expect(decide(found({ hap1: 'exited', hap2: 'exited' }), saved())).toMatchObject({
			kind: 'adopt',
			stopNodes: false,
			fields: { status: 'stopped', keptUntil: NOW + 7 * DAY, stoppedAt: NOW },
		});
		// Half of it still up: the other half is stopped too.
		expect(decide(found({ hap1: 'running', hap2: 'exited' }), saved())).toMatchObject({
			kind: 'adopt',
			stopNodes: true,
		});
		// A lab saved as stopped (or being resumed) whose nodes run: stopped again.
		expect(
			decide(found({ hap1: 'running', hap2: 'running' }), saved({ status: 'stopped' })),
		).toMatchObject({ kind: 'adopt', stopNodes: true, fields: { status: 'stopped' } });
		// With LAB_KEEP_DAYS=0 nothing is kept.
		expect(decide(found({ hap1: 'exited', hap2: 'exited' }), saved(), 'server-1', 0).kind).toBe(
			'remove',
		);
	});

	it('adopts a lab without saved state (labs.json lost) on its default TTL', () => {
		const next = decide(found({ hap1: 'running', hap2: 'running' }), {});
		expect(next.kind).toBe('adopt');
		if (next.kind === 'adopt') expect(next.fields.expiresAt).toBe(NOW - 60_000 + 3_600_000);
	});
});
