/**
 * `npm run cluster:up` / `cluster:down` (as root): the lab as a Swarm stack (deploy/stack.yml) on
 * the project's test hosts (test-hosts.ts): two more engines beside this machine's, labelled for
 * labs, the node and server images copied to them, the agent key a Swarm secret, the stack
 * deployed, and the hub's URL printed once it has both agents. `down` removes all of it (the
 * extra engines take their labs with them). `drain <node> [--undo]` drains a node's agent (README
 * «Draining a node»): no new lab goes there, its running labs stay served until they end.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../lab-server/src/config/config';
import { connectDocker } from '../lab-server/src/docker/engine';
import { ensureNodeImage } from '../lab-server/src/docker/images';
import { ensureSiteBuilt } from '../lab-server/src/cli/site-build';
import { SERVER_IMAGE_REPO, ensureServerImage } from './cluster-image';
import { hostsDown, hostsUp, type TestHost } from './test-hosts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const STACK = 'klab';
const SECRET = 'klab_agent_key';
/** The hub's INSTRUCTOR_SECRET (deploy/stack.yml): what an instructor signs in with. */
const INSTRUCTOR_SECRET = 'klab_instructor_secret';
const HUB_PORT = 8080;
/** The host side of the agents' TERMINAL_LINK_DIR (deploy/stack.yml). */
const LINK_DIR = '/var/lib/klab-links';
const READY_MS = 180_000;

/**
 * Deploys deploy/stack.yml on hosts that are up with `serverImage` loaded (the agents on them,
 * the hub on this machine's engine) and resolves with the hub's URL once every agent is live,
 * and the instructor secret it was deployed with.
 */
export async function deployStack(
	hosts: readonly TestHost[],
	serverImage: string,
	options: { hubPort?: number; env?: Record<string, string> } = {},
): Promise<{ url: string; instructorSecret: string }> {
	const hubPort = options.hubPort ?? HUB_PORT;
	for (const host of hosts) {
		await run('docker', ['node', 'update', '--label-add', 'klab.labs=true', host.name]);
	}
	// The agents' terminal link directory (deploy/stack.yml): the test hosts' engines share this
	// machine's filesystem.
	await mkdir(LINK_DIR, { recursive: true, mode: 0o700 });
	await createSecret(SECRET, randomBytes(32).toString('base64'));
	// The operator's own (INSTRUCTOR_SECRET), or a new one that `up` prints.
	const instructorSecret = process.env.INSTRUCTOR_SECRET || randomBytes(18).toString('base64url');
	await createSecret(INSTRUCTOR_SECRET, instructorSecret);
	// The agents register with the hub (HUB_URL), at this manager's Swarm address.
	const { stdout: manager } = await run('docker', ['info', '--format', '{{.Swarm.NodeAddr}}']);
	await run(
		'docker',
		['stack', 'deploy', '--prune', '-c', path.join(ROOT, 'deploy/stack.yml'), STACK],
		{
			env: {
				...process.env,
				TAG: serverImage,
				HUB_URL: `http://${manager.trim()}:${hubPort}`,
				HUB_PORT: String(hubPort),
				...options.env,
			},
		},
	);
	const url = `http://127.0.0.1:${hubPort}`;
	const deadline = Date.now() + READY_MS;
	for (;;) {
		const health = await fetch(`${url}/api/health`)
			.then(async (res) => (await res.json()) as { agents?: { state: string }[] })
			.catch(() => null);
		const live = health?.agents?.filter((agent) => agent.state === 'live').length ?? 0;
		if (live === hosts.length) return { url, instructorSecret };
		if (Date.now() > deadline) {
			throw new Error(
				`the hub at ${url} has ${live} of ${hosts.length} agents live after ${READY_MS / 1000} s: see "docker service ps ${STACK}_agent" and "docker service logs ${STACK}_agent"`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 1_000));
	}
}

async function createSecret(name: string, value: string): Promise<void> {
	const created = run('docker', ['secret', 'create', name, '-']);
	created.child.stdin!.end(value);
	await created;
}

async function up(): Promise<void> {
	const config = loadConfig(process.env);
	const nodeImage = await ensureNodeImage(
		connectDocker(config.dockerSocket),
		() => undefined,
		config,
	);
	const serverImage = await serverImageBuilt();
	const hosts = await hostsUp(2, [nodeImage, serverImage]);
	const { url, instructorSecret } = await deployStack(hosts, serverImage);
	console.log(`\n  keepalived-lab on ${hosts.length} engines: ${url}/`);
	console.log(`  instructor sign-in (${url}/instructor/): ${instructorSecret}\n`);
}

/** Removes the stack, its secret and the hub's volume (the test hosts stay up). */
export async function removeStack(): Promise<void> {
	await run('docker', ['stack', 'rm', STACK]).catch(() => undefined);
	// `stack rm` returns before the tasks are gone; the secret and volumes wait for them.
	const deadline = Date.now() + 60_000;
	while (Date.now() < deadline) {
		const { stdout } = await run('docker', [
			'ps',
			'-aq',
			'--filter',
			`label=com.docker.stack.namespace=${STACK}`,
		]);
		if (stdout.trim() === '') break;
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	for (const name of [SECRET, INSTRUCTOR_SECRET]) {
		await run('docker', ['secret', 'rm', name]).catch(() => undefined);
	}
	await run('docker', ['volume', 'rm', `${STACK}_hub-state`]).catch(() => undefined);
}

/**
 * Drains the agent on Swarm node `node` (its name or id), or lifts the drain: run where the hub's
 * task runs (a manager), which asks the hub inside its container, with the key its secret
 * holds — the key never leaves the Swarm. Resolves with the hub's answer (the agent's labs).
 */
export async function drainNode(
	node: string,
	draining = true,
): Promise<{ node: string; draining: boolean; labs: number | null }> {
	const { stdout: id } = await run('docker', ['node', 'inspect', '--format', '{{.ID}}', node]);
	const { stdout: containers } = await run('docker', [
		'ps',
		'-q',
		'--filter',
		`label=com.docker.swarm.service.name=${STACK}_hub`,
	]);
	const hub = containers.trim().split('\n')[0];
	if (!hub) throw new Error(`no ${STACK}_hub task on this machine: run it on the hub's node`);
	const call = [
		`const key = require('fs').readFileSync('/run/secrets/${SECRET}', 'utf8').trim();`,
		`fetch('http://127.0.0.1:4321/api/cluster/nodes/${id.trim()}/drain', {`,
		`method: '${draining ? 'POST' : 'DELETE'}', headers: { authorization: 'Bearer ' + key } })`,
		`.then(async (r) => { console.log(await r.text()); process.exit(r.ok ? 0 : 1); },`,
		`(e) => { console.error(e.message); process.exit(1); });`,
	].join(' ');
	const { stdout } = await run('docker', ['exec', hub, 'node', '-e', call]).catch(
		(error: { stdout?: string; message: string }) => {
			throw new Error(`the hub refused the drain: ${error.stdout?.trim() || error.message}`);
		},
	);
	return JSON.parse(stdout) as { node: string; draining: boolean; labs: number | null };
}

async function drain(): Promise<void> {
	const node = process.argv[3];
	if (!node) throw new Error('usage: npm run cluster:drain -- <node> [--undo]');
	const undo = process.argv.includes('--undo');
	const answer = await drainNode(node, !undo);
	console.log(
		undo
			? `  ${node}: takes new labs again`
			: `  ${node}: drained, ${answer.labs ?? '?'} labs left to finish (npm run cluster:drain -- ${node} --undo lifts it)`,
	);
}

/** The server image, the site built first when it is missing or stale. */
async function serverImageBuilt(): Promise<string> {
	await ensureSiteBuilt(ROOT);
	console.log(
		`[images] ${SERVER_IMAGE_REPO}: bundling the server and building its image when changed…`,
	);
	return ensureServerImage(ROOT);
}

/** `npm run images` (after the node image): the cluster's server image too. */
async function image(): Promise<void> {
	console.log(`[images] ready: ${await serverImageBuilt()}`);
}

async function down(): Promise<void> {
	await removeStack();
	await hostsDown();
	await rm(LINK_DIR, { recursive: true, force: true });
}

// Run as `npm run cluster:up|down`; imported (the cluster test), nothing runs.
if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
	const command = process.argv[2];
	const tasks: Record<string, () => Promise<void>> = { up, down, drain, image };
	const task = command && Object.hasOwn(tasks, command) ? tasks[command] : undefined;
	if (!task) {
		console.error(
			'usage: npm run cluster:up | npm run cluster:down | npm run cluster:drain -- <node> [--undo] | tsx scripts/cluster.ts image',
		);
		process.exit(2);
	}
	task().catch((error: unknown) => {
		console.error(`cluster ${command} failed: ${(error as Error).message}`);
		process.exit(1);
	});
}
