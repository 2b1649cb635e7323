import { describe, expect, it } from 'vitest';
import { parsePassed, serializePassed, stepMark, withPassed } from './passed-checks';
import type { CheckId, CheckResult } from '../../lab-server/src/api';

const result = (id: CheckId, status: CheckResult['status']): CheckResult => ({
	id,
	step: '',
	title: '',
	status,
	message: '',
});

describe('passed checks', () => {
	it('adds the checks that pass and keeps those that passed before, whatever the lab says now', () => {
		const before = parsePassed('["install"]');
		const after = withPassed(before, [result('install', 'pending'), result('config', 'pass')]);
		expect([...after]).toEqual(['install', 'config']);
		expect(parsePassed(serializePassed(after))).toEqual(after);
	});

	it('gives the same set back when nothing new passed (nothing to store)', () => {
		const before = parsePassed('["vip"]');
		expect(withPassed(before, [result('vip', 'pass'), result('logs', 'fail')])).toBe(before);
	});

	it('reads an empty, damaged or foreign value as nothing passed, dropping unknown ids', () => {
		expect(parsePassed(null).size).toBe(0);
		expect(parsePassed('{').size).toBe(0);
		expect(parsePassed('{"install":true}').size).toBe(0);
		expect([...parsePassed('["install", "rm -rf", 3, null, "failover"]')]).toEqual([
			'install',
			'failover',
		]);
	});
});

describe('stepMark', () => {
	const passed = new Set(['service']);

	it('marks a check passing on the lab now, else one that passed before', () => {
		expect(stepMark(result('service', 'pass'), passed, 'service')).toBe('now');
		expect(stepMark(result('vip', 'pass'), passed, 'vip')).toBe('now');
		expect(stepMark(result('service', 'pending'), passed, 'service')).toBe('earlier');
		expect(stepMark(undefined, passed, 'service')).toBe('earlier');
	});

	it('marks nothing that never passed', () => {
		expect(stepMark(result('vip', 'fail'), passed, 'vip')).toBeNull();
		expect(stepMark(undefined, passed, 'vip')).toBeNull();
	});
});
