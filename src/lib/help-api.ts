/**
 * The calls of «Позвать преподавателя» and the consented takeover (lab-server/src/api/help.ts):
 * the learner's (with the lab's cookie) and the instructor's (with the workshop's key or the
 * sign-in). Failures throw ApiError with the server's Russian message.
 */
import { TAKEOVER_STATES, type TakeoverState } from '../../lab-server/src/api';
import { isObject, labPath, request } from './lab-api';
import { bearer, workshopPath, type InstructorKey } from './workshop-api';

/** `POST /api/labs/:id/help`: the hand goes up, with the learner's words when there are any. */
export async function raiseHand(labId: string, message: string): Promise<void> {
	await request('POST', `${labPath(labId)}/help`, message ? { message } : {});
}

export async function lowerHand(labId: string): Promise<void> {
	await request('DELETE', `${labPath(labId)}/help`);
}

/** The learner's answer to the instructor's ask; the state it led to. */
export async function answerTakeover(labId: string, allow: boolean): Promise<TakeoverState> {
	return stateOf(await request('POST', `${labPath(labId)}/takeover`, { allow }));
}

/** The learner ends the instructor's input rights (or the open ask). */
export async function endTakeoverAsLearner(labId: string): Promise<void> {
	await request('DELETE', `${labPath(labId)}/takeover`);
}

function takeoverPath(key: InstructorKey, labId: string): string {
	return `${workshopPath(key)}/learners/${encodeURIComponent(labId)}/takeover`;
}

/** The instructor asks the learner for input rights in their terminals. */
export async function askTakeover(key: InstructorKey, labId: string): Promise<TakeoverState> {
	return stateOf(await request('POST', takeoverPath(key, labId), {}, bearer(key)));
}

export async function endTakeoverAsInstructor(key: InstructorKey, labId: string): Promise<void> {
	await request('DELETE', takeoverPath(key, labId), undefined, bearer(key));
}

/** A takeover state from an event's or an answer's JSON, or null. */
export function asTakeoverState(value: unknown): TakeoverState | null {
	return (TAKEOVER_STATES as readonly unknown[]).includes(value) ? (value as TakeoverState) : null;
}

function stateOf(json: unknown): TakeoverState {
	return (isObject(json) && asTakeoverState(json.takeover)) || 'ended';
}
