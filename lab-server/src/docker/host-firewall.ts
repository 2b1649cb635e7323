/**
 * Host firewall rules that every lab network relies on. Installed (idempotently) when the lab
 * server starts and before a lab network is created; they match all lab bridges at once through
 * the shared `klab-` interface prefix (see docker.ts, `bridgeName`), so there is nothing per lab
 * to add or clean up.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Rule {
	binary: 'iptables' | 'ip6tables';
	chain: string;
	spec: string[];
	why: string;
}

export const HOST_RULES: readonly Rule[] = [
	{
		binary: 'iptables',
		chain: 'DOCKER-USER',
		spec: ['-i', 'klab+', '-o', 'klab+', '-d', '224.0.0.0/24', '-j', 'ACCEPT'],
		// Docker drops everything on an --internal network whose destination is outside its
		// subnet, and with br_netfilter that includes bridged multicast: VRRP adverts to
		// 224.0.0.18 never reach the peer and both nodes become MASTER. Link-local multicast
		// is never routed by the host, so this only lets it cross the lab's own bridge.
		why: 'VRRP multicast within a lab network',
	},
	{
		binary: 'iptables',
		chain: 'INPUT',
		spec: ['-i', 'klab+', '-j', 'DROP'],
		// The host has no address on a lab bridge, but Linux accepts packets for any of its
		// addresses on any interface: a node that adds a route to, say, 172.17.0.1 would reach
		// the host's services (the lab server among them).
		why: 'nodes cannot reach the host',
	},
	{
		binary: 'ip6tables',
		chain: 'INPUT',
		spec: ['-i', 'klab+', '-j', 'DROP'],
		why: 'nodes cannot reach the host over IPv6 link-local addresses',
	},
];

export class HostFirewallError extends Error {
	override name = 'HostFirewallError';
}

/**
 * Inserts each rule unless it is already there. Needs root (the lab server runs as root).
 * `netns`: a named network namespace to install them in instead of the server's own, for the
 * project's test hosts (scripts/test-hosts.ts), whose engines each live in one.
 */
export async function ensureHostFirewall(netns?: string): Promise<void> {
	const iptables = (binary: Rule['binary'], args: string[]) =>
		netns ? run('nsenter', [`--net=/run/netns/${netns}`, binary, ...args]) : run(binary, args);
	for (const rule of HOST_RULES) {
		const args = [rule.chain, ...rule.spec];
		try {
			await iptables(rule.binary, ['-w', '-C', ...args]);
			continue;
		} catch {
			// -C exits 1 when the rule is missing: insert it below.
		}
		try {
			await iptables(rule.binary, ['-w', '-I', ...args]);
		} catch (error) {
			throw new HostFirewallError(
				`Cannot install the host firewall rule for ${rule.why} (${rule.binary} -I ${args.join(' ')}): run the lab server as root on the Docker host, with iptables installed`,
				{ cause: error },
			);
		}
	}
}
