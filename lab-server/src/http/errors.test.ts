import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HttpError, errorBody, errorResponse, parseBody } from './errors';

describe('HttpError', () => {
	it('carries status, code and a JSON body', () => {
		const error = new HttpError(404, 'lab-not-found', 'Лаборатория не найдена');
		expect(error).toBeInstanceOf(Error);
		expect(error.name).toBe('HttpError');
		expect([error.status, error.code, error.message]).toEqual([
			404,
			'lab-not-found',
			'Лаборатория не найдена',
		]);
		expect(error.body).toEqual({
			error: { code: 'lab-not-found', message: 'Лаборатория не найдена' },
		});
	});

	it('refuses a status that is not an error or a code that is not kebab-case', () => {
		expect(() => new HttpError(200, 'ok', '')).toThrow(/"status"/);
		expect(() => new HttpError(404, 'LabNotFound', '')).toThrow(/"code" must be kebab-case/);
		expect(() => new HttpError(404, 'lab--not-found', '')).toThrow(TypeError);
	});
});

describe('errorResponse', () => {
	it('answers an HttpError as it says', () => {
		expect(errorResponse(new HttpError(429, 'too-many-labs', 'Слишком много лабораторий'))).toEqual(
			{
				status: 429,
				body: errorBody('too-many-labs', 'Слишком много лабораторий'),
				headers: {},
			},
		);
	});

	it('carries headers and details for programs (the waiting line)', () => {
		const error = new HttpError(503, 'no-capacity', 'Все стенды заняты', {
			headers: { 'Retry-After': '5' },
			details: { position: 3 },
		});
		expect(errorResponse(error)).toEqual({
			status: 503,
			body: { error: { code: 'no-capacity', message: 'Все стенды заняты', position: 3 } },
			headers: { 'Retry-After': '5' },
		});
	});

	it('answers anything else with a 500 that hides the details', () => {
		const { status, body } = errorResponse(new Error('ECONNREFUSED /var/run/docker.sock'));
		expect(status).toBe(500);
		expect(body.error.code).toBe('internal-error');
		expect(body.error.message).not.toContain('docker');
		expect(body.error.message).toMatch(/^Внутренняя ошибка сервера/);
		expect(errorResponse('a string').status).toBe(500);
	});
});

describe('parseBody', () => {
	const resetBody = z.object({ node: z.enum(['hap1', 'hap2']).optional() }).strict();

	it('returns the parsed body', () => {
		expect(parseBody(resetBody, { node: 'hap2' })).toEqual({ node: 'hap2' });
		expect(parseBody(resetBody, {})).toEqual({});
	});

	it('keeps what the schema transforms', () => {
		const schema = z.object({ name: z.string().trim() });
		expect(parseBody(schema, { name: '  Аня ' })).toEqual({ name: 'Аня' });
	});

	it('throws a 400 bad-request listing every bad field', () => {
		let thrown: unknown;
		try {
			parseBody(resetBody, { node: 'hap3', force: true });
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(HttpError);
		const error = thrown as HttpError;
		expect([error.status, error.code]).toEqual([400, 'bad-request']);
		expect(error.message).toMatchInlineSnapshot(
			`"Некорректный запрос: node: expected one of "hap1", "hap2", got "hap3"; body: unknown field "force""`,
		);
		expect(error.cause).toBeInstanceOf(z.ZodError);
	});

	it('names the body itself when it is not an object', () => {
		expect(() => parseBody(resetBody, undefined)).toThrow('Некорректный запрос: body: required');
		expect(() => parseBody(resetBody, 'hap1')).toThrow(
			'Некорректный запрос: body: expected an object, got "hap1"',
		);
	});
});
