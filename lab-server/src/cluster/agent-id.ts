/**
 * Which agent a lab belongs to, read from its id alone: an agent starts every lab id it makes
 * with the first characters of its `AGENT_ID`, so the hub routes a lab's calls, its event stream
 * and its terminals with no table to look up or keep in step.
 */
import { AGENT_PREFIX_LENGTH } from '../api/cluster';

/**
 * This process's identity as an agent, set once when an agent is assembled (agent-role.ts): one
 * process is one role, and lab creation and lab views read it without every module between
 * carrying the cluster's configuration. Empty on one machine.
 */
const self: { prefix: string; node: string | null } = { prefix: '', node: null };

/** What this process starts its lab ids with: the agent's prefix, nothing in the other roles. */
export function labIdPrefix(): string {
	return self.prefix;
}

export function setAgentPrefix(agentId: string): void {
	self.prefix = agentId.slice(0, AGENT_PREFIX_LENGTH);
}

/** The prefix of the agent that made `labId`. */
export function agentPrefixOf(labId: string): string {
	return labId.slice(0, AGENT_PREFIX_LENGTH);
}

/**
 * The Swarm node id every lab view of this process names (`agent`, api/lab.ts): set by an agent
 * when it starts; on one machine views have no `agent`.
 */
export function setClusterNode(node: string | null): void {
	self.node = node;
}

export function clusterNodeField(): { agent?: string } {
	return self.node ? { agent: self.node } : {};
}
