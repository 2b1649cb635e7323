import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssue } from './error-map';

/** The lines `describeIssue` gives for `input` parsed by `schema`. */
function linesFor(schema: z.ZodTypeAny, input: unknown, root?: string): string[] {
	const result = schema.safeParse(input);
	if (result.success) throw new Error(`expected ${JSON.stringify(input)} to fail`);
	return result.error.issues.map((issue) => describeIssue(issue, input, root));
}

const body = z
	.object({
		name: z.string().min(2).max(5),
		node: z.enum(['hap1', 'hap2']),
		count: z.number().int().positive().max(10),
		tags: z.array(z.string()).min(1),
		kind: z.literal('drill'),
		when: z.date().min(new Date('2020-01-01T00:00:00Z')),
		url: z.string().url(),
		extra: z.object({ deep: z.boolean() }),
	})
	.strict();

describe('describeIssue', () => {
	it('names the field, the expectation and the value for each kind of issue', () => {
		expect(
			linesFor(body, {
				name: 'x',
				node: 'hap3',
				count: 11,
				tags: [],
				kind: 'quiz',
				when: new Date('2019-01-01T00:00:00Z'),
				url: 'not a url',
				extra: { deep: 'yes' },
				surprise: 1,
			}),
		).toMatchInlineSnapshot(`
			[
			  "name: expected at least 2 characters, got "x"",
			  "node: expected one of "hap1", "hap2", got "hap3"",
			  "count: expected at most 10, got 11",
			  "tags: expected at least 1 item, got []",
			  "kind: expected "drill", got "quiz"",
			  "when: expected a date at least 2020-01-01T00:00:00.000Z, got "2019-01-01T00:00:00.000Z"",
			  "url: expected a valid url, got "not a url"",
			  "extra.deep: expected a boolean, got "yes"",
			  "value: unknown field "surprise"",
			]
		`);
	});

	it('says "required" for a missing field and quotes nothing', () => {
		expect(linesFor(z.object({ node: z.string() }), {})).toEqual(['node: required']);
	});

	it('describes type mismatches with the right article', () => {
		expect(
			linesFor(z.object({ a: z.object({}), b: z.string(), c: z.number().int() }), {
				a: 1,
				b: 2,
				c: 1.5,
			}),
		).toEqual([
			'a: expected an object, got 1',
			'b: expected a string, got 2',
			'c: expected an integer, got 1.5',
		]);
	});

	it('uses the root label for the input itself', () => {
		expect(linesFor(z.object({}), null, 'body')).toEqual(['body: expected an object, got null']);
		expect(linesFor(z.string(), 5)).toEqual(['value: expected a string, got 5']);
	});

	it('keeps a message the schema gave and indexes into arrays', () => {
		const schema = z.array(
			z.string().refine((s) => s.startsWith('/'), 'expected an absolute path'),
		);
		expect(linesFor(schema, ['/ok', 'rel'])).toEqual(['1: expected an absolute path, got "rel"']);
	});

	it('cuts long values short', () => {
		const [line] = linesFor(z.object({ a: z.number() }), { a: 'x'.repeat(500) });
		expect(line).toBe(`a: expected a number, got "${'x'.repeat(56)}...`);
	});
});
