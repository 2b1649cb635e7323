/**
 * Running the checks on a lab: the probes every requested check needs, in one exec per node
 * (both nodes at once), then every check judged from that and from the lab's live records.
 */
import type Docker from 'dockerode';
import { LAB_NODES, type CheckResult, type LabNode } from '../api';
import type { Lab } from '../labs/lab';
import { probeNode, type NodeFacts, type Probes } from './probes';
import { CHECKS, findCheck, type CheckSpec, type LabRecords } from './specs';

/** Everything a check is judged from. */
export interface LabFacts extends LabRecords {
	nodes: Record<LabNode, NodeFacts>;
}

/**
 * Runs the checks on a lab: all of them in course order, or only the one with id `only` (which
 * must exist: RangeError otherwise).
 */
export async function runChecks(
	docker: Docker,
	lab: Pick<Lab, 'containers' | 'addresses' | 'nodes' | 'vipHistory'>,
	only?: string,
): Promise<CheckResult[]> {
	const specs = only === undefined ? CHECKS : [findCheck(only)];
	const probes = [...new Set(specs.flatMap((spec) => spec.probes))];
	const answers = await Promise.all(
		LAB_NODES.map((node) =>
			probes.length ? probeNode(docker, lab.containers[node], probes) : { probes: {} },
		),
	);
	const nodes = Object.fromEntries(LAB_NODES.map((node, i) => [node, answers[i]!])) as Record<
		LabNode,
		NodeFacts
	>;
	// Read after the probes: the live records are judged as they are when the answers are in.
	return evaluateChecks(specs, {
		nodes,
		vip: lab.addresses.vip,
		history: lab.vipHistory,
		live: lab.nodes,
	});
}

/** Judges `specs` from what the nodes answered (pure: unit tests feed it facts directly). */
export function evaluateChecks(specs: readonly CheckSpec[], facts: LabFacts): CheckResult[] {
	return specs.map((spec) => {
		const { id, step, title } = spec;
		const unreachable =
			spec.probes.length || spec.live
				? LAB_NODES.filter((node) => 'error' in facts.nodes[node])
				: [];
		if (unreachable.length) {
			const message = unreachable
				.map((node) => {
					const { error } = facts.nodes[node] as { error: string };
					return `Не удалось опросить ${node}: ${error}. Проверка повторится сама; если узел завис, сбросьте его («Сбросить стенд»).`;
				})
				.join('\n');
			return { id, step, title, status: 'pending', message };
		}
		const nodes = Object.fromEntries(
			LAB_NODES.map((node) => [node, (facts.nodes[node] as { probes: Probes }).probes]),
		) as Record<LabNode, Probes>;
		return { id, step, title, ...spec.judge(nodes, facts) };
	});
}
