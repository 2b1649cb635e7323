/**
 * The hub's live dashboard of a workshop spread over agents (`GET /api/workshops/:id/events`):
 * it follows each agent's own stream of its share (http/workshop-sse.ts there) and sends the
 * instructor one stream in the same format (api/workshops.ts `WorkshopEvents`): the merged view
 * first, once every agent's first view is in; then each agent's `learner` rows as they come, with
 * the engine they run on; and a merged `head` whenever an agent's changes. An agent's stream that
 * breaks is opened again while the dashboard stays open; its rows stay as last known meanwhile.
 */
import type { Logger } from 'pino';
import type { LearnerView, WorkshopHead, WorkshopView } from '../api';
import type { WorkshopSend, WorkshopWatch } from '../workshops/live';
import type { AgentEntry } from './agent-registry';

/** How soon a broken agent stream is opened again. */
const REOPEN_MS = 2_000;
/** An agent stream's event larger than this is not an event of ours: the stream is dropped. */
const MAX_EVENT_CHARS = 1024 * 1024;

interface Part {
	agent: AgentEntry;
	head: WorkshopHead | null;
	rows: Map<string, LearnerView>;
}

export interface StreamAcrossDeps {
	/** The agents to follow (the live ones when the dashboard opens). */
	agents: () => AgentEntry[];
	/** Opens the agent's stream of the workshop (authenticated); resolves with its answer. */
	open: (agent: AgentEntry, signal: AbortSignal) => Promise<Response>;
	/** The merged view of the parts' views (hub-workshops.ts). */
	merge: (parts: { agent: AgentEntry; view: WorkshopView }[]) => WorkshopView;
	/** A learner's row as the hub shows it: with the engine it runs on. */
	row: (agent: AgentEntry, learner: LearnerView) => LearnerView;
	log: Logger;
}

export function streamAcross(deps: StreamAcrossDeps, send: WorkshopSend): WorkshopWatch {
	const abort = new AbortController();
	const parts = new Map<string, Part>();
	let pending = 0;
	let started = false;

	const merged = (): WorkshopView =>
		deps.merge(
			[...parts.values()].flatMap(({ agent, head, rows }) => {
				if (!head) return [];
				const { labIds, ...rest } = head;
				const learners = labIds.flatMap((id) => rows.get(id) ?? []);
				return [{ agent, view: { ...rest, learners } }];
			}),
		);
	const sendHead = () => {
		const { learners, ...rest } = merged();
		send('head', { ...rest, labIds: learners.map((l) => l.labId) });
	};
	const settle = () => {
		if (started || pending > 0 || abort.signal.aborted) return;
		started = true;
		send('workshop', merged());
	};

	const onEvent = (part: Part, event: string, data: unknown) => {
		if (event === 'workshop') {
			const { learners, ...rest } = data as WorkshopView;
			part.head = { ...rest, labIds: learners.map((l) => l.labId) };
			part.rows = new Map(learners.map((l) => [l.labId, deps.row(part.agent, l)]));
			if (started) {
				for (const row of part.rows.values()) send('learner', row);
				sendHead();
			}
			return true;
		}
		if (event === 'learner') {
			const row = deps.row(part.agent, data as LearnerView);
			part.rows.set(row.labId, row);
			if (started) send('learner', row);
		} else if (event === 'head') {
			part.head = data as WorkshopHead;
			if (started) sendHead();
		} else if (event === 'ended') {
			send('ended', data as { at: string });
			close();
		}
		return false;
	};

	const follow = async (part: Part, first: { counted: boolean }) => {
		const done = () => {
			if (!first.counted) {
				first.counted = true;
				pending--;
				settle();
			}
		};
		try {
			const res = await deps.open(part.agent, abort.signal);
			// No share of this workshop there (404), or the agent refused: nothing to follow.
			if (!res.ok || !res.body) {
				await res.body?.cancel();
				done();
				return;
			}
			const decoder = new TextDecoder();
			let buffer = '';
			for await (const chunk of res.body) {
				buffer += decoder.decode(chunk as Uint8Array, { stream: true });
				let end: number;
				while ((end = buffer.indexOf('\n\n')) >= 0) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					let event = '';
					let data = '';
					for (const line of block.split('\n')) {
						if (line.startsWith('event: ')) event = line.slice(7);
						else if (line.startsWith('data: ')) data += line.slice(6);
					}
					if (!event || !data) continue;
					if (onEvent(part, event, JSON.parse(data))) done();
				}
				if (buffer.length > MAX_EVENT_CHARS) throw new Error('agent event too large');
			}
		} catch (error) {
			if (!abort.signal.aborted) {
				deps.log.warn({ agent: part.agent.url, err: error }, 'agent workshop stream broke');
			}
		}
		done();
		if (!abort.signal.aborted) {
			setTimeout(() => {
				if (!abort.signal.aborted) void follow(part, first);
			}, REOPEN_MS).unref();
		}
	};

	const close = () => abort.abort();
	for (const agent of deps.agents()) {
		const part: Part = { agent, head: null, rows: new Map() };
		parts.set(agent.prefix, part);
		pending++;
		void follow(part, { counted: false });
	}
	settle();
	return { close };
}
