/**
 * One environment variable of the configuration (config.ts): its name, the schema its text goes
 * through, whether it is a secret; and the kinds of value a variable takes (an integer in a
 * range, minutes, one of a list …), each built on `parsed` so that every problem reads alike.
 */
import { z } from 'zod';

export const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export interface Variable<S extends z.ZodTypeAny = z.ZodTypeAny> {
	readonly env: string;
	readonly schema: S;
	readonly secret?: boolean;
}

export function variable<S extends z.ZodTypeAny>(
	env: string,
	schema: S,
	options: { secret?: boolean } = {},
): Variable<S> {
	return { env, schema, ...options };
}

/**
 * The schema of one variable: unset gives `fallback`, text goes through `parse`, whose thrown
 * message ("expected …") becomes the variable's problem. Every helper below builds on it so all
 * problems read alike.
 */
export function parsed<T>(fallback: T, parse: (raw: string) => T) {
	return z
		.string()
		.optional()
		.transform((raw, ctx): T => {
			if (raw === undefined) return fallback;
			try {
				return parse(raw);
			} catch (error) {
				ctx.addIssue({ code: 'custom', message: (error as Error).message });
				return z.NEVER;
			}
		});
}

export function integer(min: number, max: number, fallback: number) {
	return parsed(fallback, (raw) => {
		const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
		if (!(value >= min && value <= max)) {
			throw new Error(`expected an integer from ${min} to ${max}`);
		}
		return value;
	});
}

export function decimal(min: number, max: number, fallback: number) {
	return parsed(fallback, (raw) => {
		const value = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
		if (!(value >= min && value <= max)) throw new Error(`expected a number from ${min} to ${max}`);
		return value;
	});
}

export function minutes(min: number, max: number, fallback: number) {
	return integer(min, max, fallback).transform((value) => value * MINUTE_MS);
}

export function days(min: number, max: number, fallback: number) {
	return integer(min, max, fallback).transform((value) => value * DAY_MS);
}

export function seconds(min: number, max: number, fallback: number) {
	return integer(min, max, fallback).transform((value) => value * 1_000);
}

export function text(fallback: string) {
	return parsed(fallback, (raw) => raw);
}

export function oneOf<const T extends readonly string[]>(values: T, fallback: T[number]) {
	return parsed<T[number]>(fallback, (raw) => {
		const value = values.find((candidate) => candidate === raw.trim().toLowerCase());
		if (value === undefined) {
			throw new Error(`expected one of ${values.map((v) => `"${v}"`).join(', ')}`);
		}
		return value;
	});
}

export function boolean(fallback: boolean) {
	return parsed(fallback, (raw) => {
		const value = raw.trim().toLowerCase();
		if (value === 'true' || value === '1') return true;
		if (value === 'false' || value === '0') return false;
		throw new Error('expected "true" or "false"');
	});
}
