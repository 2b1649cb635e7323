/**
 * How a workshop's pool is shared out over the agents (README «Workshops across agents»): as
 * many labs ready as the class still needs (its pool, no more than its seats left), what an
 * agent holds already (ready or booting) first, the rest by free places like `POST /api/labs`
 * (placement.ts). An agent's share goes with its own learners as its seats (learners + share),
 * so an agent never boots past its share by itself — a join there uses one up — and the hub
 * shares out again after each join (hub-workshops.ts).
 */
import type { WorkshopView } from '../api';
import type { AgentCapacity } from '../api/cluster';
import type { AgentEntry } from './agent-registry';
import { freePlaces } from './placement';

/** An agent that takes new labs now: live, reporting, no problem, not drained. */
export type Taker = AgentEntry & { capacity: AgentCapacity };

/** One agent's part of the workshop as it showed it (`GET /api/workshops/:id` there). */
export interface SharePart {
	agent: AgentEntry;
	view: Pick<WorkshopView, 'pool' | 'learners'>;
}

export interface Share {
	agent: AgentEntry;
	/** Labs it keeps ready for the class (its pool there). */
	share: number;
	/** Its learners now: its seats there are these plus its share. */
	learners: number;
}

/** Splits `count` labs over `takers` one at a time, each to the one with the most room left. */
export function spreadLabs(count: number, takers: readonly Taker[]): Map<AgentEntry, number> {
	const shares = new Map<AgentEntry, number>(takers.map((agent) => [agent, 0]));
	const room = (agent: Taker) => freePlaces(agent) - shares.get(agent)!;
	for (let i = 0; i < count && takers.length > 0; i++) {
		const best = takers.reduce((a, b) => (room(b) > room(a) ? b : a));
		shares.set(best, shares.get(best)! + 1);
	}
	return new Map([...shares].filter(([, share]) => share > 0));
}

/** Each agent's share of the labs `workshop` wants ready, given its agents' parts now. */
export function shareOut(
	workshop: { pool: number; seats: number },
	parts: readonly SharePart[],
	takers: readonly Taker[],
): Share[] {
	const seated = parts.reduce((sum, part) => sum + part.view.learners.length, 0);
	let left = Math.max(0, Math.min(workshop.pool, workshop.seats - seated));
	const shares = new Map<string, Share>();
	const held = (part: SharePart) => part.view.pool.ready + part.view.pool.starting;
	for (const part of [...parts].sort((a, b) => held(b) - held(a))) {
		const share = Math.min(held(part), left);
		left -= share;
		shares.set(part.agent.prefix, {
			agent: part.agent,
			share,
			learners: part.view.learners.length,
		});
	}
	for (const [agent, more] of spreadLabs(left, takers)) {
		const entry = shares.get(agent.prefix) ?? { agent, share: 0, learners: 0 };
		shares.set(agent.prefix, { ...entry, share: entry.share + more });
	}
	return [...shares.values()];
}
