/**
 * The lab's node image: which tag the current `docker/` folder builds, whether it is present,
 * and building it (with its Debian base) when it is not. Nothing here ever pulls from a registry:
 * the base is the local `debian:bookworm-slim` when present, else one made with debootstrap.
 */
import { createHash } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import tar from 'tar-fs';
import { isNotFound } from './engine';

export const DOCKER_DIR = fileURLToPath(new URL('../../../docker/', import.meta.url));
export const NODE_IMAGE_REPO = 'keepalived-lab/node';
export const DEBOOTSTRAP_BASE = 'keepalived-lab/base:bookworm';
const SLIM_BASE = 'debian:bookworm-slim';

export type ProgressEvent =
	| { phase: 'base'; message: string }
	| { phase: 'build'; step: number; steps: number; message: string }
	| { phase: 'output'; message: string }
	| { phase: 'done'; message: string };

export type OnProgress = (event: ProgressEvent) => void;

export class ImageBuildError extends Error {
	override name = 'ImageBuildError';
}

/**
 * The node image's tag: a hash of every file under `docker/` (path, executable bit, content), so
 * a change there yields a new tag and a rebuild, and nothing else does.
 */
export async function nodeImageTag(dockerDir = DOCKER_DIR): Promise<string> {
	const hash = createHash('sha256');
	for (const file of await listFiles(dockerDir)) {
		const info = await stat(path.join(dockerDir, file));
		hash.update(`${file}\0${info.mode & 0o111 ? 'x' : '-'}\0`);
		hash.update(await readFile(path.join(dockerDir, file)));
		hash.update('\0');
	}
	return `${NODE_IMAGE_REPO}:${hash.digest('hex').slice(0, 12)}`;
}

export interface ImageStatus {
	tag: string;
	present: boolean;
	/** Node images built from an older `docker/` folder. */
	stale: string[];
}

export async function nodeImageStatus(docker: Docker): Promise<ImageStatus> {
	const tag = await nodeImageTag();
	const images = await docker.listImages({
		filters: JSON.stringify({ reference: [`${NODE_IMAGE_REPO}:*`] }),
	});
	const tags = images.flatMap((image) => image.RepoTags ?? []);
	return { tag, present: tags.includes(tag), stale: tags.filter((t) => t !== tag) };
}

/**
 * Builds the node image unless the current tag is present. Returns the tag. `debianMirror` is
 * where debootstrap fetches the base from when no Debian base image is present (config.ts).
 */
export async function ensureNodeImage(
	docker: Docker,
	onProgress: OnProgress,
	{ debianMirror }: { debianMirror: string },
): Promise<string> {
	const status = await nodeImageStatus(docker);
	if (status.present) return status.tag;
	const base = await ensureBaseImage(docker, onProgress, debianMirror);
	await buildNodeImage(docker, status.tag, base, onProgress);
	await removeStaleImages(docker, status.stale);
	onProgress({ phase: 'done', message: `built ${status.tag}` });
	return status.tag;
}

async function ensureBaseImage(
	docker: Docker,
	onProgress: OnProgress,
	mirror: string,
): Promise<string> {
	if (await imageExists(docker, SLIM_BASE)) return SLIM_BASE;
	if (await imageExists(docker, DEBOOTSTRAP_BASE)) return DEBOOTSTRAP_BASE;

	if (process.getuid?.() !== 0) {
		throw new ImageBuildError(
			`No Debian base image ("${SLIM_BASE}" or "${DEBOOTSTRAP_BASE}") and building one with debootstrap needs root: run "sudo npm run images" once`,
		);
	}
	if (!(await commandExists('debootstrap'))) {
		throw new ImageBuildError(
			`No Debian base image ("${SLIM_BASE}" or "${DEBOOTSTRAP_BASE}") and "debootstrap" is not installed: run "sudo apt-get install debootstrap", then "npm run images"`,
		);
	}
	onProgress({
		phase: 'base',
		message: `building ${DEBOOTSTRAP_BASE} with debootstrap (about 30 s)`,
	});
	await runScript(path.join(DOCKER_DIR, 'base/make-base.sh'), [DEBOOTSTRAP_BASE, mirror], (line) =>
		onProgress({ phase: 'output', message: line }),
	);
	return DEBOOTSTRAP_BASE;
}

async function buildNodeImage(docker: Docker, tag: string, base: string, onProgress: OnProgress) {
	// tar-fs's types describe its own stream class, which is a Node readable stream at run time.
	const context = tar.pack(path.join(DOCKER_DIR, 'node')) as unknown as NodeJS.ReadableStream;
	const stream = await docker.buildImage(context, {
		t: tag,
		buildargs: { BASE_IMAGE: base },
		labels: { 'org.keepalived-lab.image': 'node' },
		rm: true,
		forcerm: true,
	});
	await new Promise<void>((resolve, reject) => {
		docker.modem.followProgress(
			stream,
			(error: Error | null, events: { error?: string }[]) => {
				const failed = error?.message ?? events.find((e) => e.error)?.error;
				if (failed) {
					reject(
						new ImageBuildError(
							`Building ${tag} failed: ${failed.trim()} — check that Debian's package mirror is reachable, then run "npm run images" again`,
						),
					);
				} else resolve();
			},
			(event: { stream?: string; error?: string }) => {
				for (const line of (event.stream ?? '').split('\n')) {
					const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
					if (step) {
						onProgress({
							phase: 'build',
							step: Number(step[1]),
							steps: Number(step[2]),
							message: step[3] ?? '',
						});
					} else if (line.trim()) onProgress({ phase: 'output', message: line.trim() });
				}
			},
		);
	});
}

/** Old node images are removed once the new one exists, unless a running lab still uses one. */
async function removeStaleImages(docker: Docker, tags: string[]) {
	for (const tag of tags) {
		await docker
			.getImage(tag)
			.remove()
			.catch(() => {
				// In use by a lab that is still running: it goes with a later build.
			});
	}
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
	const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
	const files: string[] = [];
	for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
		const relative = path.posix.join(prefix, entry.name);
		if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)));
		else if (entry.isFile()) files.push(relative);
	}
	return files;
}

function commandExists(command: string): Promise<boolean> {
	return new Promise((resolve) => {
		execFile('sh', ['-c', `command -v ${command}`], (error) => resolve(!error));
	});
}

function runScript(script: string, args: string[], onLine: (line: string) => void): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn(script, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		let tail = '';
		const collect = (chunk: Buffer) => {
			const text = tail + chunk.toString('utf8');
			const lines = text.split('\n');
			tail = lines.pop() ?? '';
			for (const line of lines) if (line.trim()) onLine(line.trim());
		};
		child.stdout.on('data', collect);
		child.stderr.on('data', collect);
		child.on('error', reject);
		child.on('close', (code) => {
			if (code === 0) resolve();
			else
				reject(
					new ImageBuildError(
						`${path.basename(script)} exited with ${code}: see the lines above; Debian's mirror must be reachable (LAB_DEBIAN_MIRROR overrides it)`,
					),
				);
		});
	});
}

async function imageExists(docker: Docker, tag: string): Promise<boolean> {
	try {
		await docker.getImage(tag).inspect();
		return true;
	} catch (error) {
		if (isNotFound(error)) return false;
		throw error;
	}
}
