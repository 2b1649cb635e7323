/**
 * Commands the learner ran, as the checks see them in `~/.bash_history` — text the learner
 * controls. Each history line is matched by the patterns below; see checks.test.ts for what they
 * accept and refuse.
 */

/** `keepalived -v` or `--version` as a command of its own, with or without sudo and a path. */
export const VERSION_COMMAND =
	/^\s*(?:sudo(?:\s+(?:-[ugh]\s*\S+|-\S+))*\s+)?(?:\S*\/)?keepalived(?:\s+-\S+)*?\s+(?:-v|--version)(?=\s|$)/;

/** keepalived's log read from syslog's file with grep, or from the journal. */
export const LOG_COMMANDS = [
	/^(?=.*\/var\/log\/(?:messages|syslog)\b)(?=.*grep\b)/,
	/\bjournalctl\b.*keepalived/i,
];

/**
 * Whether a history line, or one command of it (split at `;`, `&&`, `||`, `|`), matches one of
 * `patterns`: the command-anchored patterns see each command, the others the whole line.
 */
export function historyHas(history: string, patterns: readonly RegExp[]): boolean {
	return history.split('\n').some((line) => {
		const commands = [line, ...line.split(/[;&|]+/)];
		return patterns.some((pattern) => commands.some((command) => pattern.test(command)));
	});
}
