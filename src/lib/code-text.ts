/**
 * Text helpers for code shown in the course (build time and client alike; no DOM).
 */

/** Drops leading blank lines and trailing whitespace, so `code={`\n…\n`}` renders tight. */
export function tidyCode(code: string): string {
	return code.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/\s+$/, '');
}

/**
 * The command that writes `content` to `path` through sudo, as a quoted heredoc (no expansion of
 * `$` or backticks in the file). The delimiter is `EOF` unless the file has a line `EOF` itself.
 */
export function heredocCommand(path: string, content: string): string {
	const lines = new Set(content.split('\n'));
	let delimiter = 'EOF';
	for (let n = 1; lines.has(delimiter); n++) delimiter = `EOF_${n}`;
	return `sudo tee ${shellQuote(path)} > /dev/null <<'${delimiter}'\n${content}\n${delimiter}`;
}

/** Leaves a plain path as it is; quotes one with spaces or shell characters. */
export function shellQuote(word: string): string {
	return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
