import { describe, expect, it } from 'vitest';
import { afterReset, resetNoticeText } from './reset-notice';
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
});

describe('resetNoticeText', () => {
	it('names the one node reset, and is empty when none was', () => {
		expect(resetNoticeText(new Set(['hap2']), t)).toMatchInlineSnapshot(
			`"Преподаватель сбросил узел hap2: он возвращается в исходное состояние, терминал откроется заново через несколько секунд. Всё, что было на hap2, удалено."`,
		);
		expect(resetNoticeText(none, t)).toBe('');
	});
});
