/**
 * The contract between the hub and its agents (README «Роли: хаб и агенты»): what an agent reports
 * about itself on `GET /api/agent/capacity`, and the headers the hub adds to every call it
 * forwards. Browser-safe like the rest of api/: the site never sees these, but both roles import
 * them from here so that neither declares them twice.
 */

/** The header that carries the agent key on every hub → agent request and upgrade. */
export const AGENT_KEY_HEADER = 'x-klab-agent-key';
/** The learner's browser session (SHA-256 hex of the hub's signed session id), set by the hub. */
export const AGENT_SESSION_HEADER = 'x-klab-session';
/** The learner's address as the hub saw it (its `TRUST_PROXY` applied), set by the hub. */
export const AGENT_CLIENT_HEADER = 'x-klab-client';
/**
 * The workshop a request's instructor was authorized for by the hub (its instructor token, a
 * sign-in or the secret): the agent trusts it as it trusts the session, since only the hub holds
 * the key, and the hub drops whatever a client wrote in it.
 */
export const AGENT_INSTRUCTOR_HEADER = 'x-klab-instructor';
/** Characters of an agent's id that start every lab id it makes (lib/ids.ts). */
export const AGENT_PREFIX_LENGTH = 3;

/** `GET /api/agent/capacity`: one agent's room for new labs, as the hub's placement reads it. */
export interface AgentCapacity {
	/** `AGENT_ID`; its first `AGENT_PREFIX_LENGTH` characters start its labs' ids. */
	agentId: string;
	/** The Swarm node id of its Docker engine (`/info` → `Swarm.NodeID`); null outside a Swarm. */
	node: string | null;
	/** Labs it holds in memory (running, starting and stopped) and the ones taking room now. */
	labs: number;
	load: number;
	maxLabs: number;
	memFreeMb: number;
	diskFreeMb: number | null;
	inotifyFree: number | null;
	/** Why it refuses new labs now (low disk, low inotify), empty when it takes them. */
	problems: string[];
	/**
	 * Drained by the operator (`npm run cluster:drain`): it takes no new lab and refills no pool,
	 * and serves the labs it holds until they end.
	 */
	draining: boolean;
}

/** `GET /api/agent/holders?session=&ip=`: the labs one browser session and one address hold. */
export interface AgentHolders {
	session: number;
	ip: number;
}

/**
 * `PUT /api/agent/workshops/:id`: the agent's share of a workshop the hub owns — its own pool of
 * `pool` labs for it, and the learners the hub sends it (README «Workshops across agents»).
 */
export interface WorkshopShard {
	code: string;
	title: string;
	seats: number;
	pool: number;
	createdAt: number;
	instructorTokenHash: string;
}
