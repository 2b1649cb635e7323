/** Reading the API's answers in tests and benchmarks. */
import type { ErrorBody } from '../src/api';
import { HttpError } from '../src/http/errors';

/** The `error` of an error answer (`{ error: { code, message } }`). */
export async function errorOf(res: Response): Promise<ErrorBody['error']> {
	return ((await res.json()) as ErrorBody).error;
}

/** The HttpError `fn` throws, as `status code`; `none` when it throws nothing. */
export function refusal(fn: () => void): string {
	try {
		fn();
	} catch (error) {
		if (error instanceof HttpError) return `${error.status} ${error.code}`;
		throw error;
	}
	return 'none';
}
