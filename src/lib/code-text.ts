/**
 * Text helpers for code shown in the course (build time and client alike; no DOM).
 */

/** Drops leading blank lines and trailing whitespace, so `code={`\n…\n`}` renders tight. */
export function tidyCode(code: string): string {
	return code.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/\s+$/, '');
}

/**
 * The command that writes `content` to `path` through sudo, on one line a learner could type:
 * `printf '%s\n' 'line 1' 'line 2' … | sudo tee PATH > /dev/null`. Each line is single-quoted, so
 * nothing in the file is expanded; one line, so the terminal shows it as typed (a multi-line
 * heredoc pasted into readline is redrawn over itself and reads garbled).
 */
export function writeFileCommand(path: string, content: string): string {
	const lines = content.split('\n').map((line) => `'${line.replace(/'/g, `'\\''`)}'`);
	return `printf '%s\\n' ${lines.join(' ')} | sudo tee ${shellQuote(path)} > /dev/null`;
}

/** Leaves a plain path as it is; quotes one with spaces or shell characters. */
export function shellQuote(word: string): string {
	return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
