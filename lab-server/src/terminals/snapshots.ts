/**
 * A terminal's scrollback kept across a server restart: the ring (output-ring.ts) written to
 * `STATE_DIR/terminals/<lab>/<node>-<term>.ring` (an 8-byte start offset, then the bytes) when
 * the server stops, read back when the session is re-attached, removed when the session ends.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir } from '../lib/state-file';
import { OutputRing } from './output-ring';

export interface SessionKey {
	labId: string;
	node: string;
	term: string;
}

function snapshotPath(stateDir: string, key: SessionKey): string {
	return path.join(stateDir, 'terminals', key.labId, `${key.node}-${key.term}.ring`);
}

export async function saveSnapshot(
	stateDir: string,
	key: SessionKey,
	ring: OutputRing,
): Promise<void> {
	const file = snapshotPath(stateDir, key);
	await ensurePrivateDir(path.dirname(file));
	const { start, data } = ring.snapshot();
	const header = Buffer.alloc(8);
	header.writeBigUInt64BE(BigInt(start));
	await writeFile(file, Buffer.concat([header, data]), { mode: 0o600 });
}

export async function loadSnapshot(
	stateDir: string,
	key: SessionKey,
	capacity: number,
): Promise<OutputRing | undefined> {
	let bytes: Buffer;
	try {
		bytes = await readFile(snapshotPath(stateDir, key));
	} catch {
		return undefined;
	}
	if (bytes.byteLength < 8) return undefined;
	const start = Number(bytes.readBigUInt64BE(0));
	return OutputRing.restore({ start, data: bytes.subarray(8) }, capacity);
}

export async function removeSnapshot(stateDir: string, key: SessionKey): Promise<void> {
	await rm(snapshotPath(stateDir, key), { force: true });
}

/** Removes the snapshots of a lab, or of one of its nodes. */
export async function removeLabSnapshots(stateDir: string, labId: string, node?: string) {
	const dir = path.join(stateDir, 'terminals', labId);
	if (node === undefined) {
		await rm(dir, { recursive: true, force: true });
		return;
	}
	const names = await readdir(dir).catch(() => [] as string[]);
	for (const name of names) {
		if (name.startsWith(`${node}-`) && name.endsWith('.ring')) {
			await rm(path.join(dir, name), { force: true });
		}
	}
}
