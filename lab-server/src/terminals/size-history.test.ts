import { describe, expect, it } from 'vitest';
import { MAX_REPLAY_SIZES } from '../api/protocol';
import { SizeHistory } from './size-history';

describe('SizeHistory', () => {
	it('gives the size at the replay’s start and the changes within it', () => {
		const sizes = new SizeHistory();
		sizes.mark(0, 120, 30);
		sizes.mark(500, 80, 24);
		sizes.mark(900, 60, 24);
		expect(sizes.replay(600, 1000)).toEqual({
			end: 1000,
			sizes: [
				{ from: 600, cols: 80, rows: 24 },
				{ from: 900, cols: 60, rows: 24 },
			],
		});
		expect(sizes.replay(0, 700)).toEqual({
			end: 700,
			sizes: [
				{ from: 0, cols: 120, rows: 30 },
				{ from: 500, cols: 80, rows: 24 },
			],
		});
	});

	it('keeps one size for output written between two resizes, and none for no change', () => {
		const sizes = new SizeHistory();
		sizes.mark(0, 120, 30);
		sizes.mark(100, 100, 30);
		sizes.mark(100, 90, 30); // no output at 100 × 30: the window was still being dragged
		sizes.mark(150, 90, 30);
		sizes.mark(200, 120, 30);
		sizes.mark(200, 90, 30); // back where it was before any output: no change
		expect(sizes.replay(0, 300)?.sizes).toEqual([
			{ from: 0, cols: 120, rows: 30 },
			{ from: 100, cols: 90, rows: 30 },
		]);
	});

	it('says nothing without output to replay or a size to tell', () => {
		const sizes = new SizeHistory();
		expect(sizes.replay(0, 10)).toBeUndefined();
		sizes.mark(0, 80, 24);
		expect(sizes.replay(10, 10)).toBeUndefined();
	});

	it('keeps the newest sizes, and starts from the oldest kept', () => {
		const sizes = new SizeHistory();
		for (let i = 0; i < MAX_REPLAY_SIZES + 10; i++) sizes.mark(i * 10, 40 + i, 24);
		const replay = sizes.replay(0, 10_000)!;
		expect(replay.sizes).toHaveLength(MAX_REPLAY_SIZES);
		expect(replay.sizes[0]).toEqual({ from: 0, cols: 50, rows: 24 });
		expect(replay.sizes.at(-1)).toEqual({ from: (MAX_REPLAY_SIZES + 9) * 10, cols: 81, rows: 24 });
	});
});
