/**
 * Whether Docker can limit a container's writable layer itself (`--storage-opt size=`): overlay2
 * can when its data root is XFS mounted with `pquota` (README «Требования» says how to set one
 * up). Asked once at start-up by creating, not starting, a container with the option: Docker
 * refuses it at once where it is not supported.
 */
import type Docker from 'dockerode';
import { ignoreGone } from './engine';

export async function supportsStorageQuota(docker: Docker, image: string): Promise<boolean> {
	let id: string | null = null;
	try {
		const probe = await docker.createContainer({
			Image: image,
			Entrypoint: ['true'],
			Labels: { 'org.keepalived-lab.probe': 'storage-quota' },
			HostConfig: { StorageOpt: { size: '64M' }, NetworkMode: 'none', AutoRemove: false },
		});
		id = probe.id;
		return true;
	} catch {
		return false;
	} finally {
		if (id) await docker.getContainer(id).remove({ force: true }).catch(ignoreGone);
	}
}
