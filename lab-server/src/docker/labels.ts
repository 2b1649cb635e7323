/**
 * How the lab server names and labels what it creates in Docker: every network and container
 * carries the lab's id, so a restarted server finds and adopts its labs by label alone.
 */
import type { NodeRole } from './nodes';

/** Labels on every container and network the lab server creates. */
export const LABELS = {
	/** Present on everything the lab server owns; its value is the lab id. */
	lab: 'org.keepalived-lab.lab',
	/** The node's role in its lab: `hap1`, `hap2`, `client`, `intruder`. */
	node: 'org.keepalived-lab.node',
	/** Index of the lab's /24 in the subnet pool. */
	index: 'org.keepalived-lab.index',
	/** SHA-256 of the lab's token: the token itself is never stored. */
	tokenHash: 'org.keepalived-lab.token-sha256',
	/** SHA-256 of the browser session that created the lab (for per-client limits). */
	owner: 'org.keepalived-lab.owner',
	createdAt: 'org.keepalived-lab.created-at',
	/** The workshop the lab belongs to, if any. */
	workshop: 'org.keepalived-lab.workshop',
	/**
	 * The lab server that owns the lab (a hash of its state directory): a server adopts or reaps
	 * only its own labs, never those of another server on the same Docker host (a test run, a
	 * dev server).
	 */
	server: 'org.keepalived-lab.server',
} as const;

export function networkName(labId: string): string {
	return `klab-${labId}`;
}

export function containerName(labId: string, role: NodeRole): string {
	return `klab-${labId}-${role}`;
}

/**
 * The Linux bridge device of a lab. Interface names are at most 15 characters, and every lab
 * bridge shares the `klab-` prefix so host-firewall.ts can match them all with `klab+`.
 */
export function bridgeName(labId: string): string {
	return `klab-${labId}`.slice(0, 15);
}
