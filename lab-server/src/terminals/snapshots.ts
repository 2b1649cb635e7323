/**
 * A terminal's scrollback kept across a server restart: the ring (output-ring.ts) written to
 * `STATE_DIR/terminals/<lab>/<node>-<term>.ring` when the server stops — a magic, the ring's
 * start offset, the holder's offset of the ring's end (where a re-attach asks the holder to go
 * on), then the bytes — read back when the session is re-attached, removed when it ends. A file
 * of another format is ignored (the terminal starts with an empty scrollback).
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

const MAGIC = Buffer.from('KLRING2\0');
const HEADER_BYTES = MAGIC.byteLength + 16;

export interface Snapshot {
	ring: OutputRing;
	/** The holder's offset of the ring's last byte + 1. */
	holderEnd: number;
}

export async function saveSnapshot(
	stateDir: string,
	key: SessionKey,
	ring: OutputRing,
	holderEnd: number,
): Promise<void> {
	const file = snapshotPath(stateDir, key);
	await ensurePrivateDir(path.dirname(file));
	const { start, data } = ring.snapshot();
	const header = Buffer.alloc(HEADER_BYTES);
	MAGIC.copy(header);
	header.writeBigUInt64BE(BigInt(start), MAGIC.byteLength);
	header.writeBigUInt64BE(BigInt(holderEnd), MAGIC.byteLength + 8);
	await writeFile(file, Buffer.concat([header, data]), { mode: 0o600 });
}

export async function loadSnapshot(
	stateDir: string,
	key: SessionKey,
	capacity: number,
): Promise<Snapshot | undefined> {
	let bytes: Buffer;
	try {
		bytes = await readFile(snapshotPath(stateDir, key));
	} catch {
		return undefined;
	}
	if (bytes.byteLength < HEADER_BYTES || !bytes.subarray(0, MAGIC.byteLength).equals(MAGIC)) {
		return undefined;
	}
	const start = Number(bytes.readBigUInt64BE(MAGIC.byteLength));
	const holderEnd = Number(bytes.readBigUInt64BE(MAGIC.byteLength + 8));
	const ring = OutputRing.restore({ start, data: bytes.subarray(HEADER_BYTES) }, capacity);
	return { ring, holderEnd };
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
