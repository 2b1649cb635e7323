/** Reading the API's answers in tests and benchmarks. */
import type { ErrorBody } from '../src/api';

/** The `error` of an error answer (`{ error: { code, message } }`). */
export async function errorOf(res: Response): Promise<ErrorBody['error']> {
	return ((await res.json()) as ErrorBody).error;
}
