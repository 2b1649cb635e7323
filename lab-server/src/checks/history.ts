/**
 * Commands the learner ran, as the checks see them in `~/.bash_history` — text the learner
 * controls, so every test here is linear in the line's length: a line is split into commands and
 * words once, and each command is matched word by word. Lines longer than MAX_LINE are not
 * commands anyone typed for the course and are skipped. See checks.test.ts and redos.test.ts.
 */

/** History lines longer than this are skipped (no course command is anywhere near it). */
export const MAX_LINE = 4096;

/** The patterns used on learner text here; redos.test.ts proves each one linear. */
export const HISTORY_PATTERNS = {
	/** Separators between commands on one line: `;`, `&&`, `||`, `|`, `&`. */
	separators: /[;&|]+/,
	words: /\s+/,
	/** `/var/log/messages` or `/var/log/syslog`. */
	syslogFile: /\/var\/log\/(?:messages|syslog)\b/,
	grep: /grep\b/,
	journalctl: /\bjournalctl\b/,
	keepalived: /keepalived/i,
} as const;

/** A test of one command (no separators in it), as typed. */
export type CommandTest = (command: string) => boolean;

/**
 * `keepalived -v` or `--version` as a command of its own, with or without sudo (and its
 * options, `-u root` included) and a path: the options before `-v` may be any, the program must
 * be keepalived itself (`echo keepalived -v` is not it).
 */
export const isVersionCommand: CommandTest = (command) => {
	const words = command.trim().split(HISTORY_PATTERNS.words);
	let i = 0;
	if (words[0] === 'sudo') {
		i = 1;
		while (words[i]?.startsWith('-')) {
			// `-u root`: the option's value is the next word (`-uroot` is one word).
			i += /^-[ugh]$/.test(words[i]!) ? 2 : 1;
		}
	}
	const program = words[i] ?? '';
	if (program !== 'keepalived' && !program.endsWith('/keepalived')) return false;
	for (const word of words.slice(i + 1)) {
		if (word === '-v' || word === '--version') return true;
		if (!word.startsWith('-')) return false;
	}
	return false;
};

/** keepalived's log read from syslog's file with grep, or from the journal. */
export const isLogCommand: CommandTest = (line) => {
	const { syslogFile, grep, journalctl, keepalived } = HISTORY_PATTERNS;
	if (syslogFile.test(line) && grep.test(line)) return true;
	const journal = journalctl.exec(line);
	return journal !== null && keepalived.test(line.slice(journal.index));
};

/**
 * Whether a history line, or one command of it (split at `;`, `&&`, `||`, `|`), passes one of
 * `tests`. Each test sees the whole line and each command of it.
 */
export function historyHas(history: string, tests: readonly CommandTest[]): boolean {
	return history.split('\n').some((line) => {
		if (line.length > MAX_LINE) return false;
		const commands = [line, ...line.split(HISTORY_PATTERNS.separators)];
		return tests.some((test) => commands.some((command) => test(command)));
	});
}
