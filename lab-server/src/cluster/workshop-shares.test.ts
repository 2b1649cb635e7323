import { describe, expect, it } from 'vitest';
import type { AgentCapacity } from '../api/cluster';
import { shareOut, spreadLabs, type SharePart, type Taker } from './workshop-shares';

const agent = (prefix: string, labs: number): Taker => {
	const capacity: AgentCapacity = {
		agentId: `${prefix}000`,
		node: `${prefix}node`,
		labs,
		load: labs,
		maxLabs: 10,
		memFreeMb: 1000,
		diskFreeMb: 5000,
		inotifyFree: 1000,
		problems: [],
		draining: false,
	};
	return {
		prefix,
		url: `http://${prefix}`,
		node: capacity.node,
		capacity,
		seenAt: 0,
		placedSince: 0,
	};
};

const part = (of: Taker, ready: number, starting: number, learners: number): SharePart => ({
	agent: of,
	view: { pool: { ready, starting }, learners: Array(learners).fill({}) },
});

/** Each agent's prefix → [share, learners]. */
const byPrefix = (shares: ReturnType<typeof shareOut>) =>
	Object.fromEntries(shares.map((s) => [s.agent.prefix, [s.share, s.learners]]));

describe('spreadLabs', () => {
	it('gives each lab to the agent with the most room left', () => {
		const [a, b] = [agent('aaa', 2), agent('bbb', 0)];
		const shares = spreadLabs(4, [a, b]);
		// b has 10 free places, a 8: b takes two before a's first.
		expect([shares.get(a), shares.get(b)]).toEqual([1, 3]);
		expect(spreadLabs(3, [])).toEqual(new Map());
	});
});

describe('shareOut', () => {
	const [a, b] = [agent('aaa', 0), agent('bbb', 0)];

	it('splits a new workshop’s pool over the agents', () => {
		expect(byPrefix(shareOut({ pool: 2, seats: 3 }, [], [a, b]))).toEqual({
			aaa: [1, 0],
			bbb: [1, 0],
		});
	});

	it('keeps what an agent holds, and hands out the rest after a join', () => {
		// A learner took a's lab: the class still wants 2 ready, b holds one.
		const parts = [part(a, 0, 0, 1), part(b, 1, 0, 0)];
		const shares = byPrefix(shareOut({ pool: 2, seats: 3 }, parts, [a, b]));
		expect(shares.bbb![0]).toBeGreaterThanOrEqual(1);
		expect(shares.aaa![0]! + shares.bbb![0]!).toBe(2);
		expect(shares.aaa![1]).toBe(1);
	});

	it('wants no more ready than the seats left, whatever the agents hold', () => {
		const parts = [part(a, 1, 0, 1), part(b, 0, 1, 1)];
		expect(byPrefix(shareOut({ pool: 2, seats: 3 }, parts, [a, b]))).toEqual({
			aaa: [1, 1],
			bbb: [0, 1],
		});
		expect(byPrefix(shareOut({ pool: 2, seats: 2 }, parts, [a, b]))).toEqual({
			aaa: [0, 1],
			bbb: [0, 1],
		});
	});

	it('gives a drained agent nothing new (it is no taker), and an agent without a part its first', () => {
		const c = agent('ccc', 0);
		const parts = [part(a, 0, 0, 2)];
		expect(byPrefix(shareOut({ pool: 2, seats: 10 }, parts, [c]))).toEqual({
			aaa: [0, 2],
			ccc: [2, 0],
		});
	});
});
