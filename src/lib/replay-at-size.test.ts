import { Terminal } from '@xterm/headless';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplayAtSize } from './replay-at-size';
import type { Replay } from '../../lab-server/src/api/protocol';

/** A progress line as apt and curl draw it: 70 characters, then a carriage return over them. */
const PROGRESS = '0'.repeat(70) + '\rDONE\r\n$';
const bytes = (text: string) => new TextEncoder().encode(text);

let term: Terminal;

/** A replay to `end`, of one size from its start (offset 0). */
function at(end: number, ...sizes: [cols: number, rows: number, from?: number][]): Replay {
	return {
		end,
		sizes: sizes.map(([cols, rows, from = 0]) => ({ from, cols, rows })),
	};
}
afterEach(() => term?.dispose());

/** Rows of the buffer, trailing blanks dropped. */
function rows(): string[] {
	const buffer = term.buffer.active;
	const out: string[] = [];
	for (let y = 0; y < buffer.length; y++) out.push(buffer.getLine(y)!.translateToString(true));
	while (out.at(-1) === '') out.pop();
	return out;
}

/** A 50-column terminal that fits to `fitTo` whenever it is allowed to. */
function narrowTerminal(fitTo = { cols: 50, rows: 10 }) {
	term = new Terminal({ cols: fitTo.cols, rows: fitTo.rows, allowProposedApi: true });
	const fitted: string[] = [];
	const replay = new ReplayAtSize(term, () => {
		term.resize(fitTo.cols, fitTo.rows);
		fitted.push(`${term.cols}x${term.rows}`);
	});
	return { replay, fitted };
}

function write(replay: ReplayAtSize, text: string): Promise<number[]> {
	const parts: number[] = [];
	return new Promise((resolve) => {
		replay.write(bytes(text), (n) => parts.push(n));
		term.write('', () => resolve(parts));
	});
}

describe('ReplayAtSize', () => {
	it('draws output written for 100 columns as it was, then reflows it to 50', async () => {
		const { replay, fitted } = narrowTerminal();
		replay.begin(0, at(PROGRESS.length, [100, 10]));
		expect([term.cols, replay.holding]).toEqual([100, true]);

		expect(await write(replay, PROGRESS)).toEqual([PROGRESS.length]);
		expect(replay.holding).toBe(false);
		expect(fitted).toEqual(['50x10']);
		expect(rows()).toEqual(['DONE' + '0'.repeat(46), '0'.repeat(20), '$']);
	});

	it('garbles the same output written straight at 50 columns (what it replaces)', async () => {
		const { replay } = narrowTerminal();
		replay.begin(0, undefined);
		await write(replay, PROGRESS);
		expect(rows()).toEqual(['0'.repeat(50), 'DONE' + '0'.repeat(16), '$']);
	});

	it('writes what follows the replay at the new size, in order', async () => {
		const { replay } = narrowTerminal();
		const replayed = 'x'.repeat(80) + '\r\n';
		replay.begin(1000, at(1000 + replayed.length, [100, 10]));
		// The replay's end falls inside an OUTPUT frame: split there.
		const parts = await write(replay, replayed + 'y'.repeat(60));
		expect(parts).toEqual([replayed.length, 60]);
		expect(rows()).toEqual(['x'.repeat(50), 'x'.repeat(30), 'y'.repeat(50), 'y'.repeat(10)]);
	});

	it('holds across frames until the end, and not at all at the same size', async () => {
		const { replay, fitted } = narrowTerminal();
		replay.begin(0, at(20, [120, 10]));
		await write(replay, 'a'.repeat(10));
		expect([replay.holding, term.cols]).toEqual([true, 120]);
		await write(replay, 'b'.repeat(10));
		expect([replay.holding, term.cols, fitted]).toEqual([false, 50, ['50x10']]);

		replay.begin(20, at(40, [50, 10]));
		expect(replay.holding).toBe(false);
	});

	it('resizes where the learner resized, in the middle of a frame', async () => {
		const { replay } = narrowTerminal();
		// 90 wide, then (the window narrowed) 60 wide from the second line.
		const before = '0'.repeat(75) + '\rA\r\n\r\n';
		const after = '1'.repeat(65) + '\rB\r\n';
		replay.begin(0, at(before.length + after.length, [90, 10], [60, 10, before.length]));
		await write(replay, before + after);
		expect(rows()).toEqual([
			'A' + '0'.repeat(49),
			'0'.repeat(25),
			'',
			// At 60 wide the line wrapped, and the carriage return went to its second row.
			'1'.repeat(50),
			'1'.repeat(10) + 'B' + '1'.repeat(4),
		]);
	});

	it('lets go when the connection goes before the replay is written', () => {
		const { replay, fitted } = narrowTerminal();
		replay.begin(0, at(500, [120, 10]));
		replay.cancel();
		expect([replay.holding, term.cols, fitted]).toEqual([false, 50, ['50x10']]);
	});
});
