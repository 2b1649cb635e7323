import { describe, expect, it } from 'vitest';
import {
	clampSplit,
	labWidth,
	parseSplit,
	splitAfterKey,
	splitBounds,
	splitFor,
} from './panel-split';

// A 1600 px window with the steps list: the text starts at 288 px, a 32 px gap, 16 px rem.
const bounds = splitBounds(1600, {
	right: 1600,
	textLeft: 288,
	gap: 32,
	minText: 384,
	minPanel: 352,
});

describe('splitBounds', () => {
	it('keeps room for the text and for the panel', () => {
		expect(bounds.min).toBeCloseTo(44, 9);
		expect(bounds.max).toBeCloseTo(78, 9);
	});

	it('gives the panel its room when the window is too narrow for both', () => {
		const narrow = splitBounds(700, {
			right: 700,
			textLeft: 32,
			gap: 32,
			minText: 384,
			minPanel: 352,
		});
		expect(narrow.min).toBe(narrow.max);
		expect(labWidth(narrow.max)).toBe('50.3vw');
	});
});

describe('splitFor', () => {
	it('places the line where a panel of that width starts, a scrollbar or not', () => {
		expect(splitFor(400, 1600)).toBe(75);
		expect(labWidth(splitFor(400, 1600))).toBe('25vw');
		// With a 15 px scrollbar the same panel is still 25vw: the line is at the panel's width.
		const withBar = splitBounds(1600, {
			right: 1585,
			textLeft: 288,
			gap: 32,
			minText: 384,
			minPanel: 352,
		});
		expect(withBar.max).toBe(78);
		expect(withBar.min).toBeCloseTo(44 + 15 / 16, 9);
	});
});

describe('splitAfterKey', () => {
	it('moves the line with the arrows and pages, within its bounds', () => {
		expect(splitAfterKey('ArrowLeft', 60, bounds)).toBe(58);
		expect(splitAfterKey('ArrowRight', 60, bounds)).toBe(62);
		expect(splitAfterKey('ArrowUp', 60, bounds)).toBe(62);
		expect(splitAfterKey('PageDown', 60, bounds)).toBe(50);
		expect(splitAfterKey('ArrowLeft', 45, bounds)).toBe(44);
		expect(splitAfterKey('PageUp', 75, bounds)).toBe(78);
	});

	it('goes to either end with Home and End, and ignores other keys', () => {
		expect(splitAfterKey('Home', 60, bounds)).toBe(44);
		expect(splitAfterKey('End', 60, bounds)).toBe(78);
		expect(splitAfterKey('Enter', 60, bounds)).toBeNull();
		expect(splitAfterKey('a', 60, bounds)).toBeNull();
	});
});

describe('the stored line', () => {
	it('reads back a position and refuses anything else', () => {
		expect(parseSplit('61.5')).toBe(61.5);
		expect(parseSplit(null)).toBeNull();
		expect(parseSplit('')).toBeNull();
		expect(parseSplit('wide')).toBeNull();
		expect(parseSplit('0')).toBeNull();
		expect(parseSplit('100')).toBeNull();
		expect(parseSplit('Infinity')).toBeNull();
	});

	it('rounds a dragged position and turns it into the panel’s width', () => {
		expect(clampSplit(61.234, bounds)).toBe(61.2);
		expect(clampSplit(10, bounds)).toBe(44);
		expect(labWidth(61.2)).toBe('38.8vw');
	});
});
