/**
 * A lab in the server's memory: its addresses, who may open it, when it ends, its containers,
 * the live state of its nodes, and its typed events (`api/events.ts`: every SSE stream, terminal,
 * check watcher and drill listens there).
 */
import { EventEmitter } from 'node:events';
import {
	LAB_NODES,
	type KeepalivedState,
	type LabEvents,
	type LabNode,
	type LabStatus,
	type LabView,
	type NodeLimitEvent,
	type NodeState,
	type RaisedHand,
	type ResetBy,
	type TakeoverEvent,
} from '../api';
import { clusterNodeField } from '../cluster/agent-id';
import type { LabAddresses } from './subnets';

export interface NodeStatus {
	name: LabNode;
	ip: string;
	state: NodeState;
	keepalived: KeepalivedState;
	haproxy: string;
	hasVip: boolean;
}

export interface VipChange {
	holder: LabNode | null;
	at: string;
}

export type LabEmitter = EventEmitter<LabEvents>;

export interface Lab {
	id: string;
	addresses: LabAddresses;
	tokenHash: string;
	ownerHash: string;
	/** The address it was created from (in memory only: for `MAX_LABS_PER_IP`). */
	clientIp: string | null;
	workshop: string | null;
	createdAt: number;
	/** `running`, `stopped` (files kept until `keptUntil`), `starting` (being resumed). */
	status: LabStatus;
	/** When it last started running (created or resumed): the running-time cap counts from it. */
	startedAt: number;
	expiresAt: number;
	/** When a stopped lab is removed unless resumed first; null while it runs. */
	keptUntil: number | null;
	/** When it was stopped (the longest-stopped go first when room is needed); null while it runs. */
	stoppedAt: number | null;
	/** Its nodes' writable layers when it was stopped, in bytes (the disk budget counts it). */
	diskBytes: number;
	/** When the last terminal detached (or the lab was created): the idle timeout counts from it. */
	idleSince: number;
	/** The latest reset (running.ts), for a page that was closed meanwhile; null if never. */
	lastReset: { at: number; by: ResetBy; nodes: LabNode[] } | null;
	/** Nodes stopped over a limit (node-limits.ts), until they are reset. */
	halted: Partial<Record<LabNode, NodeLimitEvent>>;
	containers: Record<LabNode, string>;
	nodes: Record<LabNode, NodeStatus>;
	/** Every change of the VIP holder seen since the lab started (or was adopted), oldest first. */
	vipHistory: VipChange[];
	/**
	 * Nodes being reset (in memory): settled once the new container is in `containers`. A
	 * terminal that reconnects after the reset closed it waits for this, not for the old node.
	 */
	resetting: Partial<Record<LabNode, Promise<void>>>;
	/**
	 * The step page the learner has open, as their page last said (`PUT …/viewing`), for the
	 * workshop dashboard; in memory only (a page says it again on its next load).
	 */
	viewing: string | null;
	/**
	 * A workshop learner's raised hand («Позвать преподавателя», workshops/help-desk.ts), null
	 * while it is down; in memory only.
	 */
	hand: { message: string | null; at: number } | null;
	/**
	 * The latest state of the instructor's takeover (help-desk.ts); the instructor's terminals
	 * may type only while it is `allowed`. In memory only: a restart ends every takeover.
	 */
	takeover: { state: TakeoverEvent['state']; by: TakeoverEvent['by']; at: number } | null;
	events: LabEmitter;
}

type Lifecycle = 'status' | 'startedAt' | 'keptUntil' | 'stoppedAt' | 'diskBytes' | 'lastReset';

/**
 * What a lab is made from; its node state and events start fresh, and unless given it is
 * running since its creation.
 */
export type LabFields = Omit<
	Lab,
	'nodes' | 'events' | 'vipHistory' | 'resetting' | 'viewing' | 'hand' | 'takeover' | Lifecycle
> &
	Partial<Pick<Lab, Lifecycle>>;

/** Every open SSE stream and terminal of a lab listens on its emitter; they are capped elsewhere. */
const MAX_LISTENERS = 200;

export function newLab(fields: LabFields): Lab {
	const events: LabEmitter = new EventEmitter();
	events.setMaxListeners(MAX_LISTENERS);
	return {
		status: 'running',
		startedAt: fields.createdAt,
		keptUntil: null,
		stoppedAt: null,
		diskBytes: 0,
		lastReset: null,
		...fields,
		nodes: {
			hap1: initialStatus('hap1', fields.addresses.hap1),
			hap2: initialStatus('hap2', fields.addresses.hap2),
		},
		vipHistory: [],
		resetting: {},
		viewing: null,
		hand: null,
		takeover: null,
		events,
	};
}

/** A node that has just booted (or been adopted): its observer fills in the rest in a moment. */
export function initialStatus(name: LabNode, ip: string): NodeStatus {
	return { name, ip, state: 'running', keepalived: 'absent', haproxy: 'unknown', hasVip: false };
}

/** The node that holds the VIP, or null when none does — or both do (split brain). */
export function vipHolder(lab: Pick<Lab, 'nodes'>): LabNode | null {
	const holders = LAB_NODES.filter((node) => lab.nodes[node].hasVip);
	return holders.length === 1 ? holders[0]! : null;
}

/** The lab as the API shows it. */
export function labView(lab: Lab): LabView {
	return {
		id: lab.id,
		vip: lab.addresses.vip,
		subnet: lab.addresses.subnet,
		nodes: LAB_NODES.map((name) => {
			const { ip, state, keepalived } = lab.nodes[name];
			const halted = lab.halted[name];
			return {
				name,
				ip,
				state,
				keepalived,
				halted: halted ? { kind: halted.kind, message: halted.message } : null,
			};
		}),
		expiresAt: new Date(lab.expiresAt).toISOString(),
		vipHolder: vipHolder(lab),
		status: lab.status,
		keptUntil: lab.keptUntil === null ? null : new Date(lab.keptUntil).toISOString(),
		lastReset: lab.lastReset && {
			at: new Date(lab.lastReset.at).toISOString(),
			by: lab.lastReset.by,
			nodes: [...lab.lastReset.nodes],
		},
		help:
			lab.workshop === null ? null : { hand: handView(lab), takeover: lab.takeover?.state ?? null },
		...clusterNodeField(),
	};
}

/** A lab's raised hand as the API shows it, null while it is down. */
export function handView(lab: Pick<Lab, 'hand'>): RaisedHand | null {
	return lab.hand && { message: lab.hand.message, at: new Date(lab.hand.at).toISOString() };
}
