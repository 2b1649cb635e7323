import type { ZodType, ZodTypeDef } from 'zod';
import type { ErrorBody } from '../api';
import { describeIssue } from '../config/error-map';

export type { ErrorBody };

export interface HttpErrorOptions {
	cause?: unknown;
	/** Headers of the answer, e.g. `Retry-After`. */
	headers?: Record<string, string>;
	/** More fields of `error` for programs (e.g. `position` in the waiting line). */
	details?: Record<string, string | number>;
}

/**
 * An error that becomes an HTTP answer: throw it anywhere in a handler and the server answers
 * `status` with `{ error: { code, message } }`. Anything else thrown becomes a 500 that says
 * nothing of its insides.
 */
export class HttpError extends Error {
	override readonly name = 'HttpError';
	readonly status: number;
	readonly code: string;
	readonly headers: Record<string, string>;
	readonly details: Record<string, string | number>;

	constructor(status: number, code: string, message: string, options: HttpErrorOptions = {}) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		if (!Number.isInteger(status) || status < 400 || status > 599) {
			throw new TypeError(
				`HttpError: "status" must be an HTTP error status 400..599, got ${status}`,
			);
		}
		if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(code)) {
			throw new TypeError(`HttpError: "code" must be kebab-case, got ${JSON.stringify(code)}`);
		}
		this.status = status;
		this.code = code;
		this.headers = options.headers ?? {};
		this.details = options.details ?? {};
	}

	get body(): ErrorBody {
		return { error: { ...this.details, code: this.code, message: this.message } };
	}
}

export function errorBody(code: string, message: string): ErrorBody {
	return { error: { code, message } };
}

const INTERNAL_ERROR_MESSAGE =
	'Внутренняя ошибка сервера. Попробуйте ещё раз; если не поможет, сообщите преподавателю.';

/**
 * The status and body to answer for anything a handler threw. Only an `HttpError`'s message
 * reaches the client; the caller logs the rest.
 */
export function errorResponse(error: unknown): {
	status: number;
	body: ErrorBody;
	headers: Record<string, string>;
} {
	return error instanceof HttpError
		? { status: error.status, body: error.body, headers: error.headers }
		: { status: 500, body: errorBody('internal-error', INTERNAL_ERROR_MESSAGE), headers: {} };
}

/**
 * Parses a request body with `schema`; a body that does not fit is a 400 `bad-request` whose
 * message lists every bad field, e.g. `Некорректный запрос: node: expected one of "hap1",
 * "hap2", got "hap3"`.
 */
export function parseBody<T>(schema: ZodType<T, ZodTypeDef, unknown>, body: unknown): T {
	const result = schema.safeParse(body);
	if (result.success) return result.data;
	const problems = result.error.issues.map((issue) => describeIssue(issue, body, 'body'));
	throw new HttpError(400, 'bad-request', `Некорректный запрос: ${problems.join('; ')}`, {
		cause: result.error,
	});
}
