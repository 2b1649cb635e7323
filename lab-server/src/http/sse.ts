/**
 * `GET /api/labs/:id/events`: server-sent events, the lab's current state first, then every lab
 * event as it happens (the names come from api/events.ts, the one list). A lab has at most
 * MAX_STREAMS_PER_LAB streams open (a page has one; a few tabs are fine; a script is not).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LAB_EVENT_NAMES, LAB_NODES, type LabEventName, type LabEvents } from '../api';
import { vipHolder, type Lab } from '../labs/lab';
import { HttpError } from './errors';

const KEEPALIVE_MS = 25_000;
export const MAX_STREAMS_PER_LAB = 8;
const open = new WeakMap<Lab, number>();

export function streamLabEvents(lab: Lab, req: IncomingMessage, res: ServerResponse): void {
	const streams = open.get(lab) ?? 0;
	if (streams >= MAX_STREAMS_PER_LAB) {
		throw new HttpError(
			429,
			'too-many-streams',
			`У стенда уже открыто ${streams} потоков событий: закройте лишние вкладки.`,
		);
	}
	open.set(lab, streams + 1);
	res.writeHead(200, {
		'Content-Type': 'text/event-stream; charset=utf-8',
		'Cache-Control': 'no-store',
		Connection: 'keep-alive',
		'X-Accel-Buffering': 'no',
	});
	const send = <E extends LabEventName>(event: E, data: LabEvents[E][0]) =>
		res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
	const at = new Date().toISOString();
	for (const node of LAB_NODES) {
		const { keepalived, haproxy, hasVip } = lab.nodes[node];
		send('node', { node, keepalived, haproxy, hasVip, at });
	}
	send('vip', { holder: vipHolder(lab), at });
	const unsubscribe = LAB_EVENT_NAMES.map((name) => {
		const listener = (data: LabEvents[typeof name][0]) => {
			send(name, data);
			if (name === 'ended') res.end();
		};
		lab.events.on(name, listener);
		return () => lab.events.off(name, listener);
	});
	const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
	req.on('close', () => {
		clearInterval(keepalive);
		for (const off of unsubscribe) off();
		open.set(lab, (open.get(lab) ?? 1) - 1);
	});
}
