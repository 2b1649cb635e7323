/**
 * `GET /api/workshops/:id/events`: the instructor's dashboard as server-sent events (the names
 * and data in api/workshops.ts, what goes out when in workshops/live.ts). The caller is
 * authorized before (an `EventSource` sends no header: the signed-in session's cookie or the
 * `klab_instructor_<id>` cookie; a Bearer token works for scripts). A workshop has at most
 * MAX_STREAMS_PER_WORKSHOP streams open: a projector, a laptop, a co-instructor's tab, and the
 * streams of a flaky Wi-Fi's reconnections whose dead predecessors the server has not noticed
 * yet (a dead peer shows only when a keepalive's write fails) — not a script's hundred.
 * Each sign-out, and each keepalive, asks the caller's credentials again: a sign-out or an
 * expired sign-in closes the stream (the page then learns why from its reconnection).
 */
import type { ServerResponse } from 'node:http';
import type { WorkshopEventName, WorkshopEvents } from '../api';
import type { Workshop, WorkshopManager } from '../workshops/manager';
import { HttpError } from './errors';

const KEEPALIVE_MS = 25_000;
export const MAX_STREAMS_PER_WORKSHOP = 8;
/** Open streams per workshop id (an entry goes with its last stream). */
const open = new Map<string, number>();

export interface WorkshopStreamAuth {
	/** Whether the caller may still watch: throws (401, 403, 404…) once it may not. */
	reauthorize: () => void;
	/** Calls `listener` after each instructor's sign-out; returns `off`. */
	onSignOut: (listener: () => void) => () => void;
}

export function streamWorkshop(
	workshops: Pick<WorkshopManager, 'watch'>,
	workshop: Workshop,
	res: ServerResponse,
	auth: WorkshopStreamAuth,
): void {
	const streams = open.get(workshop.id) ?? 0;
	if (streams >= MAX_STREAMS_PER_WORKSHOP) {
		throw new HttpError(
			429,
			'too-many-streams',
			`Панель этого занятия уже открыта в ${streams} вкладках: закройте лишние.`,
		);
	}
	open.set(workshop.id, streams + 1);
	res.writeHead(200, {
		'Content-Type': 'text/event-stream; charset=utf-8',
		'Cache-Control': 'no-store',
		Connection: 'keep-alive',
		'X-Accel-Buffering': 'no',
	});
	// Headers out now: a page sees the stream open before the first update is built.
	res.flushHeaders();
	const send = <E extends WorkshopEventName>(event: E, data: WorkshopEvents[E][0]) => {
		res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
		if (event === 'ended') res.end();
	};
	const watch = workshops.watch(workshop, send);
	/** Whether the caller may still watch; the stream ends when not. */
	const allowed = () => {
		try {
			auth.reauthorize();
			return true;
		} catch {
			res.end();
			return false;
		}
	};
	const offSignOut = auth.onSignOut(allowed);
	const keepalive = setInterval(() => {
		if (allowed()) res.write(': keepalive\n\n');
	}, KEEPALIVE_MS);
	res.on('close', () => {
		clearInterval(keepalive);
		offSignOut();
		watch.close();
		const left = (open.get(workshop.id) ?? 1) - 1;
		if (left > 0) open.set(workshop.id, left);
		else open.delete(workshop.id);
	});
}

/** Streams open now for the workshop (for tests). */
export function openWorkshopStreams(workshopId: string): number {
	return open.get(workshopId) ?? 0;
}
