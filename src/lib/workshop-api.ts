/**
 * The workshop calls of the lab server, for the join page and the instructor's dashboard (types:
 * `lab-server/src/api/workshops.ts`). Instructor calls carry the workshop's instructor token as a
 * Bearer header, or nothing when the instructor is signed in (the cookie); the token never goes
 * into a URL. Answers are checked once here.
 */
import type { LearnerView, WorkshopView } from '../../lab-server/src/api';
import { ApiError, asLab, isObject, request, type Lab } from './lab-api';

export type { LearnerView, WorkshopView };

/** `abc-def`, `ABC DEF`, `abcdef` → `ABCDEF`; null when it is not 6 letters and digits. */
export function normalizeCode(input: string): string | null {
	const code = input.replace(/[\s-]/g, '').toUpperCase();
	return /^[A-Z0-9]{6}$/.test(code) ? code : null;
}

/** `ABCDEF` → `ABC-DEF`, as the code is spoken and shown. */
export function displayCode(code: string): string {
	return code.length === 6 ? `${code.slice(0, 3)}-${code.slice(3)}` : code;
}

/** Joins by code: the learner's lab (the same one again for the same browser session). */
export async function joinWorkshop(code: string, name: string): Promise<Lab> {
	return asLab(await request('POST', `/api/workshops/${encodeURIComponent(code)}/join`, { name }));
}

/**
 * One workshop as its instructor opens it: with the workshop's key (`#<id>.<token>` from the
 * dashboard's URL fragment) as a Bearer token, or with `token` null by the instructor's sign-in
 * (its httpOnly cookie goes with every call by itself).
 */
export interface InstructorKey {
	id: string;
	token: string | null;
}

/** `#abc.def…` → `{ id: 'abc', token: 'def…' }`; null when the fragment is not one. */
export function parseInstructorKey(hash: string): (InstructorKey & { token: string }) | null {
	const match = /^#?([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+={0,2})$/.exec(hash.trim());
	return match ? { id: match[1]!, token: match[2]! } : null;
}

export function bearer(key: InstructorKey): Record<string, string> {
	return key.token ? { authorization: `Bearer ${key.token}` } : {};
}

export function workshopPath(key: InstructorKey): string {
	return `/api/workshops/${encodeURIComponent(key.id)}`;
}

/**
 * Sets the workshop's instructor cookie that the read-only terminal sockets need when the page
 * was opened with the workshop's key (a browser cannot send a header there).
 */
export async function openInstructorSession(key: InstructorKey & { token: string }): Promise<void> {
	await request('POST', `${workshopPath(key)}/instructor-session`, {}, bearer(key));
}

export async function getWorkshop(key: InstructorKey): Promise<WorkshopView> {
	return asWorkshop(await request('GET', workshopPath(key), undefined, bearer(key)));
}

export async function resetLearnerLab(key: InstructorKey, labId: string): Promise<void> {
	await request(
		'POST',
		`${workshopPath(key)}/labs/${encodeURIComponent(labId)}/reset`,
		{},
		bearer(key),
	);
}

export async function extendWorkshop(key: InstructorKey): Promise<void> {
	await request('POST', `${workshopPath(key)}/extend`, {}, bearer(key));
}

export async function endWorkshop(key: InstructorKey): Promise<void> {
	await request('DELETE', workshopPath(key), undefined, bearer(key));
}

/** A whole dashboard (the answer of `GET`, and the event stream's first event), checked. */
export function asWorkshop(json: unknown): WorkshopView {
	if (
		isObject(json) &&
		typeof json.id === 'string' &&
		typeof json.code === 'string' &&
		typeof json.seats === 'number' &&
		isObject(json.pool) &&
		typeof json.pool.ready === 'number' &&
		typeof json.pool.starting === 'number' &&
		Array.isArray(json.learners) &&
		json.learners.every(isLearner)
	) {
		return {
			...(json as unknown as WorkshopView),
			learners: json.learners.map(asLearner),
			title: typeof json.title === 'string' ? json.title : '',
			expiresAt: typeof json.expiresAt === 'string' ? json.expiresAt : '',
		};
	}
	throw new ApiError(200, 'bad-response', null);
}

/** One dashboard row (the event stream's `learner`), checked. */
export function asLearner(json: unknown): LearnerView {
	if (!isLearner(json)) throw new ApiError(200, 'bad-response', null);
	const learner = json as LearnerView;
	return { ...learner, viewing: learner.viewing ?? null };
}

function isLearner(value: unknown): boolean {
	return (
		isObject(value) &&
		typeof value.name === 'string' &&
		typeof value.labId === 'string' &&
		(value.lastActivity === null || typeof value.lastActivity === 'string') &&
		(value.expiresAt === null || typeof value.expiresAt === 'string') &&
		Array.isArray(value.nodes) &&
		(value.step === null || (isObject(value.step) && typeof value.step.order === 'number')) &&
		(value.viewing === undefined ||
			value.viewing === null ||
			(isObject(value.viewing) && typeof value.viewing.order === 'number')) &&
		(value.failing === null ||
			(isObject(value.failing) && typeof value.failing.message === 'string'))
	);
}
