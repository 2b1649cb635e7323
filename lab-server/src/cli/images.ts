/**
 * `npm run images`: builds the lab's node image (and its Debian base, when needed) unless the
 * image for the current `docker/` folder is already present.
 */
import { loadConfig } from '../config/config';
import { connectDocker, pingDocker } from '../docker/engine';
import { ensureNodeImage } from '../docker/images';
import { printProgress } from './progress';
import { runCli } from './run-cli';

runCli(async () => {
	const config = loadConfig(process.env);
	const docker = connectDocker(config.dockerSocket);
	await pingDocker(docker, config.dockerSocket);
	const tag = await ensureNodeImage(docker, printProgress(), config);
	console.log(`[images] ready: ${tag}`);
});
