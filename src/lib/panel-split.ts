/**
 * Where the line between the guide's text and the lab panel sits on wide screens (the separator
 * `<panel-resizer>` moves it): a position in % of the window's width from its left edge, so a
 * resized window keeps the proportion. Stored in localStorage (`SPLIT_KEY`, the number) and
 * applied as `--lab-width` on <html> (CourseLayout's head script does it before first paint; its
 * CSS keeps the text and the panel usable whatever the value). Pure.
 */

export const SPLIT_KEY = 'keepalived-lab:split';
/** Arrow keys move the line this far (% of the window); Page Up/Down five times as far. */
export const SPLIT_STEP = 2;

export interface SplitBounds {
	min: number;
	max: number;
}

/**
 * The separator's range in %: the text column (from `textLeft` px, then a `gap`) keeps at least
 * `minText` px, the panel (up to `right`, the page's right edge: the window less a scrollbar)
 * at least `minPanel` px. `vw`, the panel's width unit, is 1 % of `viewport`, scrollbar included.
 */
export function splitBounds(
	viewport: number,
	layout: { right: number; textLeft: number; gap: number; minText: number; minPanel: number },
): SplitBounds {
	const widest = layout.right - layout.textLeft - layout.gap - layout.minText;
	const min = splitFor(widest, viewport);
	const max = splitFor(layout.minPanel, viewport);
	// A window too narrow for both: the line stays where the panel keeps its width.
	return min <= max ? { min, max } : { min: max, max };
}

/** The line's position for a panel `width` px wide: `labWidth` gives that width back. */
export function splitFor(width: number, viewport: number): number {
	return 100 - (width / viewport) * 100;
}

export function clampSplit(value: number, { min, max }: SplitBounds): number {
	return Math.round(Math.min(max, Math.max(min, value)) * 10) / 10;
}

/** Where a key moves the line (the ARIA window splitter's keys); null for any other key. */
export function splitAfterKey(key: string, value: number, bounds: SplitBounds): number | null {
	switch (key) {
		case 'ArrowLeft':
		case 'ArrowDown':
			return clampSplit(value - SPLIT_STEP, bounds);
		case 'ArrowRight':
		case 'ArrowUp':
			return clampSplit(value + SPLIT_STEP, bounds);
		case 'PageDown':
			return clampSplit(value - 5 * SPLIT_STEP, bounds);
		case 'PageUp':
			return clampSplit(value + 5 * SPLIT_STEP, bounds);
		case 'Home':
			return clampSplit(bounds.min, bounds);
		case 'End':
			return clampSplit(bounds.max, bounds);
		default:
			return null;
	}
}

/** The stored position, or null when there is none or it is not a sensible one. */
export function parseSplit(raw: string | null): number | null {
	const value = raw === null || raw.trim() === '' ? NaN : Number(raw);
	return Number.isFinite(value) && value > 0 && value < 100 ? value : null;
}

/** The panel's width for a line at `split` %, as `--lab-width`. */
export function labWidth(split: number): string {
	return `${Math.round((100 - split) * 10) / 10}vw`;
}
