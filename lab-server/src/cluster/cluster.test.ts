import { describe, expect, it } from 'vitest';
import type { AgentCapacity } from '../api/cluster';
import { ConfigError } from '../config/config';
import { newId, ID_PATTERN } from '../lib/ids';
import { agentPrefixOf } from './agent-id';
import { keyMatches } from './agent-key';
import { loadClusterConfig } from './cluster-config';
import { pickAgent } from './placement';

const KEY = 'k'.repeat(32);

describe('loadClusterConfig', () => {
	it('is one machine by default, with nothing else to set', () => {
		expect(loadClusterConfig({})).toEqual({
			role: 'all',
			agentKey: undefined,
			agentKeyFile: undefined,
			agentId: undefined,
			hubAgents: [],
			hubUrl: undefined,
			agentUrl: undefined,
			agentPollMs: 1000,
			agentGoneMs: 5000,
		});
	});

	it('names every variable a role is missing, and never quotes the key', () => {
		const problems = (env: Record<string, string>) => {
			try {
				loadClusterConfig(env);
				return [];
			} catch (error) {
				expect(error).toBeInstanceOf(ConfigError);
				return (error as ConfigError).problems;
			}
		};
		expect(problems({ ROLE: 'agent' })).toEqual([
			'AGENT_KEY: expected AGENT_KEY or AGENT_KEY_FILE with ROLE=agent',
			'AGENT_ID: required with ROLE=agent',
		]);
		// A hub without HUB_AGENTS waits for its agents to register.
		expect(problems({ ROLE: 'hub', AGENT_KEY: KEY })).toEqual([]);
		expect(
			problems({
				ROLE: 'agent',
				AGENT_KEY: KEY,
				AGENT_ID: 'abc',
				HUB_URL: 'http://10.0.0.1:8080,http://10.0.0.2:8080',
			}),
		).toEqual([
			'HUB_URL: expected one http://host:port URL, without a path, got "http://10.0.0.1:8080,http://10.0.0.2:8080"',
		]);
		expect(problems({ ROLE: 'hub', AGENT_KEY: 'short-secret', HUB_AGENTS: 'x' }).join('\n'))
			.toMatchInlineSnapshot(`
				"AGENT_KEY: expected at least 32 characters, got 12
				HUB_AGENTS: expected comma-separated http://host:port URLs, without paths, got "x""
			`);
		expect(problems({ ROLE: 'boss' })).toEqual([
			'ROLE: expected one of "all", "hub", "agent", got "boss"',
		]);
	});

	it('reads the hub’s agents as origins', () => {
		const config = loadClusterConfig({
			ROLE: 'hub',
			AGENT_KEY: KEY,
			HUB_AGENTS: 'http://10.0.0.2:4322, http://10.0.0.3:4322/',
		});
		expect(config.hubAgents).toEqual(['http://10.0.0.2:4322', 'http://10.0.0.3:4322']);
	});
});

describe('lab ids in a cluster', () => {
	it('start with the agent’s prefix and still fit the one id pattern (bridge names stay 15 characters)', () => {
		const id = newId('eng');
		expect(id).toMatch(new RegExp(`^${ID_PATTERN}$`));
		expect(id.startsWith('eng')).toBe(true);
		expect(agentPrefixOf(id)).toBe('eng');
		expect(newId()).toMatch(new RegExp(`^${ID_PATTERN}$`));
	});
});

describe('keyMatches', () => {
	it('takes only the key itself', () => {
		expect(keyMatches(KEY, KEY)).toBe(true);
		expect(keyMatches(`${KEY}x`, KEY)).toBe(false);
		expect(keyMatches('', KEY)).toBe(false);
		expect(keyMatches(undefined, KEY)).toBe(false);
		expect(keyMatches([KEY, KEY], KEY)).toBe(false);
	});
});

describe('pickAgent', () => {
	const capacity = (agentId: string, labs: number, extra: Partial<AgentCapacity> = {}) => ({
		capacity: {
			agentId,
			node: null,
			labs,
			load: labs,
			maxLabs: 10,
			memFreeMb: 1000,
			diskFreeMb: 5000,
			inotifyFree: 1000,
			problems: [],
			draining: false,
			...extra,
		},
		placedSince: 0,
	});

	it('takes the agent with the most free places, then the most free memory', () => {
		expect(pickAgent([capacity('aaa', 3), capacity('bbb', 1)])?.capacity.agentId).toBe('bbb');
		expect(
			pickAgent([capacity('aaa', 1), capacity('bbb', 1, { memFreeMb: 2000 })])?.capacity.agentId,
		).toBe('bbb');
	});

	it('counts what the hub sent since the last report', () => {
		const busy = { ...capacity('bbb', 1), placedSince: 4 };
		expect(pickAgent([capacity('aaa', 3), busy])?.capacity.agentId).toBe('aaa');
	});

	it('skips a full agent, one that reports a problem and a drained one; none left is null', () => {
		expect(
			pickAgent([
				capacity('aaa', 10),
				capacity('bbb', 0, { problems: ['low disk'] }),
				capacity('ccc', 0, { draining: true }),
			]),
		).toBeNull();
	});
});
