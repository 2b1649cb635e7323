import { describe, expect, it } from 'vitest';
import { lineReader } from './line-reader';

describe('lineReader', () => {
	const read = (chunks: string[], maxLine = 8) => {
		const lines: string[] = [];
		let overlong = 0;
		const reader = lineReader({
			maxLine,
			onLine: (l) => lines.push(l),
			onOverlong: () => overlong++,
		});
		for (const chunk of chunks) reader.push(chunk);
		return { lines, overlong };
	};

	it('joins lines split over chunks and keeps a partial line for later', () => {
		expect(read(['ab', 'c\nde', 'f\n', 'g'])).toEqual({ lines: ['abc', 'def'], overlong: 0 });
	});

	it('drops a line over the cap whole, however it arrives, and reads on after it', () => {
		expect(read(['0123456789\nok\n'])).toEqual({ lines: ['ok'], overlong: 1 });
		expect(read(['01234', '56789', 'abcdef', '\nok\n'])).toEqual({ lines: ['ok'], overlong: 1 });
		expect(read(['x'.repeat(1 << 20), 'y'.repeat(1 << 20), '\n', 'ok\n'])).toEqual({
			lines: ['ok'],
			overlong: 1,
		});
	});
});
