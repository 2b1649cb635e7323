/**
 * `npm run cluster:hosts -- up [--engines N] [--image TAG …] | down | status`: the project's own
 * test hosts for running on Docker Swarm. Beside the machine's Docker engine (the first host)
 * it starts N more (default 2), each a `dockerd` in its own network, mount and UTS namespace,
 * with its own data root, its own socket and a veth pair into one bridge, and joins them all into
 * one Swarm with the first engine as its manager. `down` stops all of it: the Swarm (when `up`
 * made it), the engines, their namespaces, links and data roots. What `up` started is written
 * to STATE_FILE, so `down` removes exactly that, also after a failed `up`.
 *
 * Why each namespace:
 * - network, entered with `nsenter --net` (not `ip netns exec`, which remounts `/sys` and hides
 *   the cgroup tree: dockerd then fails with "Devices cgroup isn't mounted");
 * - mount, with a private tmpfs on `/run`: the engines share one filesystem, so a service that
 *   mounts `/var/run/docker.sock` would get the first engine's socket on every node; in its own
 *   mount namespace each engine listens on `/var/run/docker.sock` there (its containers' view),
 *   and on `<data root>/docker.sock` for this script and the tests;
 * - UTS, so that `docker node ls` names each engine (`klab-eng2`…) rather than all "vm".
 *
 * The bridge and the veth ends are not named `klab…`: the lab server's host firewall drops
 * input from `klab+` interfaces (its lab networks), which would cut the Swarm's control port.
 * Nothing is pulled: images go to each engine with `docker save | docker load` (`--image`).
 */
import { spawn, execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { openSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

const STATE_FILE = '/run/klab-test-hosts.json';
const BRIDGE = 'kclbr0';
/** The hosts' own /24: the first engine is .1 on the bridge, engine i is .i in its namespace. */
const SUBNET = '10.210.0';
const DATA_ROOT = '/var/lib/klab-test-hosts';
const SWARM_PORT = 2377;
const ENGINE_START_MS = 60_000;
const JOIN_ATTEMPTS = 3;

export interface TestHost {
	/** `klab-eng2`…: its hostname, network namespace and data root's name. */
	name: string;
	address: string;
	/** Its socket as seen from this machine's mount namespace. */
	socket: string;
	pid: number;
}

interface State {
	bridge: boolean;
	/** Whether `up` initialized the Swarm on the first engine (then `down` leaves it). */
	swarmInit: boolean;
	hosts: TestHost[];
}

const hostName = (i: number) => `klab-eng${i}`;
const dockerOn = (socket: string | null, ...args: string[]) =>
	run('docker', socket ? ['-H', `unix://${socket}`, ...args] : args, { maxBuffer: 1 << 24 });

async function readState(): Promise<State | null> {
	try {
		return JSON.parse(await readFile(STATE_FILE, 'utf8')) as State;
	} catch {
		return null;
	}
}
const saveState = (state: State) => writeFile(STATE_FILE, JSON.stringify(state, null, '\t'));

async function ip(...args: string[]): Promise<void> {
	await run('ip', args);
}

async function swarmState(socket: string | null): Promise<{ state: string; nodeId: string }> {
	const { stdout } = await dockerOn(
		socket,
		'info',
		'--format',
		'{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}',
	);
	const [state = '', nodeId = ''] = stdout.trim().split(' ');
	return { state, nodeId };
}

async function startEngine(i: number): Promise<TestHost> {
	const name = hostName(i);
	const address = `${SUBNET}.${i}`;
	const root = `${DATA_ROOT}/${name}`;
	await ip('netns', 'add', name);
	await ip('link', 'add', `kcl-e${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
	await ip('link', 'set', `kcl-e${i}`, 'master', BRIDGE, 'up');
	await ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
	await ip('-n', name, 'link', 'set', 'eth0', 'up');
	await ip('-n', name, 'link', 'set', 'lo', 'up');
	await ip('-n', name, 'route', 'add', 'default', 'via', `${SUBNET}.1`);
	await mkdir(root, { recursive: true });
	const socket = `${root}/docker.sock`;
	const inside = [
		'mount -t tmpfs -o mode=755 tmpfs /run',
		`hostname ${name}`,
		`exec dockerd --data-root ${root}/data -H unix:///var/run/docker.sock -H unix://${socket}`,
	].join(' && ');
	const log = openSync(`${root}/dockerd.log`, 'a');
	const child = spawn(
		'nsenter',
		[`--net=/run/netns/${name}`, 'unshare', '--mount', '--uts', '--propagation', 'private'].concat([
			'sh',
			'-c',
			inside,
		]),
		{ detached: true, stdio: ['ignore', log, log] },
	);
	child.unref();
	const deadline = Date.now() + ENGINE_START_MS;
	for (;;) {
		try {
			await dockerOn(socket, 'version', '--format', '{{.Server.Version}}');
			break;
		} catch (error) {
			if (child.exitCode !== null || Date.now() > deadline) {
				throw new Error(
					`engine "${name}" did not start (see "${root}/dockerd.log"): ${String(error)}`,
				);
			}
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
	}
	return { name, address, socket, pid: child.pid! };
}

/** Joins, and joins again after a join that timed out and left the engine in `error`. */
async function join(host: TestHost, token: string): Promise<void> {
	for (let attempt = 1; ; attempt++) {
		try {
			await dockerOn(
				host.socket,
				'swarm',
				'join',
				'--token',
				token,
				'--advertise-addr',
				host.address,
				`${SUBNET}.1:${SWARM_PORT}`,
			);
		} catch (error) {
			if (attempt >= JOIN_ATTEMPTS) throw error;
		}
		if ((await swarmState(host.socket)).state === 'active') return;
		if (attempt >= JOIN_ATTEMPTS) throw new Error(`engine "${host.name}" did not join the Swarm`);
		await dockerOn(host.socket, 'swarm', 'leave', '--force').catch(() => undefined);
	}
}

/** `docker save TAG | docker -H <host> load`, for each host in parallel. */
async function copyImage(tag: string, hosts: readonly TestHost[]): Promise<void> {
	await Promise.all(
		hosts.map(
			(host) =>
				new Promise<void>((resolve, reject) => {
					const save = spawn('docker', ['save', tag], { stdio: ['ignore', 'pipe', 'inherit'] });
					const load = spawn('docker', ['-H', `unix://${host.socket}`, 'load', '-q'], {
						stdio: ['pipe', 'ignore', 'inherit'],
					});
					save.stdout.pipe(load.stdin);
					load.on('exit', (code) =>
						code === 0 ? resolve() : reject(new Error(`loading "${tag}" on "${host.name}" failed`)),
					);
				}),
		),
	);
}

export async function hostsUp(engines: number, images: readonly string[]): Promise<TestHost[]> {
	if (await readState()) {
		throw new Error(
			`test hosts are already up ("${STATE_FILE}"): run "npm run cluster:hosts -- down" first`,
		);
	}
	const first = await swarmState(null);
	if (first.state !== 'inactive') {
		throw new Error(
			`this machine's Docker engine is already in a Swarm (${first.state}): the test hosts make their own; leave it first ("docker swarm leave --force")`,
		);
	}
	const state: State = { bridge: false, swarmInit: false, hosts: [] };
	await saveState(state);
	await ip('link', 'add', BRIDGE, 'type', 'bridge');
	state.bridge = true;
	await saveState(state);
	await ip('addr', 'add', `${SUBNET}.1/24`, 'dev', BRIDGE);
	await ip('link', 'set', BRIDGE, 'up');
	for (let i = 2; i < 2 + engines; i++) {
		const host = await startEngine(i);
		state.hosts.push(host);
		await saveState(state);
		console.error(`[hosts] ${host.name} up (pid ${host.pid}, ${host.socket})`);
	}
	await dockerOn(
		null,
		'swarm',
		'init',
		'--advertise-addr',
		`${SUBNET}.1`,
		'--listen-addr',
		`${SUBNET}.1:${SWARM_PORT}`,
	);
	state.swarmInit = true;
	await saveState(state);
	const { stdout: token } = await dockerOn(null, 'swarm', 'join-token', '-q', 'worker');
	for (const host of state.hosts) await join(host, token.trim());
	for (const tag of images) {
		console.error(`[hosts] copying image "${tag}" to ${state.hosts.length} engines`);
		await copyImage(tag, state.hosts);
	}
	return state.hosts;
}

export async function hostsDown(): Promise<void> {
	const state = await readState();
	if (!state) return;
	for (const host of state.hosts) {
		await dockerOn(host.socket, 'swarm', 'leave', '--force').catch(() => undefined);
	}
	if (state.swarmInit) {
		await dockerOn(null, 'swarm', 'leave', '--force').catch(() => undefined);
		// `swarm init` made it and `swarm leave` keeps it: it is ours to remove.
		await dockerOn(null, 'network', 'rm', 'docker_gwbridge').catch(() => undefined);
	}
	for (const host of state.hosts) {
		try {
			process.kill(host.pid, 'SIGTERM');
		} catch {
			continue; // already gone
		}
		const deadline = Date.now() + 30_000;
		while (Date.now() < deadline && isAlive(host.pid)) {
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
		if (isAlive(host.pid)) process.kill(host.pid, 'SIGKILL');
	}
	for (const host of state.hosts) {
		await ip('netns', 'del', host.name).catch(() => undefined);
		await rm(`${DATA_ROOT}/${host.name}`, { recursive: true, force: true });
	}
	if (state.bridge) await ip('link', 'del', BRIDGE).catch(() => undefined);
	await rm(STATE_FILE, { force: true });
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

const USAGE = 'usage: npm run cluster:hosts -- up [--engines N] [--image TAG …] | down | status';

async function main(argv: readonly string[]): Promise<void> {
	const [command, ...rest] = argv;
	if (command === 'down') return hostsDown();
	if (command === 'status') {
		const state = await readState();
		if (!state) return void console.log('no test hosts are up');
		for (const host of state.hosts) console.log(`${host.name}\t${host.address}\t${host.socket}`);
		console.log((await dockerOn(null, 'node', 'ls')).stdout.trimEnd());
		return;
	}
	if (command !== 'up') throw new Error(USAGE);
	let engines = 2;
	const images: string[] = [];
	for (let i = 0; i < rest.length; i++) {
		const arg = rest[i];
		const value = rest[++i];
		if (arg === '--engines' && value && /^[1-8]$/.test(value)) engines = Number(value);
		else if (arg === '--image' && value) images.push(value);
		else throw new Error(`unknown or bad argument "${arg}"; ${USAGE}`);
	}
	try {
		const hosts = await hostsUp(engines, images);
		for (const host of hosts) console.log(`${host.name}\tDOCKER_HOST=unix://${host.socket}`);
	} catch (error) {
		console.error('[hosts] up failed; removing what it started');
		await hostsDown();
		throw error;
	}
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
	main(process.argv.slice(2)).catch((error: unknown) => {
		console.error(error instanceof Error ? error.message : error);
		process.exit(1);
	});
}
