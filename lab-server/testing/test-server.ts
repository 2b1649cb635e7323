/**
 * A real lab server for tests and benchmarks: 127.0.0.1, port 0, a temporary STATE_DIR (or the
 * given one, to play the next server after a restart), the given Docker engine and node image;
 * `stop()` ends its labs, stops it and removes the state; `halt()` is a restart's first half:
 * the server stops as on SIGTERM, its labs and state stay for the next one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import pino, { type Logger } from 'pino';
import type { CreatedLab } from '../src/api';
import { testConfig } from './test-config';
import type { Clock } from '../src/lib/clock';
import { createLabServer, type LabServer } from '../src/server';
import type { TerminalOptions } from '../src/terminals/options';

export interface TestServer {
	server: LabServer;
	base: string;
	wsBase: string;
	stateDir: string;
	/** POST /api/labs; throws unless 201. */
	createLab(init?: RequestInit): Promise<CreatedLab>;
	stop(): Promise<void>;
	halt(): Promise<void>;
}

export async function startTestServer(options: {
	docker: Docker;
	image: string;
	env?: Record<string, string>;
	clock?: Clock;
	terminal?: Partial<TerminalOptions>;
	log?: Logger;
	stateDir?: string;
	/** For the warm pools' refill; default: the host's CPUs. */
	hostBusy?: () => boolean;
}): Promise<TestServer> {
	const stateDir = options.stateDir ?? (await mkdtemp(path.join(tmpdir(), 'klab-test-')));
	const server = createLabServer({
		config: testConfig({ STATE_DIR: stateDir, ...options.env }),
		log: options.log ?? pino({ level: 'silent' }),
		image: options.image,
		siteDir: null,
		docker: options.docker,
		...(options.clock ? { clock: options.clock } : {}),
		...(options.terminal ? { terminal: options.terminal } : {}),
		...(options.hostBusy ? { hostBusy: options.hostBusy } : {}),
	});
	const { port } = await server.start();
	const base = `http://127.0.0.1:${port}`;
	return {
		server,
		base,
		wsBase: `ws://127.0.0.1:${port}`,
		stateDir,
		async createLab(init) {
			const res = await fetch(`${base}/api/labs`, { method: 'POST', ...init });
			if (res.status !== 201) throw new Error(`POST /api/labs: ${res.status} ${await res.text()}`);
			return (await res.json()) as CreatedLab;
		},
		async stop() {
			// No pool boots a lab behind the ones ended here.
			await server.pools.close();
			for (const lab of server.labs.list()) await server.labs.end(lab, 'deleted');
			await server.stop();
			await rm(stateDir, { recursive: true, force: true });
		},
		halt: () => server.stop(),
	};
}
