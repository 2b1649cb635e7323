/**
 * Whether the host can take one more lab: free disk in Docker's data root, and free inotify
 * instances of root's (what every node's systemd needs). Measured at most every CACHE_MS; when
 * either runs low, new labs are refused with the reason (labs/room.ts) instead of failing
 * half-way, and `/api/health` and `npm start` report both.
 */
import { statfs } from 'node:fs/promises';
import type Docker from 'dockerode';
import { inotifyUsage } from './host-limits';

const CACHE_MS = 10_000;

export interface HostHealth {
	diskFreeMb: number | null;
	inotifyFree: number | null;
	/** What is low, in Russian, for the learner who cannot get a lab because of it. */
	problems: { code: 'host-low-on-disk' | 'host-low-on-inotify'; message: string }[];
}

export function hostHealth(
	docker: Docker,
	limits: { minFreeDiskMb: number; minFreeInotify: number },
) {
	let cached: { at: number; value: Promise<HostHealth> } | null = null;

	const measure = async (): Promise<HostHealth> => {
		const root = await docker
			.info()
			.then((info: { DockerRootDir?: string }) => info.DockerRootDir ?? null)
			.catch(() => null);
		const disk = root ? await statfs(root).catch(() => null) : null;
		const diskFreeMb = disk ? Math.floor((disk.bavail * disk.bsize) / 1024 / 1024) : null;
		const inotify = await inotifyUsage().catch(() => null);
		const inotifyFree = inotify ? inotify.limit - inotify.used : null;
		const problems: HostHealth['problems'] = [];
		if (diskFreeMb !== null && diskFreeMb < limits.minFreeDiskMb) {
			problems.push({
				code: 'host-low-on-disk',
				message: `На сервере заканчивается место на диске (свободно ${diskFreeMb} МБ): новые стенды не запускаются, пока администратор его не освободит.`,
			});
		}
		if (inotifyFree !== null && inotifyFree < limits.minFreeInotify) {
			problems.push({
				code: 'host-low-on-inotify',
				message: `На сервере заканчиваются ресурсы inotify (свободно ${inotifyFree}): новые стенды не запускаются, пока их не станет больше.`,
			});
		}
		return { diskFreeMb, inotifyFree, problems };
	};

	return {
		/** The host's health, measured now or at most CACHE_MS ago. */
		current(): Promise<HostHealth> {
			const now = performance.now();
			if (!cached || now - cached.at > CACHE_MS) cached = { at: now, value: measure() };
			return cached.value;
		},
	};
}
