/**
 * Lines from a stream whose writer the learner controls (a node's `observe` script, the meter's
 * client): bounded in memory and in work, whatever arrives. A line longer than `maxLine` is
 * dropped whole (`onOverlong`), never buffered; chunks are split once, not re-scanned.
 */
export interface LineReader {
	push(chunk: Buffer | string): void;
}

export function lineReader(options: {
	maxLine: number;
	onLine: (line: string) => void;
	onOverlong?: () => void;
}): LineReader {
	let partial = '';
	/** Inside a line that is already too long: skip until its newline. */
	let skipping = false;
	return {
		push(chunk) {
			const parts = (typeof chunk === 'string' ? chunk : chunk.toString('utf8')).split('\n');
			const last = parts.pop()!;
			for (const part of parts) {
				if (skipping) skipping = false;
				else if (partial.length + part.length > options.maxLine) options.onOverlong?.();
				else options.onLine(partial + part);
				partial = '';
			}
			if (skipping) return;
			if (partial.length + last.length > options.maxLine) {
				partial = '';
				skipping = true;
				options.onOverlong?.();
			} else partial += last;
		},
	};
}
