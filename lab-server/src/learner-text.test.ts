/**
 * Text that learners control — their shell history, their keepalived.conf, whatever a binary
 * they replaced prints, the body their haproxy answers the meter with — is read only by
 * patterns that run in linear time: one line of it must never stall the event loop that every
 * learner's terminal shares. Each pattern goes through recheck (a ReDoS checker), and the
 * functions that use them through pathological inputs under a generous time bound (an
 * exponential pattern takes minutes on these, a linear one microseconds).
 */
import { checkSync } from 'recheck';
import { describe, expect, it } from 'vitest';
import { CONF_TEST_PATTERNS, configTestProblems } from './checks/conf-problems';
import {
	HISTORY_PATTERNS,
	historyHas,
	isLogCommand,
	isVersionCommand,
	MAX_LINE,
} from './checks/history';
import { PROBE_OUTPUT_PATTERNS } from './checks/judges';
import { CONF_PATTERNS, parseKeepalivedConf, summarizeConf } from './checks/keepalived-conf';
import { LOG_PREFIX } from './drills/outcome';
import { PROBE_LINE, parseProbeLine } from './drills/outages';

const PATTERNS: Record<string, RegExp> = {
	...prefixed('history', HISTORY_PATTERNS),
	...prefixed('probe output', PROBE_OUTPUT_PATTERNS),
	...prefixed('keepalived.conf', CONF_PATTERNS),
	...prefixed('keepalived -t', CONF_TEST_PATTERNS),
	'meter probe line': PROBE_LINE,
	'journal line prefix': LOG_PREFIX,
};

/** Well above what a linear pass over these inputs takes, far below what backtracking needs. */
const BOUND_MS = 500;

describe('patterns on learner text', () => {
	it.each(Object.entries(PATTERNS))('%s is linear (recheck)', (_name, pattern) => {
		const diagnostics = checkSync(pattern.source, pattern.flags);
		expect(diagnostics.status, JSON.stringify(diagnostics)).toBe('safe');
	});

	it('the patterns recheck finds exponential are caught (the checker works)', () => {
		// The pattern that froze the server: `sudo -uu -uu … x` backtracks exponentially.
		const old =
			/^\s*(?:sudo(?:\s+(?:-[ugh]\s*\S+|-\S+))*\s+)?(?:\S*\/)?keepalived(?:\s+-\S+)*?\s+(?:-v|--version)(?=\s|$)/;
		expect(checkSync(old.source, old.flags).status).toBe('vulnerable');
	});
});

describe('readers of learner text, on pathological input', () => {
	const timed = <T>(run: () => T): { value: T; ms: number } => {
		const started = performance.now();
		const value = run();
		return { value, ms: performance.now() - started };
	};

	it('history: the ReDoS line, thousands of options, a huge line', () => {
		const redos = `sudo ${'-uu '.repeat(1000)}x`.slice(0, MAX_LINE);
		const options = `keepalived ${'-x '.repeat(1300)}`;
		const huge = `${'a'.repeat(1 << 20)} keepalived -v`;
		const separators = `${'&|;'.repeat(1300)}`;
		const journal = `${'journalctl '.repeat(370)}`;
		const history = [redos, options, huge, separators, journal].join('\n');
		const { value, ms } = timed(() => historyHas(history, [isVersionCommand, isLogCommand]));
		expect(value).toBe(false);
		expect(ms).toBeLessThan(BOUND_MS);
		expect(historyHas(`${history}\nsudo keepalived -v`, [isVersionCommand])).toBe(true);
	});

	it('keepalived.conf: 64 KiB of braces, quotes, comments and one long word', () => {
		for (const text of [
			'{'.repeat(65_536),
			'"'.repeat(65_536),
			'vrrp_instance x {\n'.repeat(3_000),
			`global_defs { ${'!#'.repeat(30_000)}`,
			'a'.repeat(65_536),
			' '.repeat(65_536),
		]) {
			const { ms } = timed(() => summarizeConf(parseKeepalivedConf(text)));
			expect(ms).toBeLessThan(BOUND_MS);
		}
	});

	it('keepalived -t output and the meter: long garbage lines', () => {
		const output = `(${'x'.repeat(100_000)}: \n`.repeat(10) + `${'.'.repeat(100_000)}\n`;
		expect(timed(() => configTestProblems({ hap1: { code: 5, output } })).ms).toBeLessThan(
			BOUND_MS,
		);
		const line = `1 1795623263473 1795623263479 fail 7 ${' '.repeat(100_000)}x`;
		expect(timed(() => parseProbeLine(line)).ms).toBeLessThan(BOUND_MS);
		expect(
			timed(() => `${'Keepalived_vrr'.repeat(10_000)}`.replace(LOG_PREFIX, '')).ms,
		).toBeLessThan(BOUND_MS);
	});
});

function prefixed(prefix: string, patterns: Record<string, RegExp>): Record<string, RegExp> {
	return Object.fromEntries(Object.entries(patterns).map(([k, v]) => [`${prefix}: ${k}`, v]));
}
