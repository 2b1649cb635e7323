/** The benchmark's table: one row per figure, columns padded to the widest cell. */

export interface Row {
	figure: string;
	p50: string;
	tail: string;
	target: string;
	met: string;
}

export function table(rows: Row[]): string[] {
	const header: Row = {
		figure: 'figure',
		p50: 'median',
		tail: 'tail',
		target: 'target',
		met: 'met',
	};
	const keys = ['figure', 'p50', 'tail', 'target', 'met'] as const;
	const widths = keys.map((k) => Math.max(...[header, ...rows].map((r) => r[k].length)));
	const line = (r: Row) =>
		keys
			.map((k, i) => r[k].padEnd(widths[i]!))
			.join('  ')
			.trimEnd();
	return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)];
}
