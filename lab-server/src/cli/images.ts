/**
 * `npm run images`: builds the lab's node image (and its Debian base, when needed) unless the
 * image for the current `docker/` folder is already present.
 */
import { connectDocker, pingDocker } from '../docker/engine';
import { ensureNodeImage } from '../docker/images';
import { printProgress } from './progress';
import { runCli } from './run-cli';

runCli(async () => {
	const socket = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';
	const docker = connectDocker(socket);
	await pingDocker(docker, socket);
	const tag = await ensureNodeImage(docker, printProgress());
	console.log(`[images] ready: ${tag}`);
});
