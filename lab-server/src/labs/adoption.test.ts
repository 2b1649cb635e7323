import { describe, expect, it } from 'vitest';
import type { LabResources } from '../docker/lab-network';
import { adoption } from './adoption';
import { labLabels } from './labels';
import type { SavedLabs } from './store';
import { parsePool } from './subnets';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const config = { labTtlMs: 3_600_000, labSubnetPool: parsePool('10.129.0.0/16') };
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

const saved = (entry: Partial<SavedLabs[string]> = {}): SavedLabs => ({
	lab1: {
		expiresAt: NOW + 600_000,
		idleSince: NOW - 1_000,
		halted: {},
		lastActivity: null,
		creating: false,
		...entry,
	},
});

const decide = (resources: LabResources, state: SavedLabs, serverId = 'server-1') =>
	adoption(resources, state, { serverId, now: NOW, config });

describe('adoption', () => {
	it('takes back a whole lab of its own with the saved expiry', () => {
		const next = decide(found({ hap1: 'running', hap2: 'paused' }), saved());
		expect(next.kind).toBe('adopt');
		if (next.kind !== 'adopt') return;
		expect(next.fields.expiresAt).toBe(NOW + 600_000);
		expect(next.fields.addresses.subnet).toBe('10.129.3.0/24');
		expect(next.fields.containers).toEqual({ hap1: 'hap1-id', hap2: 'hap2-id' });
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

	it('keeps a node stopped over a limit, but not one that stopped by itself', () => {
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
		expect(decide(found({ hap1: 'running', hap2: 'exited' }), saved({ halted })).kind).toBe(
			'adopt',
		);
		expect(decide(found({ hap1: 'running', hap2: 'exited' }), saved()).kind).toBe('remove');
	});

	it('adopts a lab without saved state (labs.json lost) on its default TTL', () => {
		const next = decide(found({ hap1: 'running', hap2: 'running' }), {});
		expect(next.kind).toBe('adopt');
		if (next.kind === 'adopt') expect(next.fields.expiresAt).toBe(NOW - 60_000 + 3_600_000);
	});
});
