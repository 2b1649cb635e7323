/**
 * What the page knows about the learner's lab, shared by the lab panel (which owns it) and the
 * command blocks (which read it).
 *
 * Shape: `{ status, lab, vipHolder }` where `lab` is null until a lab is known and `vipHolder` is
 * the node that alone holds the VIP now (live, from the lab's `vip` events; null without a running
 * lab, and while nobody or both hold it). Lifecycle: the panel calls `publishLab` on every change,
 * the VIP moving included; that rewrites the addresses on the page and dispatches `lab:state` on
 * `document`. A block that appears later (a client-side navigation to another step) reads
 * `currentLab()` when it connects, and the panel republishes after every `astro:page-load`.
 *
 * The module is a singleton per page load: bundled scripts run once, and ClientRouter keeps them.
 */

import { otherNode, type LabNode } from '../../lab-server/src/api';

export type { LabNode };
/** Where a `lab:run` command goes: one terminal or both. */
export type RunTarget = LabNode | 'both';
/**
 * Targets a command block resolves when it is clicked, from who holds the VIP then: `vip` is the
 * holder, `other` the node without it (step 10 follows the VIP, wherever it went).
 */
export const LIVE_TARGETS = ['vip', 'other'] as const;
export type LiveTarget = (typeof LIVE_TARGETS)[number];
/** Where a command block offers to run its command. */
export type CmdTarget = RunTarget | LiveTarget;
/** The panel's state: `stopped` is a lab kept with its files, waiting for «Продолжить». */
export type LabStatus = 'idle' | 'restoring' | 'starting' | 'running' | 'stopped' | 'error';

/** The part of a lab that the page's text depends on. */
export interface LabAddresses {
	id: string;
	/** e.g. `10.129.3.0/24` */
	subnet: string;
	/** e.g. `10.129.3.10` (a `/mask` suffix from the server is dropped) */
	vip: string;
	nodes: Record<LabNode, string>;
}

export interface LabSnapshot {
	status: LabStatus;
	lab: LabAddresses | null;
	vipHolder: LabNode | null;
}

/**
 * What became of a command a button sent to a terminal: waiting (for the connection, or for the
 * shell's prompt: a command or a pager still runs there), typed (`sent`: the shell does not say
 * more, e.g. a root shell from `sudo -i`), running, done with its exit status.
 */
export type RunStatus =
	| { state: 'queued'; why: 'connecting' | 'busy' }
	| { state: 'sent' }
	| { state: 'running' }
	| { state: 'done'; exitCode: number | null };

/** `detail` of the bubbling, cancelable `lab:run` event; the panel cancels it when it takes it. */
export interface LabRunDetail {
	node: RunTarget;
	command: string;
	/** Told each change of the command's status, per node it goes to. */
	report?: (node: LabNode, status: RunStatus) => void;
}

/**
 * The lab's server-sent events that the panel passes on as `lab:<type>` document events, with
 * the event's JSON as `detail` (null when it was not an object): not validated, so a listener
 * parses what it uses (`lab-api.ts`, `drills-api.ts`).
 */
export type LabEventType =
	'node' | 'vip' | 'reset' | 'check' | 'drill' | 'outage' | 'help' | 'takeover';
export type LabEventDetail = Record<string, unknown> | null;

declare global {
	interface DocumentEventMap {
		'lab:state': CustomEvent<LabSnapshot>;
		'lab:run': CustomEvent<LabRunDetail>;
		'lab:node': CustomEvent<LabEventDetail>;
		'lab:vip': CustomEvent<LabEventDetail>;
		'lab:reset': CustomEvent<LabEventDetail>;
		'lab:check': CustomEvent<LabEventDetail>;
		'lab:drill': CustomEvent<LabEventDetail>;
		'lab:outage': CustomEvent<LabEventDetail>;
		'lab:help': CustomEvent<LabEventDetail>;
		'lab:takeover': CustomEvent<LabEventDetail>;
	}
}

/** localStorage key of the learner's lab id: the panel remembers it so a reload finds the lab. */
export const LAB_ID_KEY = 'keepalived-lab:lab-id';

/** The guide's (and the first lab's) network: every `10.129.0.X` in the text belongs to it. */
export const GUIDE_PREFIX = '10.129.0.';

let snapshot: LabSnapshot = { status: 'idle', lab: null, vipHolder: null };

export function currentLab(): LabSnapshot {
	return snapshot;
}

export function publishLab(next: LabSnapshot): void {
	snapshot = next;
	rewriteAddresses(document, next.status === 'running' ? next.lab : null);
	document.dispatchEvent(new CustomEvent('lab:state', { detail: next }));
}

export function isLiveTarget(target: string): target is LiveTarget {
	return (LIVE_TARGETS as readonly string[]).includes(target);
}

/** The terminal(s) a target means now; null for a live target while no single node holds the VIP. */
export function resolveTarget(target: CmdTarget, vipHolder: LabNode | null): RunTarget | null {
	if (!isLiveTarget(target)) return target;
	if (vipHolder === null) return null;
	return target === 'vip' ? vipHolder : otherNode(vipHolder);
}

/** `10.129.3.0/24` → `10.129.3.` (the lab networks are /24s; a wider subnet keeps three octets too). */
export function labPrefix(subnet: string): string {
	const octets = subnet.split('/')[0]?.split('.') ?? [];
	return `${octets.slice(0, 3).join('.')}.`;
}

/** Replaces the guide's `10.129.0.` before a host number; `110.129.0.1` and `10.129.0.` alone stay. */
export function rewriteText(text: string, prefix: string): string {
	if (prefix === GUIDE_PREFIX) return text;
	return text.replace(/(?<![\d.])10\.129\.0\.(?=\d)/g, prefix);
}

// The text as rendered, keyed by its Text node, so a second lab (or none) rewrites from the
// original rather than from the previous lab's addresses.
const originals = new WeakMap<Text, string>();

/**
 * Rewrites `[data-addr]` elements (exact values from the lab) and the text inside
 * `[data-lab-rewrite]` blocks (prefix replacement); `lab === null` restores the guide's addresses.
 */
export function rewriteAddresses(root: ParentNode, lab: LabAddresses | null): void {
	for (const el of root.querySelectorAll<HTMLElement>('[data-addr]')) {
		el.dataset.addrGuide ??= el.textContent ?? '';
		el.textContent = lab
			? addressOf(lab, el.dataset.addr ?? '', el.dataset.addrGuide)
			: el.dataset.addrGuide;
	}
	const prefix = lab ? labPrefix(lab.subnet) : GUIDE_PREFIX;
	for (const block of root.querySelectorAll<HTMLElement>('[data-lab-rewrite]')) {
		const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
		for (let node = walker.nextNode(); node; node = walker.nextNode()) {
			const text = node as Text;
			const original = originals.get(text) ?? text.data;
			originals.set(text, original);
			const next = rewriteText(original, prefix);
			if (text.data !== next) text.data = next;
		}
		block.dataset.labPrefix = prefix;
	}
}

function addressOf(lab: LabAddresses, of: string, fallback: string): string {
	switch (of) {
		case 'hap1':
		case 'hap2':
			return lab.nodes[of];
		case 'vip':
			return lab.vip;
		case 'subnet':
			return lab.subnet;
		default:
			return rewriteText(fallback, labPrefix(lab.subnet));
	}
}
