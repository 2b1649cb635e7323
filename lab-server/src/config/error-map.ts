import type { ZodIssue } from 'zod';

/**
 * One zod issue as one line for whoever sent the input, naming the field, what was expected and
 * what came: `PORT: expected an integer from 0 to 65535, got "abc"`. Like Starlight's
 * `utils/error-map.ts`, it replaces zod's defaults ("Expected number, received nan") with text a
 * person fixing an environment variable or a request body can act on. Issues a schema raised
 * itself (`ctx.addIssue`, `.refine`) carry their own message, which is kept.
 *
 * `input` is what was parsed, to quote the offending value; leave a secret out of it and the
 * line says nothing of its value. `root` names the input itself when the path is empty.
 */
export function describeIssue(issue: ZodIssue, input: unknown, root = 'value'): string {
	const where = issue.path.length > 0 ? issue.path.join('.') : root;
	const received = valueAt(input, issue.path);
	const got = received === undefined ? '' : `, got ${quote(received)}`;
	switch (issue.code) {
		case 'invalid_type':
			return issue.received === 'undefined'
				? `${where}: required`
				: `${where}: expected ${article(issue.expected)}${got}`;
		case 'invalid_literal':
			return `${where}: expected ${quote(issue.expected)}${got}`;
		case 'invalid_enum_value':
		case 'invalid_union_discriminator':
			return `${where}: expected one of ${issue.options.map(quote).join(', ')}${got}`;
		case 'unrecognized_keys':
			return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(quote).join(', ')}`;
		case 'too_small':
		case 'too_big':
			return `${where}: expected ${bound(issue)}${got}`;
		case 'invalid_string':
			return `${where}: expected ${typeof issue.validation === 'string' ? `a valid ${issue.validation}` : 'a different format'}${got}`;
		default:
			return `${where}: ${issue.message}${got}`;
	}
}

const BOUND_WORDS = {
	too_small: { inclusive: 'at least', exclusive: 'more than' },
	too_big: { inclusive: 'at most', exclusive: 'less than' },
} as const;

function bound(issue: Extract<ZodIssue, { code: 'too_small' | 'too_big' }>): string {
	const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
	const words = BOUND_WORDS[issue.code];
	const side = issue.exact ? 'exactly' : issue.inclusive ? words.inclusive : words.exclusive;
	switch (issue.type) {
		case 'string':
			return `${side} ${limit} character${limit === 1 ? '' : 's'}`;
		case 'array':
		case 'set':
			return `${side} ${limit} item${limit === 1 ? '' : 's'}`;
		case 'date':
			return `a date ${side} ${new Date(limit).toISOString()}`;
		default:
			return `${side} ${limit}`;
	}
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
	let value = input;
	for (const key of path) {
		if (typeof value !== 'object' || value === null) return undefined;
		value = (value as Record<string | number, unknown>)[key];
	}
	return value;
}

/** JSON for short values; long ones are cut so one bad field cannot flood the message. */
function quote(value: unknown): string {
	const json = JSON.stringify(value) ?? String(value);
	return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function article(type: string): string {
	return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
