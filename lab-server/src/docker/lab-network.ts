/**
 * A lab in Docker as a whole: its internal bridge network, everything labelled with its id (what
 * a restarted server adopts), and removing all of it.
 *
 * The network is `--internal`: no NAT, no route out; the host keeps no IPv4 address on the lab's
 * bridge (`inhibit_ipv4`), and host-firewall.ts drops anything a node sends to the host itself.
 */
import type Docker from 'dockerode';
import { ignoreGone, isNotFound } from './engine';
import { bridgeName, LABELS, networkName } from './labels';
import { linkDirOf, removeLinkDirs } from './node-links';
import type { NodeRole } from './nodes';

export interface LabNetworkSpec {
	labId: string;
	subnet: string;
	gateway: string;
	labels: Record<string, string>;
}

export async function createLabNetwork(docker: Docker, spec: LabNetworkSpec): Promise<string> {
	const network = await docker.createNetwork({
		Name: networkName(spec.labId),
		Driver: 'bridge',
		Internal: true,
		CheckDuplicate: true,
		IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet, Gateway: spec.gateway }] },
		Options: {
			'com.docker.network.bridge.name': bridgeName(spec.labId),
			// The host takes no address on the lab's bridge, so nodes have nothing of the host's
			// to talk to (the gateway address stays reserved but unused).
			'com.docker.network.bridge.inhibit_ipv4': 'true',
			'com.docker.network.bridge.enable_ip_masquerade': 'false',
		},
		Labels: { ...spec.labels, [LABELS.lab]: spec.labId },
	});
	return network.id;
}

export interface LabResources {
	labId: string;
	labels: Record<string, string>;
	networkId: string | null;
	containers: { id: string; role: NodeRole; state: string; labels: Record<string, string> }[];
}

/** Everything the lab server owns in Docker, grouped by lab: what a restarted server adopts. */
export async function listLabResources(docker: Docker): Promise<Map<string, LabResources>> {
	const labs = new Map<string, LabResources>();
	const entry = (labId: string, labels: Record<string, string>) => {
		let lab = labs.get(labId);
		if (!lab) {
			lab = { labId, labels, networkId: null, containers: [] };
			labs.set(labId, lab);
		}
		return lab;
	};
	const filters = JSON.stringify({ label: [LABELS.lab] });
	const [networks, containers] = await Promise.all([
		docker.listNetworks({ filters }),
		docker.listContainers({ all: true, filters }),
	]);
	for (const network of networks) {
		const labels = network.Labels ?? {};
		const labId = labels[LABELS.lab];
		if (labId) entry(labId, labels).networkId = network.Id;
	}
	for (const container of containers) {
		const labels = container.Labels ?? {};
		const labId = labels[LABELS.lab];
		if (!labId) continue;
		entry(labId, labels).containers.push({
			id: container.Id,
			role: labels[LABELS.node] as NodeRole,
			state: container.State,
			labels,
		});
	}
	return labs;
}

/** Removes a lab's containers (forcibly: a lab's state is disposable) and then its network. */
export async function removeLab(docker: Docker, labId: string): Promise<void> {
	const filters = JSON.stringify({ label: [`${LABELS.lab}=${labId}`] });
	const containers = await docker.listContainers({ all: true, filters });
	await Promise.all(
		containers.map((c) =>
			docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone),
		),
	);
	// Their terminal link directories, once nothing mounts them.
	await removeLinkDirs(containers.flatMap((c) => linkDirOf(c.Mounts) ?? []));
	const networks = await docker.listNetworks({ filters });
	// A removal already under way elsewhere (a reaper, a failed start cleaning up) may still hold
	// an endpoint for a moment: retry briefly instead of leaving the network behind.
	for (const network of networks) {
		for (let attempt = 0; ; attempt++) {
			try {
				await docker.getNetwork(network.Id).remove();
				break;
			} catch (error) {
				if (isNotFound(error)) break;
				if (attempt >= 50) throw error;
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
		}
	}
}

/**
 * Every IPv4 subnet any Docker network uses, ours or not: Docker refuses overlapping subnets, so
 * a lab takes the first /24 of the pool that none of these covers.
 */
export async function usedSubnets(docker: Docker): Promise<string[]> {
	const networks = await docker.listNetworks();
	return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean));
}
