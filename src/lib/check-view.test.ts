import { describe, expect, it } from 'vitest';
import { electionWaits, shownStatus } from './check-view';
import type { CheckResult } from '../../lab-server/src/api';

const vip = (status: CheckResult['status']): CheckResult => ({
	id: 'vip',
	step: '08-vip',
	title: 'VIP держит ровно один узел',
	status,
	message: '',
});

describe('electionWaits', () => {
	it('makes each check of the election wait its time from the answer', () => {
		expect([...electionWaits({ checks: ['vip'], ms: 11_610 }, 1_000)]).toEqual([['vip', 12_610]]);
	});

	it('makes nothing wait when keepalived was not started', () => {
		expect(electionWaits(null, 1_000).size).toBe(0);
	});
});

describe('shownStatus', () => {
	const until = 10_000;

	it('shows a failing check as waiting while VRRP elects, not as failed', () => {
		expect(shownStatus(vip('fail'), true, until, 9_999)).toBe('waiting');
		expect(shownStatus(vip('pending'), true, until, 5_000)).toBe('waiting');
		expect(shownStatus(null, true, until, 5_000)).toBe('waiting');
	});

	it('shows a pass at once, and a failure still there after the election as it is', () => {
		expect(shownStatus(vip('pass'), true, until, 5_000)).toBe('pass');
		expect(shownStatus(vip('fail'), true, until, 10_000)).toBe('fail');
		expect(shownStatus(vip('fail'), true, undefined, 5_000)).toBe('fail');
	});

	it('says nothing of an election without a running lab', () => {
		expect(shownStatus(null, false, until, 5_000)).toBe('nolab');
		expect(shownStatus(vip('fail'), false, until, 5_000)).toBe('fail');
		expect(shownStatus(null, true, undefined, 5_000)).toBe('unknown');
	});

	it('without a lab, says a check passed on an earlier lab; a lab shows its own result', () => {
		expect(shownStatus(null, false, undefined, 5_000, true)).toBe('earlier');
		expect(shownStatus(null, false, undefined, 5_000, false)).toBe('nolab');
		// A stopped lab still has its results; a running one is checked live.
		expect(shownStatus(vip('fail'), false, undefined, 5_000, true)).toBe('fail');
		expect(shownStatus(null, true, undefined, 5_000, true)).toBe('unknown');
		expect(shownStatus(vip('pending'), true, undefined, 5_000, true)).toBe('pending');
	});
});
