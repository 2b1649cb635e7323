/**
 * The lab server's HTTP API as the browser sees it (same origin; the lab's token travels in the
 * httpOnly cookie the server sets on `POST /api/labs`). Shapes mirror `.notes/contracts.md`; the
 * answer is checked once here, so the panel works with typed values only.
 */
import type { NodeName } from './lab-state';

export type KeepalivedState = 'MASTER' | 'BACKUP' | 'FAULT' | 'stopped' | 'absent';

export interface LabNode {
	name: NodeName;
	ip: string;
	state: 'running' | 'paused' | 'stopped' | 'starting';
	keepalived?: KeepalivedState;
}

export interface Lab {
	id: string;
	vip: string;
	subnet: string;
	nodes: LabNode[];
	/** ISO time */
	expiresAt: string;
	vipHolder?: NodeName | null;
}

/**
 * A failed call. `status` 0 means the request never got an answer (server down, network);
 * `message` is the server's Russian `error.message` when it sent one.
 */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		readonly serverMessage: string | null,
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

export async function resetLab(id: string, node?: NodeName): Promise<Lab> {
	return asLab(await request('POST', `${labPath(id)}/reset`, node ? { node } : {}));
}

export function labEventsUrl(id: string): string {
	return `${labPath(id)}/events`;
}

export function terminalUrl(id: string, node: NodeName, term: string): string {
	const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
	return `${scheme}//${location.host}${labPath(id)}/terminals/${node}?term=${encodeURIComponent(term)}`;
}

function labPath(id: string): string {
	return `/api/labs/${encodeURIComponent(id)}`;
}

async function request(method: string, path: string, body?: unknown): Promise<unknown> {
	let response: Response;
	try {
		response = await fetch(path, {
			method,
			credentials: 'same-origin',
			headers:
				body === undefined
					? { accept: 'application/json' }
					: { accept: 'application/json', 'content-type': 'application/json' },
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
		throw new ApiError(
			response.status,
			typeof error?.code === 'string' ? error.code : 'http',
			typeof error?.message === 'string' ? error.message : null,
		);
	}
	return json;
}

function asLab(json: unknown): Lab {
	if (
		isObject(json) &&
		typeof json.id === 'string' &&
		typeof json.vip === 'string' &&
		typeof json.subnet === 'string' &&
		typeof json.expiresAt === 'string' &&
		Array.isArray(json.nodes) &&
		json.nodes.every(
			(n) => isObject(n) && (n.name === 'hap1' || n.name === 'hap2') && typeof n.ip === 'string',
		)
	) {
		return json as unknown as Lab;
	}
	throw new ApiError(200, 'bad-response', null);
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null;
}
