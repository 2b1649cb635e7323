/**
 * The project's test hosts (scripts/test-hosts.ts) on real Docker: two more engines on this
 * machine joined into one Swarm with the first. What a lab agent per engine needs from them is
 * checked here: each engine is a host of its own to the Swarm, a service that mounts the Docker
 * socket reaches its own engine (not the first one's), a lab runs whole on an extra engine with
 * VRRP failing over inside it, and `down` leaves nothing behind.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDocker } from '../src/docker/engine';
import { ensureHostFirewall } from '../src/docker/host-firewall';
import { LAB_NODES, type LabNode } from '../src/api';
import { hostsDown, hostsUp, type TestHost } from '../../scripts/test-hosts';
import type { TestLab } from '../testing/test-labs';
import { installGuideKeepalived, provisionTestLab, sh, waitFor } from './helpers';

const run = promisify(execFile);
const image = inject('nodeImage');
const SERVICE = 'klab-t-socket-probe';

describe('test hosts: three Docker engines in one Swarm on this machine', () => {
	let hosts: TestHost[] = [];

	beforeAll(async () => {
		// Hosts already up (someone's `cluster:hosts up`, or a killed run) are not torn down
		// here: `up` refuses with what to run.
		hosts = await hostsUp(2, [image]);
	});

	afterAll(async () => {
		if (hosts.length === 0) return; // not ours: up refused
		await run('docker', ['service', 'rm', SERVICE]).catch(() => undefined);
		await hostsDown();
	});

	it('joins every engine into the Swarm, each under its own name', async () => {
		const { stdout } = await run('docker', ['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
		const nodes = stdout.trim().split('\n');
		expect(nodes).toHaveLength(3);
		expect(nodes.every((line) => line.endsWith(' Ready'))).toBe(true);
		for (const host of hosts) expect(nodes).toContain(`${host.name} Ready`);
	});

	it("gives a global service's task on each engine that engine's own Docker socket", async () => {
		// Each task asks the socket it mounted which Swarm node its engine is, as an agent would
		// (the first NodeID of `/info` is the engine's own; the managers' come after it).
		await run('docker', [
			'service',
			'create',
			'--quiet',
			'--detach',
			'--name',
			SERVICE,
			'--mode',
			'global',
			'--restart-condition',
			'none',
			'--mount',
			'type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock',
			'--entrypoint',
			'/bin/sh',
			image,
			'-c',
			'curl -s --unix-socket /var/run/docker.sock http://engine/info | grep -o "\\"NodeID\\":\\"[a-z0-9]*\\"" | head -1',
		]);
		const { stdout: nodeIds } = await run('docker', ['node', 'ls', '--format', '{{.ID}}']);
		const seen = await waitFor(
			'every task to print its engine',
			async () => {
				const { stdout } = await run('docker', ['service', 'logs', '--raw', SERVICE]);
				const ids = [...stdout.matchAll(/"NodeID":"([a-z0-9]+)"/g)].map((match) => match[1]);
				return ids.length >= 3 ? ids.sort() : undefined;
			},
			60_000,
			500,
		);
		expect(seen).toEqual(nodeIds.trim().split('\n').sort());
	});

	it('runs a lab whole on an extra engine: the guide’s pair elects a MASTER and the VIP moves when haproxy stops', async () => {
		const host = hosts[0]!;
		const docker = connectDocker(host.socket);
		// What the engine's lab agent does on start, in the engine's network namespace.
		await ensureHostFirewall(host.name);
		let testLab: TestLab | undefined;
		try {
			testLab = await provisionTestLab(docker);
			const { lab } = testLab;
			await installGuideKeepalived(docker, lab);
			await Promise.all(
				LAB_NODES.map((node) => sh(docker, lab.containers[node], 'systemctl start keepalived')),
			);
			const holders = async () => {
				const found: LabNode[] = [];
				for (const node of LAB_NODES) {
					const { stdout } = await sh(docker, lab.containers[node], 'ip -4 -o addr show eth0');
					if (stdout.includes(` ${lab.addresses.vip}/`)) found.push(node);
				}
				return found;
			};
			const one = async () => {
				const found = await holders();
				return found.length === 1 ? found[0] : undefined;
			};
			const master = await waitFor('one node to hold the VIP', one, 30_000, 250);
			await sh(docker, lab.containers[master], 'systemctl stop haproxy');
			const next = await waitFor(
				'the VIP to move to the other node',
				async () => {
					const holder = await one();
					return holder && holder !== master ? holder : undefined;
				},
				30_000,
				250,
			);
			expect(next).not.toBe(master);
		} finally {
			await testLab?.remove();
		}
	});

	it('leaves nothing behind after down: no engines, namespaces, links or Swarm', async () => {
		const pids = hosts.map((host) => host.pid);
		await hostsDown();
		for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
		const { stdout: namespaces } = await run('ip', ['netns', 'list']);
		expect(namespaces).not.toMatch(/klab-eng/);
		const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
		expect(links).not.toMatch(/kclbr0|kcl-e/);
		const { stdout: swarm } = await run('docker', [
			'info',
			'--format',
			'{{.Swarm.LocalNodeState}}',
		]);
		expect(swarm.trim()).toBe('inactive');
		const { stdout: networks } = await run('docker', ['network', 'ls', '--format', '{{.Name}}']);
		expect(networks.split('\n')).not.toContain('docker_gwbridge');
	});
});
