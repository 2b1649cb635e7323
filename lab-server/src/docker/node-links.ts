/**
 * A node's terminal link directory: a host directory of the lab server's own, one per node,
 * bind-mounted read-only into the node at LINK_MOUNT. The server listens on a unix socket in it
 * (terminals/links.ts) and the node's `labterm open --dial` connects out to it, so terminal bytes
 * never go through the Docker engine.
 *
 * Read-only, and the node has no CAP_SYS_ADMIN to remount it (nodes.ts NODE_CAPABILITIES): root
 * in the node cannot write there (no disk to fill, no symlink planted for the server to follow;
 * the server only ever listens there, it never connects to a path the node controls), and each
 * node sees its own directory only. This module makes, finds and removes the directories; the
 * listening is terminals/'.
 */
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { LABELS } from './labels';

/** Where a node sees its link directory. */
export const LINK_MOUNT = '/run/lab-link';
/** The server's socket in it (short: a unix socket's path is at most 107 bytes). */
export const LINK_SOCKET = 'link.sock';

/**
 * The longest TERMINAL_LINK_DIR: room is left for `/<server id>/<container name>/link.sock` (a
 * socket's path is at most 107 bytes; 16 + 19 + 9 and the slashes).
 */
export const MAX_LINK_ROOT = 50;

/** A node's link directory under `root` (its container's name: unique on the host). */
export function nodeLinkDir(root: string, container: string): string {
	return path.join(root, container);
}

/**
 * Makes a node's link directory (before its container, which bind-mounts it). The directories
 * above it are the server's only (0700: the engine, as root, mounts through them; a node sees
 * only its own directory, 0755 so that its `ubuntu` can reach the socket): no other user of the
 * host gets to the sockets.
 */
export async function prepareLinkDir(dir: string): Promise<void> {
	await mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
	await mkdir(dir, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
		if (error.code !== 'EEXIST') throw error;
	});
	// A directory made by someone else's hand is not ours to listen in.
	const info = await lstat(dir);
	if (!info.isDirectory()) throw new Error(`terminal link "${dir}" is not a directory`);
}

/** The bind that gives a node its link directory, read-only. */
export function linkBind(dir: string): string {
	return `${dir}:${LINK_MOUNT}:ro`;
}

/** A container's link directory on the host, from its mounts; null for a node made without. */
export function linkDirOf(
	mounts: readonly { Source?: string; Destination?: string }[] | undefined,
) {
	const mount = mounts?.find((m) => m.Destination === LINK_MOUNT);
	return mount?.Source ? mount.Source : null;
}

/** Removes link directories (a lab's, after its containers); only ever one named as a node's. */
export async function removeLinkDirs(dirs: readonly string[]): Promise<void> {
	const ours = dirs.filter((dir) => path.isAbsolute(dir) && path.basename(dir).startsWith('klab-'));
	await Promise.all(ours.map((dir) => rm(dir, { recursive: true, force: true })));
}

/**
 * Removes the directories under `root` (this server's own: terminalLinkRoot) whose container is
 * gone (a server stopped between making a directory and its container, or a container removed
 * by hand).
 */
export async function removeStaleLinkDirs(docker: Docker, root: string): Promise<number> {
	const names = await readdir(root).catch(() => [] as string[]);
	if (names.length === 0) return 0;
	const filters = JSON.stringify({ label: [LABELS.lab] });
	const containers = await docker.listContainers({ all: true, filters });
	const alive = new Set(containers.flatMap((c) => c.Names.map((n) => n.replace(/^\//, ''))));
	const stale = names.filter((name) => name.startsWith('klab-') && !alive.has(name));
	await removeLinkDirs(stale.map((name) => path.join(root, name)));
	return stale.length;
}
