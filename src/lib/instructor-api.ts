/**
 * The instructor's own calls (types: `lab-server/src/api/workshops.ts`): signing in with the
 * server's secret, which leaves an httpOnly session cookie (the page never sees the token), and,
 * signed in, creating and listing workshops. Answers are checked once here.
 *
 * Which workshop the instructor page shows comes from its address: `?workshop=<id>` (opened with
 * the sign-in's cookie) or `#<id>.<token>` (a link with the workshop's own key, shared without a
 * sign-in); neither: the list of workshops.
 */
import {
	dashboardUrl,
	type CreatedWorkshop,
	type InstructorSession,
	type WorkshopSummary,
} from '../../lab-server/src/api';
import { ApiError, isObject, request } from './lab-api';

export type { WorkshopSummary };

const SESSION = '/api/instructor/session';

/** Whether this browser is signed in (503 `workshops-disabled` when the server has no secret). */
export async function getInstructorSession(): Promise<InstructorSession> {
	return asSession(await request('GET', SESSION));
}

/** Signs in: 403 for a wrong secret, 429 (with `retry`) after too many. */
export async function signIn(secret: string): Promise<InstructorSession> {
	return asSession(await request('POST', SESSION, { secret }));
}

export async function signOut(): Promise<void> {
	await request('DELETE', SESSION);
}

export async function createWorkshop(input: {
	title?: string;
	pool: number;
	seats?: number;
}): Promise<CreatedWorkshop> {
	const json = await request('POST', '/api/workshops', input);
	if (isObject(json) && typeof json.id === 'string' && typeof json.code === 'string') {
		return json as unknown as CreatedWorkshop;
	}
	throw new ApiError(200, 'bad-response', null);
}

/** The open workshops, the newest first. */
export async function listWorkshops(): Promise<WorkshopSummary[]> {
	const json = await request('GET', '/api/workshops');
	if (Array.isArray(json) && json.every(isSummary)) {
		return json.map((w: WorkshopSummary) => ({ ...w, dashboardUrl: dashboardUrl(w.id) }));
	}
	throw new ApiError(200, 'bad-response', null);
}

/** The workshop the page's address names: `?workshop=<id>`, or the id of a `#<id>.<token>` key. */
export function workshopInAddress(where: Pick<Location, 'search' | 'hash'>): string | null {
	const id = new URLSearchParams(where.search).get('workshop');
	if (id && /^[a-z0-9]{1,32}$/.test(id)) return id;
	return /^#([A-Za-z0-9_-]+)\./.exec(where.hash)?.[1] ?? null;
}

function asSession(json: unknown): InstructorSession {
	if (isObject(json) && typeof json.signedIn === 'boolean') {
		return {
			signedIn: json.signedIn,
			expiresAt: typeof json.expiresAt === 'string' ? json.expiresAt : null,
		};
	}
	throw new ApiError(200, 'bad-response', null);
}

function isSummary(value: unknown): value is WorkshopSummary {
	return (
		isObject(value) &&
		typeof value.id === 'string' &&
		typeof value.code === 'string' &&
		typeof value.title === 'string' &&
		typeof value.seats === 'number' &&
		typeof value.learners === 'number' &&
		typeof value.expiresAt === 'string'
	);
}
