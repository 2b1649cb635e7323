/**
 * Where a new lab goes: the live agent with the most free lab places (its `MAX_LABS` less what it
 * holds or is starting, less what the hub sent it since its last report), then the most free
 * memory. An agent that reports a problem (low disk, low inotify) or is drained takes nothing.
 */
import type { AgentCapacity } from '../api/cluster';

export interface Candidate {
	capacity: AgentCapacity;
	/** Labs the hub placed there since that report. */
	placedSince: number;
}

export function freePlaces(candidate: Candidate): number {
	const { capacity } = candidate;
	return capacity.maxLabs - Math.max(capacity.labs, capacity.load) - candidate.placedSince;
}

/** The candidate with the most room, or null when none takes labs now. */
export function pickAgent<T extends Candidate>(candidates: readonly T[]): T | null {
	let best: T | null = null;
	for (const candidate of candidates) {
		const { problems, draining } = candidate.capacity;
		if (problems.length > 0 || draining || freePlaces(candidate) <= 0) continue;
		if (
			best === null ||
			freePlaces(candidate) > freePlaces(best) ||
			(freePlaces(candidate) === freePlaces(best) &&
				candidate.capacity.memFreeMb > best.capacity.memFreeMb)
		) {
			best = candidate;
		}
	}
	return best;
}
