/** `GET /api/health`: whether the Docker engine answers and the node image is there. */
import type { ServerResponse } from 'node:http';
import type Docker from 'dockerode';
import { nodeImageStatus } from '../docker/images';
import { sendJson } from './body';

/** Says what is missing and what to run, never a host path. */
export async function health(res: ServerResponse, docker: Docker) {
	let engine = false;
	try {
		await docker.ping();
		engine = true;
	} catch {
		// Reported below.
	}
	const images = engine ? await nodeImageStatus(docker) : null;
	const ok = engine && images !== null && images.present;
	const missing = !engine
		? 'Docker engine not reachable: start it (see README, «Требования»)'
		: !images?.present
			? `node image "${images?.tag}" is missing${images?.stale.length ? ` (stale: ${images.stale.join(', ')})` : ''}: run "npm run images"`
			: undefined;
	sendJson(res, ok ? 200 : 503, {
		ok,
		docker: engine,
		images: images ? { node: images.tag, present: images.present } : null,
		...(missing ? { missing } : {}),
	});
}
