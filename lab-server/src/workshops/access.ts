/**
 * Who may do what with workshops:
 * - creating one, and listing them all, takes the server's `INSTRUCTOR_SECRET` as a Bearer
 *   token, or the session a sign-in with it opened (instructor-sessions.ts);
 * - a workshop's calls take the same, or its own instructor token (Bearer or the
 *   `klab_instructor_<id>` cookie); watching a learner's terminal takes the same, for that
 *   learner's workshop.
 * Tokens are compared as SHA-256 digests in constant time, the secret through the sessions' guard
 * against guessing; workshops are off (503) while the secret is unset.
 */
import type { IncomingMessage } from 'node:http';
import { bearer, instructorToken } from '../http/auth';
import { HttpError } from '../http/errors';
import type { Lab } from '../labs/lab';
import { sameDigest, sha256 } from '../lib/hash';
import type { InstructorSessions } from './instructor-sessions';
import type { Workshop } from './workshop';

export type WorkshopAccess = ReturnType<typeof workshopAccess>;

export function workshopAccess(deps: {
	sessions: InstructorSessions;
	/** An open workshop by id. */
	workshop: (id: string) => Workshop | undefined;
	lab: (id: string) => Lab | undefined;
	/** The open workshop the lab is (or was, until the workshop ends) a learner's of. */
	learnerWorkshop: (labId: string) => Workshop | undefined;
	/**
	 * On an agent (`ROLE=agent`): the workshop the hub authorized the request's instructor for
	 * (`x-klab-instructor`), the only credential an agent takes; absent on one machine.
	 */
	asserted?: (req: IncomingMessage) => string | null;
}) {
	const { sessions } = deps;
	const isInstructorToken = (workshop: Workshop, token: string) =>
		sameDigest(sha256(token), workshop.instructorTokenHash);

	/**
	 * The workshop, if the request carries its instructor token (Bearer or the
	 * `klab_instructor_<id>` cookie), a signed-in session or the secret: 404, 401, 403, 429 or
	 * 503 otherwise.
	 */
	const authorizeInstructor = (workshopId: string, req: IncomingMessage): Workshop => {
		if (!deps.asserted) sessions.requireEnabled();
		const workshop = deps.workshop(workshopId);
		if (!workshop) {
			throw new HttpError(
				404,
				'workshop-not-found',
				'Занятие не найдено: возможно, оно уже завершено.',
			);
		}
		if (deps.asserted) {
			if (deps.asserted(req) === workshopId) return workshop;
			throw new HttpError(403, 'forbidden', 'Этот ключ не открывает это занятие.');
		}
		if (sessions.current(req) !== null) return workshop;
		const token = instructorToken(req, workshopId);
		if (!token) throw new HttpError(401, 'unauthorized', 'Нужен ключ преподавателя этого занятия.');
		if (isInstructorToken(workshop, token)) return workshop;
		try {
			sessions.verifySecret(req, token);
		} catch (error) {
			if (error instanceof HttpError && error.status === 403) {
				throw new HttpError(403, 'forbidden', 'Этот ключ не открывает это занятие.');
			}
			throw error;
		}
		return workshop;
	};

	/** For read-only terminals: the lab, if the request is from its workshop's instructor. */
	const authorizeViewer = (req: IncomingMessage, labId: string): Lab => {
		const lab = deps.lab(labId);
		if (!lab) {
			throw new HttpError(404, 'lab-not-found', 'Стенд не найден: возможно, его время истекло.');
		}
		if (!lab.workshop) {
			throw new HttpError(403, 'forbidden', 'Смотреть можно только терминалы стендов занятия.');
		}
		authorizeInstructor(lab.workshop, req);
		return lab;
	};

	return {
		/**
		 * The server's instructor: a signed-in session, or `Authorization: Bearer
		 * <INSTRUCTOR_SECRET>`; 401, 403, 429 or 503 otherwise.
		 */
		authorizeSecretHolder(req: IncomingMessage): void {
			// An agent's workshops are the hub's shards (manager.ts `shard`): none is made or
			// listed there by an instructor.
			if (deps.asserted) {
				throw new HttpError(403, 'forbidden', 'Занятия создаёт и перечисляет хаб кластера.');
			}
			sessions.requireEnabled();
			if (sessions.current(req) !== null) return;
			const token = bearer(req);
			if (!token) {
				throw new HttpError(
					401,
					'unauthorized',
					'Нужно войти как преподаватель: на странице /instructor/ или с секретом в заголовке Authorization: Bearer.',
				);
			}
			sessions.verifySecret(req, token);
		},

		authorizeInstructor,

		/** Calls `listener` after each instructor's sign-out; returns `off` (live dashboards). */
		onSignOut: (listener: () => void) => sessions.onSignOut(listener),

		/** Whether `token` is the workshop's own instructor key (not the server's secret). */
		isInstructorToken,

		authorizeViewer,

		/**
		 * For a learner's recordings: the viewer's check while the lab runs; after it ended, its
		 * workshop's instructor still (recordings are kept until the workshop ends).
		 */
		authorizeRecordings(req: IncomingMessage, labId: string): void {
			const workshop = deps.lab(labId) ? undefined : deps.learnerWorkshop(labId);
			if (workshop) authorizeInstructor(workshop.id, req);
			else authorizeViewer(req, labId);
		},
	};
}
