/**
 * A lab as the API shows it (`POST /api/labs`, `GET /api/labs/:id`): the contract between the lab
 * server and the site. Nothing here may import Node or the server's modules: the browser bundles it.
 */
import type { ResetBy } from './events';
import type { LabHelp } from './help';

/** The learner's two lab nodes, named as in the guide. */
export const LAB_NODES = ['hap1', 'hap2'] as const;
export type LabNode = (typeof LAB_NODES)[number];

export function isLabNode(value: unknown): value is LabNode {
	return (LAB_NODES as readonly unknown[]).includes(value);
}

/** The other node of the pair. */
export function otherNode(node: LabNode): LabNode {
	return node === 'hap1' ? 'hap2' : 'hap1';
}

/** keepalived's VRRP state on a node as the node reports it; `stopped` and `absent` are the unit's. */
export const KEEPALIVED_STATES = ['MASTER', 'BACKUP', 'FAULT', 'stopped', 'absent'] as const;
export type KeepalivedState = (typeof KEEPALIVED_STATES)[number];

/**
 * A lab's status: `running`; `stopped` after the learner went idle or its time ran out, its
 * nodes stopped with their files kept until `keptUntil` (`POST /api/labs/:id/resume` starts
 * them again); `starting` while that resume is under way.
 */
export type LabStatus = 'starting' | 'running' | 'stopped';

/** A node container's state: `paused` while the freeze-node drill holds it. */
export type NodeState = 'starting' | 'running' | 'paused' | 'stopped';

export interface NodeView {
	name: LabNode;
	ip: string;
	state: NodeState;
	keepalived: KeepalivedState;
	/** Why the node was stopped over a limit (then `state` is `stopped`); null otherwise. */
	halted: { kind: 'disk' | 'inotify'; message: string } | null;
}

export interface LabView {
	id: string;
	vip: string;
	/** e.g. `10.129.3.0/24` */
	subnet: string;
	nodes: NodeView[];
	/** ISO time */
	expiresAt: string;
	/** The node that holds the VIP, or null when none does — or both do (split brain). */
	vipHolder: LabNode | null;
	status: LabStatus;
	/** ISO time a stopped lab is removed at, unless resumed first; null while it runs. */
	keptUntil: string | null;
	/**
	 * The lab's latest reset (`at` ISO time, who asked, the nodes), null if never: a page that was
	 * closed while the instructor reset the lab says so when it comes back.
	 */
	lastReset: LastReset | null;
	/** A workshop lab's raised hand and takeover (help.ts); null for a self-paced lab. */
	help: LabHelp | null;
	/** In a cluster: the Swarm node id of the engine that runs the lab; absent on one machine. */
	agent?: string;
}

export interface LastReset {
	at: string;
	by: ResetBy;
	nodes: LabNode[];
}

/** `POST /api/labs` (and a workshop join): the lab plus its token, shown this once. */
export interface CreatedLab extends LabView {
	token: string;
}
