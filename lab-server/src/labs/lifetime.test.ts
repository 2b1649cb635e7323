import { describe, expect, it } from 'vitest';
import { dueActions, type LifetimeContext } from './lifetime';
import { newLab, type Lab } from './lab';
import { labAddresses, parsePool } from './subnets';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const MIN = 60_000;
const MB = 2 ** 20;

function lab(id: string, fields: Partial<Lab> = {}): Lab {
	return Object.assign(
		newLab({
			id,
			addresses: labAddresses(parsePool('10.129.0.0/16'), 1),
			tokenHash: 'a'.repeat(64),
			ownerHash: 'b'.repeat(64),
			clientIp: null,
			workshop: null,
			createdAt: NOW - 30 * MIN,
			expiresAt: NOW + 60 * MIN,
			idleSince: NOW - MIN,
			halted: {},
			containers: { hap1: 'c1', hap2: 'c2' },
		}),
		fields,
	);
}

const ctx = (over: Partial<LifetimeContext> = {}): LifetimeContext => ({
	now: NOW,
	idleMs: 20 * MIN,
	keepMs: 7 * 24 * 60 * MIN,
	keepDiskBytes: 100 * MB,
	isAttached: () => false,
	isPooled: () => false,
	isBusy: () => false,
	...over,
});

const plan = (labs: Lab[], over?: Partial<LifetimeContext>) =>
	dueActions(labs, ctx(over)).map(({ lab, action, reason }) => `${lab.id}:${action}:${reason}`);

describe('lab lifetime rules', () => {
	it('stops an idle lab and one past its time, keeping their files', () => {
		const labs = [
			lab('fresh'),
			lab('idle', { idleSince: NOW - 21 * MIN }),
			lab('late', { expiresAt: NOW }),
		];
		expect(plan(labs)).toEqual(['idle:stop:idle', 'late:stop:expired']);
	});

	it('removes them instead with LAB_KEEP_DAYS=0', () => {
		const labs = [lab('idle', { idleSince: NOW - 21 * MIN }), lab('late', { expiresAt: NOW })];
		expect(plan(labs, { keepMs: 0 })).toEqual(['idle:end:idle', 'late:end:expired']);
	});

	it('never counts as idle a lab with a terminal attached, one in a pool, or one busy', () => {
		const labs = [
			lab('attached', { idleSince: 0 }),
			lab('pooled', { idleSince: 0 }),
			lab('busy', { idleSince: 0, expiresAt: 0 }),
		];
		expect(
			plan(labs, {
				isAttached: (id) => id === 'attached',
				isPooled: (id) => id === 'pooled',
				isBusy: (id) => id === 'busy',
			}),
		).toEqual([]);
		// A pool's lab past its time holds nobody's work: it goes.
		expect(plan([lab('pooled', { expiresAt: NOW })], { isPooled: () => true })).toEqual([
			'pooled:end:expired',
		]);
		// Past its time, an attached lab stops all the same.
		expect(plan([lab('attached', { expiresAt: NOW })], { isAttached: () => true })).toEqual([
			'attached:stop:expired',
		]);
	});

	it('ends a stopped lab at keptUntil, and leaves a starting one alone', () => {
		const stopped = (id: string, keptUntil: number) =>
			lab(id, { status: 'stopped', stoppedAt: NOW - MIN, keptUntil, expiresAt: 0, idleSince: 0 });
		expect(
			plan([
				stopped('kept', NOW + 1),
				stopped('gone', NOW),
				lab('starting', { status: 'starting', expiresAt: 0 }),
			]),
		).toEqual(['gone:end:expired']);
	});

	it('over the disk budget, ends the longest-stopped first until the rest fit', () => {
		const stopped = (id: string, stoppedAt: number, mb: number) =>
			lab(id, { status: 'stopped', stoppedAt, keptUntil: NOW + MIN, diskBytes: mb * MB });
		const labs = [
			stopped('newest', NOW - MIN, 50),
			stopped('oldest', NOW - 9 * MIN, 40),
			stopped('middle', NOW - 5 * MIN, 30),
		];
		expect(plan(labs)).toEqual(['oldest:end:evicted']);
		expect(plan(labs, { keepDiskBytes: 60 * MB })).toEqual([
			'oldest:end:evicted',
			'middle:end:evicted',
		]);
		expect(plan(labs, { keepDiskBytes: 120 * MB })).toEqual([]);
	});
});
