/**
 * Runs once before the Docker and browser test projects: the engine must answer, the host
 * firewall rules must be in place, and the node image for the current `docker/` folder must exist
 * (built here, with progress, when it does not). Tests never pull from a registry.
 */
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/config/config';
import { connectDocker, pingDocker } from '../src/docker/engine';
import { ensureHostFirewall } from '../src/docker/host-firewall';
import { ensureInotifyLimit } from '../src/docker/host-limits';
import { ensureNodeImage } from '../src/docker/images';
import { printProgress } from '../src/cli/progress';

export default async function setup(project: TestProject) {
	const config = loadConfig(process.env);
	const socket = config.dockerSocket;
	const docker = connectDocker(socket);
	await pingDocker(docker, socket);
	await ensureHostFirewall();
	// Several labs run at once in the tests; a stock host allows about ten (host-limits.ts).
	await ensureInotifyLimit(20);
	const image = await ensureNodeImage(docker, printProgress(), config);
	project.provide('nodeImage', image);
	project.provide('dockerSocket', socket);
}
