/**
 * `GET /api/health`: whether the Docker engine answers, the node image is there, and the host
 * has room for another lab (free disk in Docker's data root, free inotify instances).
 */
import type { ServerResponse } from 'node:http';
import type Docker from 'dockerode';
import type { hostHealth } from '../docker/host-health';
import { nodeImageStatus } from '../docker/images';
import { sendJson } from './body';

/** Says what is missing and what to run, never a host path. */
export async function health(
	res: ServerResponse,
	docker: Docker,
	host: ReturnType<typeof hostHealth>,
) {
	let engine = false;
	try {
		await docker.ping();
		engine = true;
	} catch {
		// Reported below.
	}
	const images = engine ? await nodeImageStatus(docker) : null;
	const { diskFreeMb, inotifyFree, problems } = await host.current();
	const ok = engine && images !== null && images.present && problems.length === 0;
	const missing = !engine
		? 'Docker engine not reachable: start it (see README, «Требования»)'
		: !images?.present
			? `node image "${images?.tag}" is missing${images?.stale.length ? ` (stale: ${images.stale.join(', ')})` : ''}: run "npm run images"`
			: problems.length > 0
				? problems.map((p) => p.code).join(', ')
				: undefined;
	sendJson(res, ok ? 200 : 503, {
		ok,
		docker: engine,
		images: images ? { node: images.tag, present: images.present } : null,
		host: { diskFreeMb, inotifyFree },
		...(missing ? { missing } : {}),
	});
}
