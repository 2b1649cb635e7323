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
import type { Lab } from '../labs/lab';
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
	/** The lab, if the request is from its workshop's instructor (workshops/access.ts). */
	authorizeViewer: (req: IncomingMessage, labId: string) => Lab;
}

const LAB = `^/api/labs/(${ID_PATTERN})/recordings`;

export function recordingRoutes(deps: RecordingRouteDeps): Route[] {
	/** The lab for its learner's token, else for its workshop's instructor; the learner's refusal. */
	const authorize = (req: IncomingMessage, labId: string): Lab => {
		try {
			return deps.labs.authorize(labId, labToken(req, labId));
		} catch (refused) {
			try {
				return deps.authorizeViewer(req, labId);
			} catch {
				throw refused;
			}
		}
	};

	return [
		route('GET', new RegExp(`${LAB}$`), async ({ req, res, params }) => {
			const lab = authorize(req, params[0]!);
			sendJson(res, 200, (await deps.recordings?.list(lab.id)) ?? []);
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
			const lab = authorize(ctx.req, labId);
			const found = await deps.recordings?.file({ labId: lab.id, node, term });
			if (!found) {
				throw new HttpError(404, 'recording-not-found', 'Записи этого терминала нет.');
			}
			ctx.res.writeHead(200, {
				'Content-Type': CAST_MEDIA_TYPE,
				'Content-Length': found.bytes,
				'Content-Disposition': `attachment; filename="${lab.id}-${node}-${term}.cast"`,
				'Cache-Control': 'no-store',
			});
			// Up to the size it had once flushed: what is appended meanwhile waits for the next read.
			if (found.bytes === 0) ctx.res.end();
			else await pipeline(createReadStream(found.path, { end: found.bytes - 1 }), ctx.res);
		}),
	];
}
