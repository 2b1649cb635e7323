/**
 * Who may do what with workshops: creating one takes the server's `INSTRUCTOR_SECRET`; a
 * workshop's calls take its instructor token (Bearer or the `klab_instructor_<id>` cookie) or the
 * secret itself; watching a learner's terminal takes the same, for that learner's workshop.
 * Everything is compared as SHA-256 digests in constant time; workshops are off (503) while the
 * secret is unset.
 */
import type { IncomingMessage } from 'node:http';
import { bearer, instructorToken } from '../http/auth';
import { HttpError } from '../http/errors';
import { sameDigest, sha256 } from '../lib/hash';
import type { Workshop } from './workshop';

export function workshopAccess(secret: string | undefined) {
	const isSecret = (token: string) =>
		secret !== undefined && sameDigest(sha256(token), sha256(secret));
	const enabled = () => {
		if (secret === undefined) {
			throw new HttpError(
				503,
				'workshops-disabled',
				'Занятия с преподавателем выключены: на сервере не задан INSTRUCTOR_SECRET. Попросите администратора задать его (см. README).',
			);
		}
	};
	return {
		/** `Authorization: Bearer <INSTRUCTOR_SECRET>`: 401, 403 or 503 otherwise. */
		authorizeCreate(req: IncomingMessage): void {
			enabled();
			const token = bearer(req);
			if (!token) throw new HttpError(401, 'unauthorized', 'Нужен секрет преподавателя.');
			if (!isSecret(token))
				throw new HttpError(403, 'forbidden', 'Секрет преподавателя не подходит.');
		},

		/** The workshop, if the request carries its instructor token or the secret: 404, 401, 403. */
		authorizeInstructor(
			workshop: Workshop | undefined,
			workshopId: string,
			req: IncomingMessage,
		): Workshop {
			enabled();
			if (!workshop) {
				throw new HttpError(
					404,
					'workshop-not-found',
					'Занятие не найдено: возможно, оно уже завершено.',
				);
			}
			const token = instructorToken(req, workshopId);
			if (!token)
				throw new HttpError(401, 'unauthorized', 'Нужен ключ преподавателя этого занятия.');
			if (!sameDigest(sha256(token), workshop.instructorTokenHash) && !isSecret(token)) {
				throw new HttpError(403, 'forbidden', 'Этот ключ не открывает это занятие.');
			}
			return workshop;
		},
	};
}
