import { describe, expect, it } from 'vitest';
import { ShellMarks } from './shell-marks';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const START = '\x1b]133;C\x07';

describe('shell marks', () => {
	it('finds each command end with its status, and nothing else', () => {
		const marks = new ShellMarks();
		expect(
			marks.scan(bytes(`ls\r\n${START}a b\r\n\x1b]133;D;0\x07\x1b]133;A\x07$ \x1b]133;B\x07`)),
		).toEqual([0]);
		expect(marks.scan(bytes(`${START}false\x1b]133;D;1\x07 x ${START}\x1b]133;D;127\x07`))).toEqual(
			[1, 127],
		);
		expect(marks.scan(bytes(`${START}\x1b]133;D\x07`))).toEqual([null]);
		expect(marks.scan(bytes(`\x1b]133;A\x07${START}plain output`))).toEqual([]);
	});

	it('counts no end without a start: the first prompt, an empty Enter', () => {
		const marks = new ShellMarks();
		const prompt = '\x1b]133;D;0\x07\x1b]133;A\x07$ \x1b]133;B\x07';
		expect(marks.scan(bytes(prompt))).toEqual([]);
		expect(marks.scan(bytes(`\r\n${prompt}`))).toEqual([]);
		expect(marks.scan(bytes(`echo hi\r\n${START}hi\r\n${prompt}\r\n${prompt}`))).toEqual([0]);
	});

	it('finds a mark split across chunks at any byte, once', () => {
		const text = `${START}out\x1b]133;D;42\x07\x1b]133;A\x07$ `;
		for (let cut = 1; cut < text.length; cut++) {
			const marks = new ShellMarks();
			const found = [
				...marks.scan(bytes(text.slice(0, cut))),
				...marks.scan(bytes(text.slice(cut))),
			];
			expect(found, `cut at ${cut}`).toEqual([42]);
		}
	});

	it('ignores a mark without its end, or far too long, and keeps no more than a mark of tail', () => {
		const marks = new ShellMarks();
		expect(marks.scan(bytes(`${START}\x1b]133;D;123456789\x07`))).toEqual([]);
		expect(marks.scan(bytes(`\x1b]133;D;${'9'.repeat(100_000)}`))).toEqual([]);
		expect(marks.scan(bytes('\x07 then \x1b]133;D;3\x07'))).toEqual([3]);
	});
});
