/**
 * A hub and its agents as processes of their own on the test hosts (scripts/test-hosts.ts): each
 * agent is `server-process.ts` with `ROLE=agent`, run with `nsenter` inside its engine's network
 * namespace and listening on the engine's address, as the global agent service would run on its
 * node; the hub is `hub-process.ts` on this machine. Each prints `{"port":N}` once it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface Started {
	child: ChildProcess;
	port: number;
	/** SIGTERM (or `signal`), resolved when the process has exited. */
	stop(signal?: NodeJS.Signals): Promise<void>;
}

const TSX = ['--import', 'tsx'];

async function started(child: ChildProcess, what: string): Promise<Started> {
	const exited = once(child, 'exit');
	const line = await Promise.race([
		once(createInterface({ input: child.stdout! }), 'line').then(([text]) => String(text)),
		exited.then(([code]) => {
			throw new Error(`${what} exited with ${code} before it listened`);
		}),
	]);
	const { port } = JSON.parse(line) as { port: number };
	return {
		child,
		port,
		async stop(signal = 'SIGTERM') {
			if (child.exitCode !== null || child.signalCode !== null) return;
			child.kill(signal);
			await exited;
		},
	};
}

/** An agent for the engine in network namespace `netns`, on `address:port`. */
export function startAgent(options: {
	/** Its engine's network namespace; none: this machine's (the benchmark's single agent). */
	netns?: string;
	address: string;
	port: number;
	socket: string;
	agentId: string;
	key: string;
	stateDir: string;
	image: string;
	/** More variables (the benchmark's limits). */
	env?: Record<string, string>;
}): Promise<Started> {
	const command = [process.execPath, ...TSX, path.resolve('lab-server/testing/server-process.ts')];
	if (options.netns) command.unshift('nsenter', `--net=/run/netns/${options.netns}`);
	const child = spawn(command[0]!, command.slice(1), {
		env: {
			...process.env,
			ROLE: 'agent',
			AGENT_ID: options.agentId,
			AGENT_KEY: options.key,
			HOST: options.address,
			PORT: String(options.port),
			DOCKER_SOCKET: options.socket,
			STATE_DIR: options.stateDir,
			WARM_LABS: '0',
			LAB_IMAGE: options.image,
			LOG_LEVEL: 'warn',
			...options.env,
		},
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	return started(child, `agent "${options.agentId}"`);
}

export function startHub(options: {
	agents: readonly string[];
	key: string;
	stateDir: string;
	/** More variables (the instructor's secret, the caps). */
	env?: Record<string, string>;
}): Promise<Started> {
	const child = spawn(
		process.execPath,
		[...TSX, path.resolve('lab-server/testing/hub-process.ts')],
		{
			env: {
				...process.env,
				ROLE: 'hub',
				AGENT_KEY: options.key,
				HUB_AGENTS: options.agents.join(','),
				HOST: '127.0.0.1',
				PORT: '0',
				STATE_DIR: options.stateDir,
				LOG_LEVEL: 'warn',
				...options.env,
			},
			stdio: ['ignore', 'pipe', 'inherit'],
		},
	);
	return started(child, 'hub');
}
