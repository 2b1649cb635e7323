/**
 * The lab server's HTTP API as the browser sees it (same origin; the lab's token travels in the
 * httpOnly cookie the server sets on `POST /api/labs`). The shapes are the server's own
 * (`lab-server/src/api/`); each answer is checked once here, so the panel works with typed values.
 */
import {
	isCheckId,
	isLabNode,
	type CheckResult,
	type CompletedStep,
	type LabNode,
	type LabView,
} from '../../lab-server/src/api';

export type { CheckResult, CompletedStep };
/** A lab, as the server shows it. */
export type Lab = LabView;

/**
 * A failed call. `status` 0 means the request never got an answer (server down, network);
 * `message` is the server's Russian `error.message` when it sent one.
 */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		readonly serverMessage: string | null,
		/** `Retry-After` in seconds and, for `no-capacity`, the place in the waiting line. */
		readonly retry: { afterS: number; position: number | null } | null = null,
	) {
		super(serverMessage ?? `lab API answered ${status} (${code})`);
		this.name = 'ApiError';
	}

	/** The lab no longer exists for us (expired, deleted, or the cookie is gone). */
	get labGone(): boolean {
		return this.status === 404 || this.status === 401 || this.status === 403 || this.status === 410;
	}
}

export async function createLab(): Promise<Lab> {
	return asLab(await request('POST', '/api/labs', {}));
}

export async function getLab(id: string): Promise<Lab> {
	return asLab(await request('GET', labPath(id)));
}

export async function extendLab(id: string): Promise<Lab> {
	return asLab(await request('POST', `${labPath(id)}/extend`, {}));
}

/** «Продолжить»: starts a stopped lab's nodes again; resolves once they run. */
export async function resumeLab(id: string): Promise<Lab> {
	return asLab(await request('POST', `${labPath(id)}/resume`, {}));
}

export async function deleteLab(id: string): Promise<void> {
	await request('DELETE', labPath(id));
}

export async function resetLab(id: string, node?: LabNode): Promise<Lab> {
	return asLab(await request('POST', `${labPath(id)}/reset`, node ? { node } : {}));
}

/** Every check of the lab, in course order (the server runs them now). */
export async function getChecks(id: string): Promise<CheckResult[]> {
	return asCheckResults(await request('GET', `${labPath(id)}/checks`));
}

/** Runs the guide's commands of every step up to the one `checkId` verifies, on both nodes. */
export async function completeCheck(id: string, checkId: string): Promise<CompletedStep> {
	const json = await request(
		'POST',
		`${labPath(id)}/checks/${encodeURIComponent(checkId)}/complete`,
		{},
	);
	if (
		isObject(json) &&
		Array.isArray(json.commands) &&
		json.commands.every((c) => typeof c === 'string')
	) {
		return {
			commands: json.commands as string[],
			checks: asCheckResults(json.checks),
			election: asElection(json.election),
		};
	}
	throw new ApiError(200, 'bad-response', null);
}

/** An autopilot answer's `election`; null when absent or not one. */
function asElection(value: unknown): CompletedStep['election'] {
	return isObject(value) &&
		typeof value.ms === 'number' &&
		Number.isFinite(value.ms) &&
		Array.isArray(value.checks) &&
		value.checks.every(isCheckId)
		? { checks: value.checks, ms: value.ms }
		: null;
}

/** A check result from the server (an answer or a `check` event), or null when it is not one. */
export function asCheckResult(value: unknown): CheckResult | null {
	return isObject(value) &&
		typeof value.id === 'string' &&
		typeof value.step === 'string' &&
		typeof value.title === 'string' &&
		typeof value.message === 'string' &&
		isCheckId(value.id) &&
		(value.status === 'pass' || value.status === 'fail' || value.status === 'pending')
		? (value as unknown as CheckResult)
		: null;
}

function asCheckResults(json: unknown): CheckResult[] {
	const results = Array.isArray(json) ? json.map(asCheckResult) : [null];
	if (results.some((r) => r === null)) throw new ApiError(200, 'bad-response', null);
	return results as CheckResult[];
}

export function labEventsUrl(id: string): string {
	return `${labPath(id)}/events`;
}

export function terminalUrl(id: string, node: LabNode, term: string): string {
	const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
	return `${scheme}//${location.host}${labPath(id)}/terminals/${node}?term=${encodeURIComponent(term)}`;
}

export function labPath(id: string): string {
	return `/api/labs/${encodeURIComponent(id)}`;
}

/**
 * A same-origin JSON call (`headers` add to the JSON ones, e.g. an instructor's Bearer); a failure
 * throws ApiError with the server's Russian message.
 */
export async function request(
	method: string,
	path: string,
	body?: unknown,
	headers?: Record<string, string>,
): Promise<unknown> {
	let response: Response;
	try {
		response = await fetch(path, {
			method,
			credentials: 'same-origin',
			headers: {
				accept: 'application/json',
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
				...headers,
			},
			body: body === undefined ? null : JSON.stringify(body),
		});
	} catch {
		throw new ApiError(0, 'network', null);
	}
	let json: unknown = null;
	try {
		json = await response.json();
	} catch {
		// Not JSON: a proxy's or a static server's error page. Handled below by status.
	}
	if (!response.ok) {
		const error = isObject(json) && isObject(json.error) ? json.error : null;
		const afterS = Number(response.headers.get('retry-after'));
		throw new ApiError(
			response.status,
			typeof error?.code === 'string' ? error.code : 'http',
			typeof error?.message === 'string' ? error.message : null,
			Number.isFinite(afterS) && afterS > 0
				? { afterS, position: typeof error?.position === 'number' ? error.position : null }
				: null,
		);
	}
	return json;
}

/** The answer as a `Lab`, or ApiError `bad-response` when it is not one. */
export function asLab(json: unknown): Lab {
	if (
		isObject(json) &&
		typeof json.id === 'string' &&
		typeof json.vip === 'string' &&
		typeof json.subnet === 'string' &&
		typeof json.expiresAt === 'string' &&
		(json.status === 'running' || json.status === 'stopped' || json.status === 'starting') &&
		Array.isArray(json.nodes) &&
		json.nodes.every((n) => isObject(n) && isLabNode(n.name) && typeof n.ip === 'string')
	) {
		return json as unknown as Lab;
	}
	throw new ApiError(200, 'bad-response', null);
}

export function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null;
}
