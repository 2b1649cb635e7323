/**
 * `npm start` with `ROLE=hub`: the hub listens, and SIGTERM/SIGINT stop it (the labs live on
 * their agents and are routed again by the next hub from its agents' reports).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import type { ClusterConfig } from './cluster-config';
import { createHubServer } from './hub-server';

export async function startHub(
	config: Config,
	cluster: ClusterConfig,
	log: Logger,
	siteDir: string | null,
): Promise<void> {
	const hub = createHubServer({ config, cluster, log, siteDir });
	const { port } = await hub.start();
	const host = config.host === '0.0.0.0' ? 'localhost' : config.host;
	// With no HUB_AGENTS the agents come by registration (HUB_URL on each agent).
	const agents = cluster.hubAgents.length || 'registering';
	console.log(`\n  keepalived-lab hub (agents: ${agents}): http://${host}:${port}/\n`);
	for (const signal of ['SIGTERM', 'SIGINT'] as const) {
		process.once(signal, () => {
			hub.stop().then(
				() => process.exit(0),
				(error: unknown) => {
					log.error({ err: error }, 'hub stop failed');
					process.exit(1);
				},
			);
		});
	}
}
