import { describe, expect, it } from 'vitest';
import { afterReset, resetNoticeText, unseenReset } from './reset-notice';
import { createT, pick } from '../i18n/t';
import type { LabNode } from '../../lab-server/src/api';

const t = createT(pick('lab.instructorReset.'));
const none: ReadonlySet<LabNode> = new Set();

describe('afterReset', () => {
	it('names a node the instructor reset', () => {
		expect([...afterReset(none, { node: 'hap2', by: 'instructor' })]).toEqual(['hap2']);
	});

	it('says nothing of the learner’s own reset, nor of an event it cannot read', () => {
		expect(afterReset(none, { node: 'hap1', by: 'learner' })).toBe(none);
		expect(afterReset(none, { node: 'hap1' })).toBe(none);
		expect(afterReset(none, { node: 'hap3', by: 'instructor' })).toBe(none);
		expect(afterReset(none, null)).toBe(none);
	});

	it('gathers the two events of a whole-lab reset into one notice', () => {
		const one = afterReset(none, { node: 'hap1', by: 'instructor' });
		const both = afterReset(one, { node: 'hap2', by: 'instructor' });
		expect(resetNoticeText(both, t)).toMatchInlineSnapshot(
			`"Преподаватель сбросил ваш стенд: узлы hap1 и hap2 возвращаются в исходное состояние, терминалы откроются заново через несколько секунд. Всё, что было на узлах, удалено."`,
		);
		// A learner's reset meanwhile does not take the instructor's back.
		expect(afterReset(both, { node: 'hap1', by: 'learner' })).toBe(both);
	});

	it('names a whole lab’s reset whole from its first event', () => {
		const whole = afterReset(none, { node: 'hap1', nodes: ['hap1', 'hap2'], by: 'instructor' });
		expect([...whole]).toEqual(['hap1', 'hap2']);
		expect(afterReset(whole, { node: 'hap2', nodes: ['hap1', 'hap2'], by: 'instructor' })).toBe(
			whole,
		);
		// Junk in `nodes` is left out.
		expect([
			...afterReset(none, { node: 'hap2', nodes: ['hap3', 7, 'hap2'], by: 'instructor' }),
		]).toEqual(['hap2']);
	});
});

describe('resetNoticeText', () => {
	it('names the one node reset, and is empty when none was', () => {
		expect(resetNoticeText(new Set(['hap2']), t)).toMatchInlineSnapshot(
			`"Преподаватель сбросил узел hap2: он возвращается в исходное состояние, терминал откроется заново через несколько секунд. Всё, что было на hap2, удалено."`,
		);
		expect(resetNoticeText(none, t)).toBe('');
	});
});

describe('unseenReset', () => {
	const at = '2026-12-05T10:00:00.000Z';

	it('names the nodes of an instructor’s reset this browser has not seen', () => {
		const both = unseenReset({ at, by: 'instructor', nodes: ['hap1', 'hap2'] }, null);
		// Said as over: it happened while the page was closed.
		expect(resetNoticeText(both, t, '10:00')).toMatchInlineSnapshot(
			`"Пока страница была закрыта, в 10:00 преподаватель сбросил ваш стенд: узлы hap1 и hap2 вернулись в исходное состояние. Всё, что было на узлах, удалено."`,
		);
		expect(resetNoticeText(new Set(['hap1']), t, '09:15')).toMatchInlineSnapshot(
			`"Пока страница была закрыта, в 09:15 преподаватель сбросил узел hap1: он вернулся в исходное состояние. Всё, что было на hap1, удалено."`,
		);
		expect([
			...unseenReset({ at, by: 'instructor', nodes: ['hap2'] }, '2026-12-04T09:00:00.000Z'),
		]).toEqual(['hap2']);
	});

	it('says nothing of one already seen, of the learner’s own, of none, or of an older server', () => {
		expect(unseenReset({ at, by: 'instructor', nodes: ['hap1'] }, at).size).toBe(0);
		expect(unseenReset({ at, by: 'learner', nodes: ['hap1'] }, null).size).toBe(0);
		expect(unseenReset(null, null).size).toBe(0);
		expect(unseenReset(undefined, null).size).toBe(0);
	});
});
