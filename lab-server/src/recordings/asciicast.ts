/**
 * The asciicast v2 format, written: a header line, then one JSON array per event — `[t, "o",
 * text]` (output), `[t, "r", "COLSxROWS"]` (resize), `[t, "m", label]` (a marker, which
 * asciinema-player 3 shows on its timeline and jumps to). `t` is seconds since the header's
 * `timestamp`. See https://docs.asciinema.org/manual/asciicast/v2/.
 *
 * Output arrives as bytes cut wherever the shell's writes and the session's batches fell, so a
 * UTF-8 character may be split across two batches: each terminal's encoder keeps one streaming
 * TextDecoder, which holds the first half until the second comes. Invalid bytes (the learner may
 * `cat` a binary) become U+FFFD; JSON.stringify escapes every control character, so no line
 * ever breaks inside an event.
 */

export interface CastHeader {
	version: 2;
	width: number;
	height: number;
	/** Unix seconds: the events' time 0. */
	timestamp: number;
	env: { TERM: string };
}

export function headerLine(cols: number, rows: number, timestamp: number): string {
	const header: CastHeader = {
		version: 2,
		width: cols,
		height: rows,
		timestamp,
		env: { TERM: 'xterm-256color' },
	};
	return `${JSON.stringify(header)}\n`;
}

/** The header of a cast file's first line, or undefined if it is not one of ours. */
export function parseHeader(line: string): CastHeader | undefined {
	try {
		const value = JSON.parse(line) as Partial<CastHeader> | null;
		if (
			value?.version === 2 &&
			Number.isSafeInteger(value.width) &&
			Number.isSafeInteger(value.height) &&
			typeof value.timestamp === 'number' &&
			Number.isFinite(value.timestamp)
		) {
			return value as CastHeader;
		}
	} catch {
		// Not JSON: a damaged file, started afresh by the caller.
	}
	return undefined;
}

/** One event line; `t` in seconds, kept to microseconds as asciinema itself writes them. */
export function eventLine(t: number, code: 'o' | 'r' | 'm', data: string): string {
	return `[${(Math.round(t * 1e6) / 1e6).toString()}, "${code}", ${JSON.stringify(data)}]\n`;
}

/** A terminal's output bytes to text, characters split across batches put back together. */
export class OutputDecoder {
	#decoder = new TextDecoder('utf-8', { fatal: false });

	/** The text of `data` (with any character its predecessor left unfinished); may be ''. */
	decode(data: Uint8Array): string {
		return this.#decoder.decode(data, { stream: true });
	}
}
