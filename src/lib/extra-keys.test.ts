import { describe, expect, it } from 'vitest';
import { EXTRA_KEYS, keyBytes, withCtrl, type SendingKey } from './extra-keys';

describe('keyBytes', () => {
	it('sends what xterm.js sends for the physical keys', () => {
		const sent = (applicationCursor: boolean) =>
			Object.fromEntries(
				EXTRA_KEYS.filter((k): k is SendingKey => k !== 'ctrl').map((k) => [
					k,
					keyBytes(k, applicationCursor),
				]),
			);
		expect(sent(false)).toEqual({
			esc: '\x1b',
			tab: '\t',
			left: '\x1b[D',
			up: '\x1b[A',
			down: '\x1b[B',
			right: '\x1b[C',
			pipe: '|',
			tilde: '~',
		});
		// less, vi: application cursor keys.
		expect(keyBytes('up', true)).toBe('\x1bOA');
		expect(keyBytes('left', true)).toBe('\x1bOD');
		expect(keyBytes('tab', true)).toBe('\t');
	});
});

describe('withCtrl', () => {
	it('turns the next letter into its control character, either case', () => {
		expect(withCtrl('c')).toBe('\x03');
		expect(withCtrl('C')).toBe('\x03');
		expect(withCtrl('d')).toBe('\x04');
		expect(withCtrl('r')).toBe('\x12');
		expect(withCtrl('[')).toBe('\x1b');
		expect(withCtrl(' ')).toBe('\x00');
		expect(withCtrl('?')).toBe('\x7f');
	});

	it('takes a Russian letter as the key it shares (Ctrl then «с» is Ctrl+C)', () => {
		expect(withCtrl('с')).toBe('\x03');
		expect(withCtrl('В')).toBe('\x04');
		expect(withCtrl('к')).toBe('\x12');
	});

	it('changes only the first character, and leaves one without a control form', () => {
		expect(withCtrl('cd')).toBe('\x03d');
		expect(withCtrl('1')).toBe('1');
		expect(withCtrl('→')).toBe('→');
		expect(withCtrl('')).toBe('');
	});
});
