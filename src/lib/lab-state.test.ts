import { describe, expect, it } from 'vitest';
import { isLiveTarget, resolveTarget } from './lab-state';

describe('resolveTarget', () => {
	it('leaves a node or both as they are, whoever holds the VIP', () => {
		for (const holder of ['hap1', 'hap2', null] as const) {
			expect(resolveTarget('hap1', holder)).toBe('hap1');
			expect(resolveTarget('hap2', holder)).toBe('hap2');
			expect(resolveTarget('both', holder)).toBe('both');
		}
	});

	it('sends «на узле с VIP» to the holder and «на другом узле» to the node without it', () => {
		expect(resolveTarget('vip', 'hap1')).toBe('hap1');
		expect(resolveTarget('other', 'hap1')).toBe('hap2');
		// After a failover the same buttons mean the other nodes.
		expect(resolveTarget('vip', 'hap2')).toBe('hap2');
		expect(resolveTarget('other', 'hap2')).toBe('hap1');
	});

	it('has no node for them while nobody (or both) holds the VIP', () => {
		expect(resolveTarget('vip', null)).toBeNull();
		expect(resolveTarget('other', null)).toBeNull();
	});

	it('tells the live targets from the fixed ones', () => {
		expect(['vip', 'other', 'hap1', 'hap2', 'both'].map(isLiveTarget)).toEqual([
			true,
			true,
			false,
			false,
			false,
		]);
	});
});
