/**
 * keepalived.conf as the course reads it — the one reader of it in the server: a small tolerant
 * parser for keepalived's block syntax, and the few facts of a config the guide cares about.
 * keepalived itself (`keepalived -t`) judges syntax; conf-problems.ts judges intent from these
 * facts: two configs can each be valid and still never form a cluster.
 *
 * The grammar, as keepalived 2.2.7 reads it: whitespace-separated tokens; `!` or `#` at the start
 * of a token begins a comment (at the start of a line or after a value); `"…"` is one token;
 * `{` and `}` are tokens of their own even when written against a word (`hap_srv{`), and a
 * block's `{` may stand on the next line.
 */

/** The patterns this reader runs on the config (learner text); learner-text.test.ts. */
export const CONF_PATTERNS = {
	lines: /\r?\n/,
	/** One token at a time from the current position (sticky): quoted, brace, comment or word. */
	token: /\s*(?:"([^"]*)"?|([{}])|([!#])|([^\s{}"]+))/y,
	number: /^\d+$/,
} as const;

/** One statement: a keyword with its arguments, and for a block the statements inside it. */
export interface ConfStatement {
	keyword: string;
	args: string[];
	/** 1-based, as keepalived numbers lines in its messages. */
	line: number;
	/** What is inside `{ … }`; null for a plain statement. */
	block: ConfStatement[] | null;
}

/**
 * Parses keepalived.conf into statements. Never throws: a block left open ends at the end of the
 * text and an extra `}` is skipped (`keepalived -t` reports both; this parser only reads intent).
 */
export function parseKeepalivedConf(text: string): ConfStatement[] {
	const root: ConfStatement[] = [];
	const stack: ConfStatement[][] = [root];
	text.split(CONF_PATTERNS.lines).forEach((source, index) => {
		const line = index + 1;
		let pending: string[] = [];
		const level = () => stack[stack.length - 1]!;
		const flush = () => {
			if (pending.length > 0) {
				level().push({ keyword: pending[0]!, args: pending.slice(1), line, block: null });
			}
			pending = [];
		};
		for (const token of tokenize(source)) {
			if (token === '{') {
				let owner: ConfStatement | undefined;
				if (pending.length > 0) {
					owner = { keyword: pending[0]!, args: pending.slice(1), line, block: [] };
					level().push(owner);
					pending = [];
				} else {
					// `vrrp_instance hap_srv` on one line and `{` on the next: the block is the
					// previous statement's. A `{` with nothing before it at all opens an anonymous
					// block, so that its `}` still balances.
					const previous = level().at(-1);
					owner =
						previous && previous.block === null
							? previous
							: { keyword: '', args: [], line, block: null };
					if (owner !== previous) level().push(owner);
					owner.block = [];
				}
				stack.push(owner.block!);
			} else if (token === '}') {
				flush();
				if (stack.length > 1) stack.pop();
			} else {
				pending.push(token);
			}
		}
		flush();
	});
	return root;
}

/** The parts of one `vrrp_instance` the guide's intent is about. */
export interface VrrpInstance {
	name: string;
	line: number;
	/** `MASTER`, `BACKUP`, anything else as written, or null when absent (keepalived: BACKUP). */
	state: string | null;
	nopreempt: boolean;
	interface: string | null;
	virtualRouterId: string | null;
	/** As written; keepalived's default is 1 (second). */
	advertInt: string | null;
	/** The addresses of `virtual_ipaddress`, without prefix length: `10.129.0.10`. */
	virtualIps: string[];
	/** Whether the instance has a `virtual_ipaddress` block at all. */
	hasVirtualIpBlock: boolean;
	/** The names listed in `track_script` blocks. */
	trackScripts: string[];
}

/** What the checks need to know about one node's keepalived.conf. */
export interface ConfSummary {
	enableScriptSecurity: boolean;
	/** The user of `script_user` in global_defs, or null. */
	scriptUser: string | null;
	/** Names of the `vrrp_script` blocks. */
	vrrpScripts: string[];
	instances: VrrpInstance[];
}

export function summarizeConf(statements: ConfStatement[]): ConfSummary {
	const globals = statements.filter((s) => s.keyword === 'global_defs').flatMap(inside);
	return {
		enableScriptSecurity: globals.some((s) => s.keyword === 'enable_script_security'),
		scriptUser: globals.findLast((s) => s.keyword === 'script_user')?.args[0] ?? null,
		vrrpScripts: statements
			.filter((s) => s.keyword === 'vrrp_script' && s.args[0] !== undefined)
			.map((s) => s.args[0]!),
		instances: statements.filter((s) => s.keyword === 'vrrp_instance').map(instanceOf),
	};
}

/**
 * The first number-valued `keyword` anywhere in the config (depth first, in file order), or
 * null: what the drills read (`virtual_router_id`, `advert_int`, `priority`, …).
 */
export function configValue(text: string, keyword: string): number | null {
	return firstNumber(parseKeepalivedConf(text), keyword);
}

function firstNumber(statements: ConfStatement[], keyword: string): number | null {
	for (const statement of statements) {
		const arg = statement.args[0] ?? '';
		if (statement.keyword === keyword && CONF_PATTERNS.number.test(arg)) return Number(arg);
		const inner = statement.block ? firstNumber(statement.block, keyword) : null;
		if (inner !== null) return inner;
	}
	return null;
}

function tokenize(line: string): string[] {
	const tokens: string[] = [];
	const pattern = new RegExp(CONF_PATTERNS.token.source, 'gy');
	let match: RegExpExecArray | null;
	while ((match = pattern.exec(line)) !== null && match[0] !== '') {
		const [, quoted, brace, comment, word] = match;
		if (comment !== undefined) break;
		tokens.push(quoted ?? brace ?? word!);
	}
	return tokens;
}

export function inside(statement: ConfStatement): ConfStatement[] {
	return statement.block ?? [];
}

function instanceOf(statement: ConfStatement): VrrpInstance {
	const body = inside(statement);
	const value = (keyword: string) => body.findLast((s) => s.keyword === keyword)?.args[0] ?? null;
	const blocks = (keyword: string) => body.filter((s) => s.keyword === keyword && s.block);
	return {
		name: statement.args[0] ?? '',
		line: statement.line,
		state: value('state'),
		nopreempt: body.some((s) => s.keyword === 'nopreempt'),
		interface: value('interface'),
		virtualRouterId: value('virtual_router_id'),
		advertInt: value('advert_int'),
		// `10.129.0.10/24 dev eth0 label eth0:1`: the address is the first word.
		virtualIps: blocks('virtual_ipaddress')
			.flatMap(inside)
			.map((s) => s.keyword.split('/')[0]!),
		hasVirtualIpBlock: blocks('virtual_ipaddress').length > 0,
		trackScripts: blocks('track_script')
			.flatMap(inside)
			.map((s) => s.keyword),
	};
}
