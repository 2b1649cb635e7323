/**
 * The lab nodes on real Docker: two nodes on their own internal network, as the previous chapter
 * leaves them, on which every command of the guide works verbatim — and which cannot get out.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDocker, execInNode } from '../src/docker/engine';
import { listLabResources } from '../src/docker/lab-network';
import { guideConfig } from '../src/course/guide-config';
import { deprovisionLab, provisionLab, type LabPlan } from '../src/docker/provision';
import { LAB_NODES } from '../src/api';
import { sh, stripAnsi, waitFor, planTestLab } from './helpers';
import { NODE_CAPABILITIES } from '../src/docker/nodes';

/** Capability numbers (linux/capability.h) of the ones a node keeps. */
const CAP_BITS: Record<(typeof NODE_CAPABILITIES)[number], number> = {
	CHOWN: 0,
	DAC_OVERRIDE: 1,
	FOWNER: 3,
	KILL: 5,
	SETGID: 6,
	SETUID: 7,
	SETPCAP: 8,
	NET_ADMIN: 12,
	NET_RAW: 13,
	AUDIT_WRITE: 29,
};

const docker = connectDocker(inject('dockerSocket'));

async function vipHolders(plan: LabPlan, containers: Record<string, string>) {
	const holders: string[] = [];
	for (const node of LAB_NODES) {
		const { stdout } = await sh(docker, containers[node]!, 'ip -4 -o addr show dev eth0');
		if (stdout.includes(` ${plan.addresses.vip}/`)) holders.push(node);
	}
	return holders;
}

describe('a lab of two nodes', () => {
	let plan: LabPlan;
	let containers: Record<string, string>;

	beforeAll(async () => {
		plan = await planTestLab(docker);
		const lab = await provisionLab(docker, plan);
		containers = lab.containers;
		console.log(`[measure] lab start (network + both nodes booted): ${lab.bootMs} ms`);
	});
	afterAll(async () => {
		if (plan) await deprovisionLab(docker, plan.labId);
	});

	it('has hap1 and hap2 as the previous chapter leaves them', async () => {
		for (const node of LAB_NODES) {
			const id = containers[node]!;
			expect((await sh(docker, id, 'hostname')).stdout.trim()).toBe(node);
			const ids = await sh(
				docker,
				id,
				'id ubuntu && sudo -n -u ubuntu sudo -n true && echo sudo-ok',
			);
			expect(ids.stdout).toMatch(/uid=1000\(ubuntu\).*\(sudo\)/);
			expect(ids.stdout).toContain('sudo-ok');
			expect((await sh(docker, id, 'systemctl is-active haproxy')).stdout.trim()).toBe('active');
			expect((await sh(docker, id, 'command -v keepalived || echo absent')).stdout.trim()).toBe(
				'absent',
			);
			for (const tool of [
				'vim',
				'nano',
				'less',
				'pkill',
				'ip',
				'ping',
				'curl',
				'tcpdump',
				'journalctl',
			]) {
				expect((await sh(docker, id, `command -v ${tool}`)).exitCode, tool).toBe(0);
			}
		}
		// Each node's web frontend names the node that served the request, from the other node.
		const fromHap1 = await sh(docker, containers.hap1!, `curl -s http://${plan.addresses.hap2}/`);
		const fromHap2 = await sh(docker, containers.hap2!, `curl -s http://${plan.addresses.hap1}/`);
		expect(fromHap1.stdout.trim()).toBe('hap2');
		expect(fromHap2.stdout.trim()).toBe('hap1');
	});

	it('shows the guide prompt in an interactive login shell', async () => {
		const exec = await docker.getContainer(containers.hap1!).exec({
			Cmd: ['bash', '-l'],
			User: 'ubuntu',
			WorkingDir: '/home/ubuntu',
			Env: ['TERM=xterm-256color'],
			Tty: true,
			AttachStdin: true,
			AttachStdout: true,
		});
		const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
		let screen = '';
		stream.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
		await waitFor(
			'the prompt',
			async () => (stripAnsi(screen).includes('ubuntu@hap1:~$') ? true : undefined),
			10_000,
		);
		stream.end('exit\n');
	});

	it('installs keepalived offline with sudo, and fails fast on unknown packages', async () => {
		const installs = await Promise.all(
			LAB_NODES.map((node) =>
				sh(docker, containers[node]!, 'sudo apt-get update && sudo apt-get install keepalived -y', {
					user: 'ubuntu',
					timeoutMs: 90_000,
				}),
			),
		);
		for (const result of installs) {
			expect(result.exitCode, result.stderr).toBe(0);
			expect(result.stdout).toMatch(/Setting up keepalived/);
		}
		const started = Date.now();
		const unknown = await sh(docker, containers.hap1!, 'sudo apt-get install -y nginx', {
			user: 'ubuntu',
			timeoutMs: 10_000,
		});
		expect(Date.now() - started).toBeLessThan(10_000);
		expect(unknown.exitCode).toBe(100);
		expect(unknown.stderr).toContain('Unable to locate package nginx');
	});

	it("runs the guide's config: one VIP holder, failover when haproxy stops, logs in /var/log/messages", async () => {
		const config = guideConfig(plan.addresses.vip);
		for (const node of LAB_NODES) {
			const id = containers[node]!;
			await execInNode(docker, id, ['tee', '/etc/keepalived/keepalived.conf'], { stdin: config });
			const test = await sh(docker, id, 'keepalived -t; echo "exit=$?"');
			expect(test.stdout.trim(), test.stderr).toBe('exit=0');
			const start = await sh(
				docker,
				id,
				'sudo systemctl enable keepalived && sudo systemctl start keepalived',
				{
					user: 'ubuntu',
				},
			);
			expect(start.exitCode, start.stderr).toBe(0);
		}
		const [holder] = await waitFor(
			'exactly one VIP holder',
			async () => {
				const holders = await vipHolders(plan, containers);
				return holders.length === 1 ? holders : undefined;
			},
			10_000,
		);
		const other = holder === 'hap1' ? 'hap2' : 'hap1';
		const client = await sh(docker, containers[other]!, `curl -s http://${plan.addresses.vip}/`);
		expect(client.stdout.trim()).toBe(holder);

		const stoppedAt = Date.now();
		await sh(docker, containers[holder!]!, 'systemctl stop haproxy');
		await waitFor(
			`the VIP to move to ${other}`,
			async () => ((await vipHolders(plan, containers)).join() === other ? true : undefined),
			6_000,
			100,
		);
		console.log(`[measure] VIP moved ${Date.now() - stoppedAt} ms after haproxy stopped`);

		const logs = await sh(
			docker,
			containers[holder!]!,
			'grep -i keepalived /var/log/messages | tail -5',
		);
		expect(logs.stdout).toMatch(/Keepalived_vrrp\[\d+\]: .*(FAULT|BACKUP|MASTER)/);
	});

	it('is isolated: no privilege, exactly the documented capabilities, limits, no way to the host', async () => {
		// The effective set of the node's processes, as /proc shows it, bit for bit.
		const expected = NODE_CAPABILITIES.reduce(
			(mask, cap) => mask | (1n << BigInt(CAP_BITS[cap])),
			0n,
		);
		for (const node of LAB_NODES) {
			const info = await docker.getContainer(containers[node]!).inspect();
			expect(info.HostConfig.Privileged).toBe(false);
			expect(info.HostConfig.CapDrop).toEqual(['ALL']);
			expect(info.HostConfig.PidsLimit).toBe(512);
			expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
			expect(info.HostConfig.CpuQuota! / info.HostConfig.CpuPeriod!).toBe(0.5);
			// Booted under BOOT_CPUS, then held to its own ceiling: by the kernel, not only on record.
			expect(await kernelCpuCeiling(info.Id)).toBe(0.5);
			expect(info.HostConfig.Ulimits).toEqual([{ Name: 'nofile', Soft: 1024, Hard: 1024 }]);
			for (const pid of ['1', '$$']) {
				const status = await sh(docker, containers[node]!, `grep CapEff /proc/${pid}/status`);
				expect(BigInt(`0x${status.stdout.split(/\s+/)[1]}`), `${node} pid ${pid}`).toBe(expected);
			}
			const learner = await sh(docker, containers[node]!, 'ulimit -n; nproc', { user: 'ubuntu' });
			expect(learner.stdout.split('\n')[0]).toBe('1024');
		}
		const network = await docker.getNetwork(`klab-${plan.labId}`).inspect();
		expect(network.Internal).toBe(true);

		// A TCP service on the host, on every address; a root learner tries the lab's gateway
		// address and, after adding a route of their own, the host's docker0 address.
		const server: Server = createServer((socket) => socket.end('host\n'));
		await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
		const port = (server.address() as { port: number }).port;
		try {
			const attempt = await sh(
				docker,
				containers.hap1!,
				[
					`timeout 3 bash -c 'exec 3<>/dev/tcp/${plan.addresses.gateway}/${port}' && echo gateway-open || echo gateway-closed`,
					'ip route add 172.17.0.1/32 dev eth0',
					`timeout 3 bash -c 'exec 3<>/dev/tcp/172.17.0.1/${port}' && echo docker0-open || echo docker0-closed`,
				].join('; '),
				{ timeoutMs: 15_000 },
			);
			expect(attempt.stdout).toContain('gateway-closed');
			expect(attempt.stdout).toContain('docker0-closed');
		} finally {
			server.close();
		}
	});
});

describe('lab lifecycle in Docker', () => {
	it('gives two labs started at once distinct subnets, and removing them leaves nothing', async () => {
		const first = await planTestLab(docker);
		const second = await planTestLab(docker, new Set([first.addresses.index]));
		expect(second.addresses.subnet).not.toBe(first.addresses.subnet);
		try {
			await Promise.all([provisionLab(docker, first), provisionLab(docker, second)]);
			const labs = await listLabResources(docker);
			expect(labs.get(first.labId)?.containers).toHaveLength(2);
			expect(labs.get(second.labId)?.containers).toHaveLength(2);
		} finally {
			await Promise.all([
				deprovisionLab(docker, first.labId),
				deprovisionLab(docker, second.labId),
			]);
		}
		const after = await listLabResources(docker);
		expect(after.has(first.labId)).toBe(false);
		expect(after.has(second.labId)).toBe(false);
	});
});

/** The CPU ceiling the kernel holds a container to, cores (cgroup v1 cgroupfs, or v2). */
async function kernelCpuCeiling(id: string): Promise<number> {
	const v1 = `/sys/fs/cgroup/cpu/docker/${id}`;
	if (existsSync(v1)) {
		const read = async (file: string) => Number(await readFile(`${v1}/${file}`, 'utf8'));
		return (await read('cpu.cfs_quota_us')) / (await read('cpu.cfs_period_us'));
	}
	for (const dir of [
		`/sys/fs/cgroup/system.slice/docker-${id}.scope`,
		`/sys/fs/cgroup/docker/${id}`,
	]) {
		if (!existsSync(dir)) continue;
		const [quota, period] = (await readFile(`${dir}/cpu.max`, 'utf8')).trim().split(' ');
		return Number(quota) / Number(period);
	}
	throw new Error(`no cgroup found for container ${id}`);
}
