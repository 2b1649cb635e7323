/**
 * A lab's terminal recordings: `GET /api/labs/:id/recordings` lists them, `GET
 * /api/labs/:id/recordings/:node/:term.cast` sends one (asciicast v2, as a download). Either
 * the lab's token opens them (the learner's own), or the instructor credentials of its workshop
 * (the same check as the read-only terminal viewer's: workshops/access.ts). The node and the
 * terminal's name are checked before they become a path: nothing outside the lab's directory is
 * ever opened.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { CAST_MEDIA_TYPE, isLabNode } from '../api';
import type { LabManager } from '../labs/manager';
import { ID_PATTERN } from '../lib/ids';
import type { RecordingStore } from '../recordings/store';
import { TERM_NAME } from '../terminals/upgrade';
import { labToken } from './auth';
import { sendJson } from './body';
import { HttpError } from './errors';
import { route, type Route } from './router';

export interface RecordingRouteDeps {
	labs: Pick<LabManager, 'authorize'>;
	/** None when the server records nothing (`RECORDINGS=0`): the lists are empty. */
	recordings: RecordingStore | undefined;
	/**
	 * Throws unless the request is from the instructor of the lab's workshop — also after the lab
	 * ended, while the workshop lasts (workshops/access.ts).
	 */
	authorizeInstructor: (req: IncomingMessage, labId: string) => void;
}

const LAB = `^/api/labs/(${ID_PATTERN})/recordings`;

export function recordingRoutes(deps: RecordingRouteDeps): Route[] {
	/** The lab's id, for its learner's token or its workshop's instructor; else the learner's refusal. */
	const authorize = (req: IncomingMessage, labId: string): string => {
		try {
			return deps.labs.authorize(labId, labToken(req, labId)).id;
		} catch (refused) {
			try {
				deps.authorizeInstructor(req, labId);
				return labId;
			} catch {
				throw refused;
			}
		}
	};

	return [
		route('GET', new RegExp(`${LAB}$`), async ({ req, res, params }) => {
			const labId = authorize(req, params[0]!);
			sendJson(res, 200, (await deps.recordings?.list(labId)) ?? []);
		}),
		route('GET', new RegExp(`${LAB}/([^/]{1,64})/([^/]{1,64})\\.cast$`), async (ctx) => {
			const [labId, node, term] = ctx.params as [string, string, string];
			if (!isLabNode(node) || !TERM_NAME.test(term)) {
				throw new HttpError(
					400,
					'bad-request',
					'Запись терминала: узел hap1 или hap2, имя терминала — латинские буквы, цифры и дефис, до 32 символов.',
				);
			}
			authorize(ctx.req, labId);
			const found = await deps.recordings?.file({ labId, node, term });
			if (!found) {
				throw new HttpError(404, 'recording-not-found', 'Записи этого терминала нет.');
			}
			ctx.res.writeHead(200, {
				'Content-Type': CAST_MEDIA_TYPE,
				'Content-Length': found.bytes,
				'Content-Disposition': `attachment; filename="${labId}-${node}-${term}.cast"`,
				'Cache-Control': 'no-store',
			});
			// Up to the size it had once flushed: what is appended meanwhile waits for the next read.
			if (found.bytes === 0) ctx.res.end();
			else await pipeline(createReadStream(found.path, { end: found.bytes - 1 }), ctx.res);
		}),
	];
}
