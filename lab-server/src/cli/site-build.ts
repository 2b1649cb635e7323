/**
 * The course site's build for whoever serves or ships it (`npm start`, the cluster's server
 * image): `astro build` when `dist/` is missing or older than anything it is built from.
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Builds the site when `dist/` is missing or older than anything it is built from. */
export async function ensureSiteBuilt(root: string): Promise<void> {
	const built = await stat(path.join(root, 'dist/index.html')).then(
		(s) => s.mtimeMs,
		() => 0,
	);
	const sources = await newestMtime(root, [
		'src',
		'content',
		'astro.config.mjs',
		'package-lock.json',
	]);
	if (built >= sources) return;
	console.log('[site] building the course site (astro build)…');
	await new Promise<void>((resolve, reject) => {
		const child = spawn(path.join(root, 'node_modules/.bin/astro'), ['build'], {
			cwd: root,
			stdio: 'inherit',
		});
		child.on('error', reject);
		child.on('close', (code) =>
			code === 0
				? resolve()
				: reject(new Error(`"astro build" exited with ${code}: see its output above`)),
		);
	});
}

async function newestMtime(root: string, entries: string[]): Promise<number> {
	let newest = 0;
	for (const entry of entries) {
		const full = path.join(root, entry);
		const info = await stat(full).catch(() => null);
		if (!info) continue;
		if (info.isDirectory()) {
			const children = await readdir(full);
			newest = Math.max(
				newest,
				await newestMtime(
					root,
					children.map((c) => path.join(entry, c)),
				),
			);
		} else newest = Math.max(newest, info.mtimeMs);
	}
	return newest;
}
