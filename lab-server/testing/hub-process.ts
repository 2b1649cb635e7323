/**
 * A hub (`ROLE=hub`) in a process of its own, for the cluster tests that restart it. Configured
 * by the environment like `npm start`; prints `{"port":N}` on stdout once it listens.
 */
import pino from 'pino';
import { loadConfig } from '../src/config/config';
import { createHubServer } from '../src/cluster/hub-server';
import { loadClusterConfig } from '../src/cluster/cluster-config';

const config = loadConfig(process.env);
const hub = createHubServer({
	config,
	cluster: loadClusterConfig(process.env),
	log: pino({ level: config.logLevel }, pino.destination(2)),
	siteDir: null,
});
const { port } = await hub.start();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', () => void hub.stop().then(() => process.exit(0)));
