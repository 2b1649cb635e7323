/**
 * The hub's map of its agents, by the prefix their lab ids start with: rebuilt from the agents'
 * own capacity reports (each `HUB_AGENTS` URL asked every `AGENT_POLL_MS`), and kept in
 * `STATE_DIR/cluster-agents.json` so that after the hub's restart an agent that did not come back
 * is known as gone (its labs answer 410), not as a stranger (404).
 *
 * An agent is `live` while it answered within `AGENT_GONE_SECONDS`, `gone` after that (its
 * labs are lost to the learner, new labs go elsewhere); a short silence in between (an agent
 * restarting keeps its labs) is `unreachable`, answered 503.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { AGENT_KEY_HEADER, type AgentCapacity, type AgentHolders } from '../api/cluster';
import type { Clock } from '../lib/clock';
import { stateFile } from '../lib/state-file';
import { agentPrefixOf } from './agent-id';
import { pickAgent } from './placement';

export interface AgentEntry {
	prefix: string;
	url: string;
	node: string | null;
	capacity: AgentCapacity | null;
	/** When it last answered (clock ms); null if not since the hub started. */
	seenAt: number | null;
	placedSince: number;
}

export type AgentLookup =
	{ state: 'live' | 'unreachable'; agent: AgentEntry } | { state: 'gone' } | { state: 'unknown' };

const capacitySchema = z.object({
	agentId: z.string().regex(/^[a-z0-9]{3,64}$/),
	node: z.string().max(64).nullable(),
	labs: z.number().int().nonnegative(),
	load: z.number().int().nonnegative(),
	maxLabs: z.number().int().nonnegative(),
	memFreeMb: z.number().nonnegative(),
	diskFreeMb: z.number().nullable(),
	inotifyFree: z.number().nullable(),
	problems: z.array(z.string().max(500)).max(10),
	draining: z.boolean(),
});

const holdersSchema = z.object({
	session: z.number().int().nonnegative(),
	ip: z.number().int().nonnegative(),
});

const savedSchema = z.array(
	z.object({ prefix: z.string(), url: z.string(), node: z.string().nullable() }),
);

export interface AgentRegistryDeps {
	/** `HUB_AGENTS`; more come by registration (`register`). */
	urls: readonly string[];
	key: string;
	pollMs: number;
	goneMs: number;
	stateDir: string;
	clock: Clock;
	log: Logger;
}

export class AgentRegistry {
	#byPrefix = new Map<string, AgentEntry>();
	#deps: AgentRegistryDeps;
	/** Every URL asked: `HUB_AGENTS`, the ones known before a restart, and registered ones. */
	#urls: Set<string>;
	#startedAt = 0;
	#timer: ReturnType<typeof setInterval> | null = null;
	#file: ReturnType<typeof stateFile<z.infer<typeof savedSchema>>>;

	constructor(deps: AgentRegistryDeps) {
		this.#deps = deps;
		this.#urls = new Set(deps.urls);
		this.#file = stateFile({
			dir: deps.stateDir,
			name: 'cluster-agents.json',
			schema: savedSchema,
			empty: () => [],
			log: deps.log,
		});
	}

	/** Reads the agents known before, asks every agent once, then keeps asking. */
	async start(): Promise<void> {
		this.#startedAt = this.#deps.clock.now();
		for (const saved of await this.#file.read()) {
			this.#byPrefix.set(saved.prefix, { ...saved, capacity: null, seenAt: null, placedSince: 0 });
			// A registered agent is asked again after the hub's restart, before it registers anew.
			this.#urls.add(saved.url);
		}
		await this.poll();
		this.#timer = setInterval(() => void this.poll(), this.#deps.pollMs);
		this.#timer.unref();
	}

	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
	}

	/** Asks every agent for its capacity, at once; an agent that does not answer is left as it was. */
	async poll(): Promise<void> {
		const timeout = Math.max(this.#deps.pollMs, 1000);
		await Promise.all([...this.#urls].map((url) => this.#ask(url, timeout)));
	}

	/**
	 * An agent that registered itself (`HUB_URL`, authenticated by the key): asked from now on,
	 * at once the first time. Its report, with the key, is what makes it an agent.
	 */
	async register(url: string): Promise<void> {
		if (this.#urls.has(url)) return;
		this.#urls.add(url);
		this.#deps.log.info({ url }, 'agent registered');
		await this.#ask(url, Math.max(this.#deps.pollMs, 1000));
	}

	/** The agent a lab id names, and whether it is there. */
	lookup(labId: string): AgentLookup {
		const agent = this.#byPrefix.get(agentPrefixOf(labId));
		if (!agent) return { state: 'unknown' };
		const state = this.#state(agent);
		return state === 'gone' ? { state } : { state, agent };
	}

	/** Where a new lab goes (placement.ts), or null when no live agent takes labs now. */
	pick(): AgentEntry | null {
		const live = [...this.#byPrefix.values()].filter(
			(agent): agent is AgentEntry & { capacity: AgentCapacity } =>
				agent.capacity !== null && this.#state(agent) === 'live',
		);
		return pickAgent(live);
	}

	/**
	 * Labs the browser session and the address hold over every live agent (each asked at once;
	 * one that does not answer in time counts nothing: a cap is not worth refusing every learner
	 * over).
	 */
	async holders(session: string, ip: string | null): Promise<AgentHolders> {
		const query = new URLSearchParams({ session, ...(ip ? { ip } : {}) });
		const live = this.list().filter((agent) => agent.state === 'live');
		const counts = await Promise.all(
			live.map(async (agent): Promise<AgentHolders> => {
				try {
					const res = await fetch(`${agent.url}/api/agent/holders?${query}`, {
						headers: { [AGENT_KEY_HEADER]: this.#deps.key },
						signal: AbortSignal.timeout(2_000),
					});
					return holdersSchema.parse(await res.json());
				} catch {
					return { session: 0, ip: 0 };
				}
			}),
		);
		return {
			session: counts.reduce((sum, count) => sum + count.session, 0),
			ip: counts.reduce((sum, count) => sum + count.ip, 0),
		};
	}

	/** Asks the agent on Swarm node `node` to drain (or not): it keeps its labs, takes no new one. */
	async drain(node: string, draining: boolean): Promise<AgentEntry | null> {
		const agent = this.list().find((a) => a.node === node && a.state === 'live');
		if (!agent) return null;
		const res = await fetch(`${agent.url}/api/agent/drain`, {
			method: 'PUT',
			headers: { [AGENT_KEY_HEADER]: this.#deps.key, 'content-type': 'application/json' },
			body: JSON.stringify({ draining }),
			signal: AbortSignal.timeout(5_000),
		});
		if (!res.ok) throw new Error(`agent answered ${res.status}`);
		// Placement sees it at once, not at the next report.
		await this.#ask(agent.url, 5_000);
		return this.#byPrefix.get(agent.prefix) ?? null;
	}

	/** Counts a lab sent to `agent` until its next report says it. */
	placed(agent: AgentEntry): void {
		agent.placedSince += 1;
	}

	list(): (AgentEntry & { state: 'live' | 'unreachable' | 'gone' })[] {
		return [...this.#byPrefix.values()].map((agent) => ({ ...agent, state: this.#state(agent) }));
	}

	#state(agent: AgentEntry): 'live' | 'unreachable' | 'gone' {
		const { clock, goneMs } = this.#deps;
		const since = agent.seenAt ?? this.#startedAt;
		if (agent.seenAt !== null && clock.now() - agent.seenAt <= goneMs) return 'live';
		return clock.now() - since > goneMs ? 'gone' : 'unreachable';
	}

	async #ask(url: string, timeoutMs: number): Promise<void> {
		let capacity: AgentCapacity;
		try {
			const res = await fetch(`${url}/api/agent/capacity`, {
				headers: { [AGENT_KEY_HEADER]: this.#deps.key },
				signal: AbortSignal.timeout(timeoutMs),
			});
			if (!res.ok) throw new Error(`answered ${res.status}`);
			capacity = capacitySchema.parse(await res.json());
		} catch (error) {
			this.#deps.log.debug({ url, err: error }, 'agent did not report');
			return;
		}
		const prefix = agentPrefixOf(capacity.agentId);
		const known = this.#byPrefix.get(prefix);
		if (known && known.url !== url && known.seenAt !== null && this.#state(known) !== 'gone') {
			this.#deps.log.error(
				{ url, other: known.url, prefix },
				'two agents share a lab id prefix: give them AGENT_IDs that differ in the first characters',
			);
			return;
		}
		const fresh = !known || known.url !== url || known.node !== capacity.node;
		const entry: AgentEntry = {
			prefix,
			url,
			node: capacity.node,
			capacity,
			seenAt: this.#deps.clock.now(),
			placedSince: 0,
		};
		this.#byPrefix.set(prefix, entry);
		if (!known || this.#state(known) !== 'live') {
			this.#deps.log.info({ url, prefix, node: capacity.node }, 'agent live');
		}
		if (fresh) {
			await this.#file.write(() =>
				[...this.#byPrefix.values()].map(({ prefix: p, url: u, node }) => ({
					prefix: p,
					url: u,
					node,
				})),
			);
		}
	}
}
