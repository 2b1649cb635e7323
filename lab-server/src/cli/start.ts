/**
 * `npm start`: everything a fresh machine with Docker needs to serve the lab, in order, each
 * step saying what it does: config, Docker, host firewall, node image (built when missing or
 * stale, with progress), the site (built when missing or older than its sources), then the
 * server. SIGTERM/SIGINT stop it and leave the labs running for the next start.
 *
 * `LAB_SITE=none` serves the API only (`npm run dev` puts Astro's dev server in front).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../config/config';
import { connectDocker, pingDocker } from '../docker/engine';
import { ensureHostFirewall } from '../docker/host-firewall';
import { hostHealth } from '../docker/host-health';
import { ensureInotifyLimit } from '../docker/host-limits';
import { ensureNodeImage } from '../docker/images';
import { createLabServer } from '../server';
import { startHub } from '../cluster/hub-start';
import { loadClusterConfig } from '../cluster/cluster-config';
import { printProgress } from './progress';
import { ensureSiteBuilt } from './site-build';
import { runCli } from './run-cli';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

runCli(async () => {
	const config = loadConfig(process.env);
	const cluster = loadClusterConfig(process.env);
	const log = pino({ level: config.logLevel, base: undefined });
	// The hub holds no lab and needs no Docker engine (cluster/hub-server.ts).
	if (cluster.role === 'hub') {
		if (config.site === 'dist') await ensureSiteBuilt(ROOT);
		return startHub(config, cluster, log, config.site === 'dist' ? path.join(ROOT, 'dist') : null);
	}
	const docker = connectDocker(config.dockerSocket);
	await pingDocker(docker, config.dockerSocket);
	await ensureHostFirewall();
	await ensureInotifyLimit(config.maxLabs);
	const image = await ensureNodeImage(docker, printProgress(), config);
	const host = await hostHealth(docker, {
		minFreeDiskMb: config.hostMinFreeDiskMb,
		minFreeInotify: 2 * config.nodeInotifyInstances,
	}).current();
	console.log(
		`[host] free disk in Docker's data root: ${host.diskFreeMb ?? '?'} MB; free inotify instances: ${host.inotifyFree ?? '?'}`,
	);
	for (const problem of host.problems)
		console.log(`[host] ${problem.code}: new labs are refused until it is fixed`);
	const serveSite = config.site === 'dist' && cluster.role === 'all';
	if (serveSite) await ensureSiteBuilt(ROOT);

	const server = createLabServer({
		config,
		log,
		image,
		docker,
		siteDir: serveSite ? path.join(ROOT, 'dist') : null,
		cluster,
	});
	try {
		const { port } = await server.start();
		const host = config.host === '0.0.0.0' ? 'localhost' : config.host;
		console.log(`\n  keepalived-lab: http://${host}:${port}/\n`);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
			throw new Error(
				`Port ${config.port} is in use: stop whatever serves it, or start with PORT=<another port> npm start`,
			);
		}
		throw error;
	}
	let stopping = false;
	for (const signal of ['SIGTERM', 'SIGINT'] as const) {
		process.on(signal, () => {
			if (stopping) process.exit(1);
			stopping = true;
			console.log(`\n  ${signal}: stopping; labs keep running and are adopted by the next start`);
			server.stop().then(
				() => process.exit(0),
				(error: unknown) => {
					log.error({ err: error }, 'stop failed');
					process.exit(1);
				},
			);
		});
	}
});
