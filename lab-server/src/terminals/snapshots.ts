/**
 * A terminal's scrollback kept across a server restart, a lab's stop, or a learner's absence: the
 * ring (output-ring.ts) written to `STATE_DIR/terminals/<lab>/<node>-<term>.ring` — a magic, the
 * ring's start offset, the holder's offset of the ring's end (where a re-attach asks the holder
 * to go on), the sizes its output was written for (size-history.ts), then the bytes — read back when the session is re-attached, removed when the
 * learner closes the terminal. A file of another format is ignored (the terminal starts with an
 * empty scrollback). A lab keeps at most KEPT_PER_LAB of them, the newest: terminal names are
 * the learner's to choose, and each kept ring is up to 1 MiB of the server's disk.
 */
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir } from '../lib/state-file';
import { MAX_COLS, MAX_REPLAY_SIZES, MAX_ROWS, type SizeFrom } from '../api/protocol';
import { OutputRing } from './output-ring';

export interface SessionKey {
	labId: string;
	node: string;
	term: string;
}

function snapshotPath(stateDir: string, key: SessionKey): string {
	return path.join(stateDir, 'terminals', key.labId, `${key.node}-${key.term}.ring`);
}

const MAGIC = Buffer.from('KLRING3\0');
/** The format before sizes were kept: read as one without sizes. */
const MAGIC_V2 = Buffer.from('KLRING2\0');
/** Scrollbacks kept per lab: `TERMINALS_PER_LAB`'s highest value, so open ones always fit. */
export const KEPT_PER_LAB = 64;
const HEADER_BYTES = MAGIC.byteLength + 16;
/** A size: u64 offset `from`, u16 cols, u16 rows; after the header, a u32 count of them. */
const SIZE_BYTES = 12;

export interface Snapshot {
	ring: OutputRing;
	/** The holder's offset of the ring's last byte + 1. */
	holderEnd: number;
	/** When it was saved (the file's mtime, epoch ms): a node started after it has a new holder. */
	savedAt: number;
	/** The sizes the ring's output was written for, oldest first. */
	sizes: SizeFrom[];
}

export async function saveSnapshot(
	stateDir: string,
	key: SessionKey,
	ring: OutputRing,
	holderEnd: number,
	sizes: readonly SizeFrom[],
): Promise<void> {
	const file = snapshotPath(stateDir, key);
	await ensurePrivateDir(path.dirname(file));
	const { start, data } = ring.snapshot();
	const header = Buffer.alloc(HEADER_BYTES);
	MAGIC.copy(header);
	header.writeBigUInt64BE(BigInt(start), MAGIC.byteLength);
	header.writeBigUInt64BE(BigInt(holderEnd), MAGIC.byteLength + 8);
	const kept = sizes.slice(-MAX_REPLAY_SIZES);
	const table = Buffer.alloc(4 + kept.length * SIZE_BYTES);
	table.writeUInt32BE(kept.length);
	kept.forEach(({ from, cols, rows }, i) => {
		const at = 4 + i * SIZE_BYTES;
		table.writeBigUInt64BE(BigInt(from), at);
		table.writeUInt16BE(cols, at + 8);
		table.writeUInt16BE(rows, at + 10);
	});
	await writeFile(file, Buffer.concat([header, table, data]), { mode: 0o600 });
	await pruneSnapshots(path.dirname(file), KEPT_PER_LAB);
}

/** Keeps the `keep` newest snapshots in a lab's directory. */
async function pruneSnapshots(dir: string, keep: number): Promise<void> {
	const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.ring'));
	if (names.length <= keep) return;
	const dated = await Promise.all(
		names.map(async (name) => {
			const file = path.join(dir, name);
			return { file, mtime: (await stat(file).catch(() => null))?.mtimeMs ?? 0 };
		}),
	);
	dated.sort((a, b) => b.mtime - a.mtime);
	for (const { file } of dated.slice(keep)) await rm(file, { force: true });
}

export async function loadSnapshot(
	stateDir: string,
	key: SessionKey,
	capacity: number,
): Promise<Snapshot | undefined> {
	let bytes: Buffer;
	let savedAt: number;
	try {
		const file = snapshotPath(stateDir, key);
		[bytes, { mtimeMs: savedAt }] = await Promise.all([readFile(file), stat(file)]);
	} catch {
		return undefined;
	}
	if (bytes.byteLength < HEADER_BYTES) return undefined;
	const magic = bytes.subarray(0, MAGIC.byteLength);
	const withSizes = magic.equals(MAGIC);
	if (!withSizes && !magic.equals(MAGIC_V2)) return undefined;
	const start = Number(bytes.readBigUInt64BE(MAGIC.byteLength));
	const holderEnd = Number(bytes.readBigUInt64BE(MAGIC.byteLength + 8));
	const sizes = withSizes ? readSizes(bytes, HEADER_BYTES) : [];
	if (!sizes) return undefined;
	const dataAt = HEADER_BYTES + (withSizes ? 4 + bytes.readUInt32BE(HEADER_BYTES) * SIZE_BYTES : 0);
	const ring = OutputRing.restore({ start, data: bytes.subarray(dataAt) }, capacity);
	return { ring, holderEnd, savedAt, sizes };
}

/**
 * The size table at `at`: undefined if the file is too short or the table too long, empty if an
 * entry is out of range or out of order.
 */
function readSizes(bytes: Buffer, at: number): SizeFrom[] | undefined {
	if (bytes.byteLength < at + 4) return undefined;
	const count = bytes.readUInt32BE(at);
	if (count > MAX_REPLAY_SIZES || bytes.byteLength < at + 4 + count * SIZE_BYTES) return undefined;
	const sizes = Array.from({ length: count }, (_, i) => {
		const entry = at + 4 + i * SIZE_BYTES;
		return {
			from: Number(bytes.readBigUInt64BE(entry)),
			cols: bytes.readUInt16BE(entry + 8),
			rows: bytes.readUInt16BE(entry + 10),
		};
	});
	// A damaged table is dropped, not sent: READY's encoder refuses such sizes (the ring stays).
	const sound = sizes.every(
		(size, i) =>
			size.cols >= 1 &&
			size.cols <= MAX_COLS &&
			size.rows >= 1 &&
			size.rows <= MAX_ROWS &&
			(i === 0 || size.from > sizes[i - 1]!.from),
	);
	return sound ? sizes : [];
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
