/**
 * Reading a recording back, for tests: a strict asciicast v2 parser (every line must be a
 * header or an event, or it throws), and a replay into a headless xterm.js to compare what
 * the recording shows at its end with what a live terminal showed.
 */
import xtermHeadless from '@xterm/headless';
import type { CastHeader } from '../src/recordings/asciicast';

export type CastEvent = [number, 'o' | 'r' | 'm' | 'i', string];

export function parseCast(text: string): { header: CastHeader; events: CastEvent[] } {
	if (!text.endsWith('\n')) throw new Error('a cast ends with a newline');
	const [first, ...lines] = text.slice(0, -1).split('\n');
	const header = JSON.parse(first!) as CastHeader;
	if (header.version !== 2 || !(header.width > 0) || !(header.height > 0)) {
		throw new Error(`not an asciicast v2 header: ${first}`);
	}
	let last = 0;
	const events = lines.map((line, i) => {
		const event = JSON.parse(line) as unknown;
		if (
			!Array.isArray(event) ||
			event.length !== 3 ||
			typeof event[0] !== 'number' ||
			!['o', 'r', 'm', 'i'].includes(event[1] as string) ||
			typeof event[2] !== 'string'
		) {
			throw new Error(`line ${i + 2} is not an asciicast v2 event: ${line.slice(0, 100)}`);
		}
		if (event[0] < last) throw new Error(`line ${i + 2}: time goes back`);
		last = event[0];
		return event as CastEvent;
	});
	return { header, events };
}

/** A headless terminal of the given size; `screen()` is its visible lines, right-trimmed. */
export function headlessTerminal(cols: number, rows: number) {
	const term = new xtermHeadless.Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
	return {
		term,
		write: (data: string | Uint8Array) => new Promise<void>((done) => term.write(data, done)),
		screen(): string[] {
			const buffer = term.buffer.active;
			return Array.from({ length: term.rows }, (_, y) =>
				(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '').trimEnd(),
			);
		},
	};
}

/** The screen at the recording's end: its output written at its sizes, as a player would. */
export async function replayCast(text: string): Promise<string[]> {
	const { header, events } = parseCast(text);
	const t = headlessTerminal(header.width, header.height);
	for (const [, code, data] of events) {
		if (code === 'o') await t.write(data);
		if (code === 'r') {
			const [cols, rows] = data.split('x').map(Number);
			t.term.resize(cols!, rows!);
		}
	}
	return t.screen();
}
