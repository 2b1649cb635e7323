/**
 * A lab server in a process of its own, for tests that kill it as an operator's mistake or the
 * kernel would (SIGKILL: no graceful stop). Configured by the environment like `npm start`,
 * plus `LAB_IMAGE`, the node image; prints `{"port":N}` on stdout once it listens.
 */
import pino from 'pino';
import { loadConfig } from '../src/config/config';
import { connectDocker } from '../src/docker/engine';
import { createLabServer } from '../src/server';
import { loadClusterConfig } from '../src/cluster/cluster-config';

const config = loadConfig(process.env);
const image = process.env.LAB_IMAGE;
if (!image) throw new Error('LAB_IMAGE is required');
const server = createLabServer({
	config,
	log: pino({ level: config.logLevel }, pino.destination(2)),
	image,
	siteDir: null,
	docker: connectDocker(config.dockerSocket),
	cluster: loadClusterConfig(process.env),
});
const { port } = await server.start();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
