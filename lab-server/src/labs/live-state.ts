/**
 * The one source of truth for a lab's VRRP state: each node's observer (observer.ts) reports,
 * and this module turns the reports into `lab.nodes`, `lab.vipHistory` and the `node` and `vip`
 * events. The API's view, the checks, the drills' validation and the workshop dashboard all read
 * what is here, so they can never disagree about who holds the VIP.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { LAB_NODES, type LabNode } from '../api';
import type { Clock } from '../lib/clock';
import { vipHolder, type Lab } from './lab';
import { observeNode, type NodeObserver, type NodeReport } from './observer';

/** vipHistory keeps this many changes (a learner flapping keepalived must not grow it forever). */
const VIP_HISTORY_MAX = 1000;

/** Applies one node's report to the lab, emitting `node` and, when the holder changed, `vip`. */
export function applyReport(lab: Lab, node: LabNode, report: NodeReport, now: number): void {
	const before = vipHolder(lab);
	const hasVip = report.addresses.some((a) => a.split('/')[0] === lab.addresses.vip);
	lab.nodes[node] = {
		...lab.nodes[node],
		state: 'running',
		keepalived: report.keepalived,
		haproxy: report.haproxy,
		hasVip,
	};
	const at = new Date(now).toISOString();
	lab.events.emit('node', {
		node,
		keepalived: report.keepalived,
		haproxy: report.haproxy,
		hasVip,
		at,
	});
	const after = vipHolder(lab);
	if (after !== before) {
		lab.vipHistory.push({ holder: after, at });
		if (lab.vipHistory.length > VIP_HISTORY_MAX) lab.vipHistory.shift();
		lab.events.emit('vip', { holder: after, at });
	}
}

/** The observers of one lab's nodes. */
export interface LabWatch {
	/** (Re)starts the node's observer: after a reset its container is a new one. */
	watch(node: LabNode): void;
	unwatch(node: LabNode): void;
	stop(): void;
}

export function watchLab(lab: Lab, deps: { docker: Docker; clock: Clock; log: Logger }): LabWatch {
	const observers = new Map<LabNode, NodeObserver>();
	const unwatch = (node: LabNode) => {
		observers.get(node)?.stop();
		observers.delete(node);
	};
	const watch = (node: LabNode) => {
		unwatch(node);
		observers.set(
			node,
			observeNode(
				deps.docker,
				lab.containers[node],
				(report) => applyReport(lab, node, report, deps.clock.now()),
				{ clock: deps.clock, log: deps.log.child({ labId: lab.id, node }) },
			),
		);
	};
	for (const node of LAB_NODES) watch(node);
	return {
		watch,
		unwatch,
		stop() {
			for (const node of LAB_NODES) unwatch(node);
		},
	};
}
