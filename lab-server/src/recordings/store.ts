/**
 * Where a lab's terminal recordings live and how much they may take:
 * `STATE_DIR/recordings/<lab>/<node>-<term>.cast` (directory 0700, files 0600: what a terminal
 * showed is the learner's), one file per terminal name for the lab's whole life — a terminal
 * closed and opened again, the server restarted, the lab stopped and resumed or a node reset,
 * it appends to the same file with its time going on.
 *
 * The cap. A terminal's recording is capped at the ring's size (`TerminalOptions.ringBytes`,
 * 1 MiB): the reading, and what an hour of a real session needs several times over (a
 * measured session of the guide's commands takes tens of KiB an hour: README, «Записи сессий»).
 * The names are the learner's to choose, though, so a cap per file alone would not bound a lab:
 * the lab's recordings share one budget too, `RECORDING_LAB_MB` (default 8 MiB: the default
 * `TERMINALS_PER_LAB` × 1 MiB), counted from the files on disk when the lab's first recording
 * opens, and a lab starts at most FILES_PER_LAB files. It is the lab's disk, so a stopped lab's accounting (`diskBytes`, the budget for stopped
 * labs) counts it too (`bytes()`).
 *
 * Removed with the lab (`removeLab`), except a workshop learner's: the instructor replays those
 * until the workshop ends (`keepFor` says which; workshops/ removes them with `removeLabs`).
 */
import { open, readdir, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RecordingInfo } from '../api/recordings';
import { isLabNode } from '../api';
import type { Clock } from '../lib/clock';
import { ensurePrivateDir } from '../lib/state-file';
import type { SessionKey } from '../terminals/snapshots';
import { TERM_NAME } from '../terminals/upgrade';
import { headerLine, parseHeader } from './asciicast';
import { Recording, type LabBudget } from './recording';

export interface RecordingStoreOptions {
	stateDir: string;
	clock: Clock;
	log: Logger;
	/** One file's cap, bytes (the ring's size). */
	fileBytes: number;
	/** All of a lab's recordings together, bytes. */
	labBytes: number;
	/**
	 * The marker a new recording starts with: the step the learner has open (the step was
	 * opened before the terminal, so its own marker went to no recording).
	 */
	firstMarker?: (labId: string) => string | null;
}

const FILE = /^(hap[12])-([a-z0-9-]{1,32})\.cast$/;
/**
 * Recordings a lab may have, as many as the snapshots it keeps (terminals/snapshots.ts): a new
 * name past them, or past the lab's budget, is not recorded (the names are the learner's).
 */
export const FILES_PER_LAB = 64;
/** What a new file's header takes, at most, against the lab's budget. */
const HEADER_BYTES = 128;
/** What is read of a file's start for its header: ours are under 200 bytes. */
const HEADER_READ = 1024;
/** What is read of a file's end for its last event's time. */
const TAIL_READ = 64 * 1024;

export class RecordingStore {
	#options: RecordingStoreOptions;
	/** Open recordings by lab, for the markers and for flushing before a read. */
	#open = new Map<string, Map<string, Recording>>();
	/** Recordings whose session is gone and whose last writes are under way, per lab. */
	#closing = new Map<string, Set<Promise<void>>>();
	/** Each lab's bytes on disk (and queued), once one of its recordings has opened. */
	#used = new Map<string, Promise<{ bytes: number }>>();

	constructor(options: RecordingStoreOptions) {
		this.#options = options;
	}

	/** The lab's recordings directory; `labId` is an id (routes and keys are checked). */
	dir(labId: string): string {
		return path.join(this.#options.stateDir, 'recordings', labId);
	}

	/**
	 * The terminal's recording, opened to append (created with a header at `cols` × `rows` if
	 * there is none or it is not a cast). Never throws: a recording that cannot open is none.
	 */
	async open(key: SessionKey, cols: number, rows: number): Promise<Recording | undefined> {
		const { clock, log } = this.#options;
		const file = this.#path(key);
		const recLog = log.child({ ...key, recording: true });
		try {
			// A recording still open under the same name (a session not yet gone) is closed first:
			// its last lines land before this one reads where the file ends.
			await this.#open.get(key.labId)?.get(termId(key))?.close();
			const used = await this.#usedBy(key.labId);
			await ensurePrivateDir(path.dirname(file));
			const found = await readCast(file);
			// A line cut by a crash mid-write would make the rest of the file unreadable.
			if (found && found.complete < found.size) {
				await truncate(file, found.complete);
				found.size = found.complete;
			}
			if (!found && !(await this.#room(key.labId, used.bytes))) {
				recLog.info('terminal not recorded: the lab has no room for another recording');
				return undefined;
			}
			const startedMs = found ? found.timestamp * 1000 : Math.floor(clock.now() / 1000) * 1000;
			const handle = await open(file, found ? 'a' : 'w', 0o600);
			let size = found?.size ?? 0;
			if (!found) {
				const header = headerLine(cols, rows, startedMs / 1000);
				// A failed write (a full disk) must not leave the handle to the garbage collector.
				await handle.write(header).catch(async (error: unknown) => {
					await handle.close();
					throw error;
				});
				size = Buffer.byteLength(header);
				used.bytes += size;
			}
			const budget: LabBudget = {
				take: (bytes) => {
					if (used.bytes + bytes > this.#options.labBytes) return false;
					used.bytes += bytes;
					return true;
				},
			};
			const recording = new Recording({
				file: handle,
				size,
				cap: this.#options.fileBytes,
				startedMs,
				last: found?.last ?? 0,
				cols: found?.cols ?? cols,
				rows: found?.rows ?? rows,
				budget,
				clock,
				log: recLog,
			});
			const first = found ? null : this.#options.firstMarker?.(key.labId);
			if (first) recording.marker(first);
			const opened = this.#open.get(key.labId) ?? new Map<string, Recording>();
			this.#open.set(key.labId, opened);
			opened.set(termId(key), recording);
			return recording;
		} catch (error) {
			recLog.warn({ err: error }, 'terminal recording could not open');
			return undefined;
		}
	}

	/** The session is gone: its recording's file is closed (it stays on disk). */
	async close(key: SessionKey, recording: Recording): Promise<void> {
		const open = this.#open.get(key.labId);
		if (open?.get(termId(key)) === recording) open.delete(termId(key));
		// Until its last write is on disk, a read of the lab's recordings waits for it too.
		const closing = this.#closing.get(key.labId) ?? new Set<Promise<void>>();
		this.#closing.set(key.labId, closing);
		const done = recording.close();
		closing.add(done);
		try {
			await done;
		} finally {
			closing.delete(done);
			if (closing.size === 0 && this.#closing.get(key.labId) === closing) {
				this.#closing.delete(key.labId);
			}
		}
	}

	/** A marker in every open recording of the lab. */
	mark(labId: string, label: string): void {
		for (const recording of this.#open.get(labId)?.values() ?? []) recording.marker(label);
	}

	/** The lab's recordings, as the API lists them (what is queued written first). */
	async list(labId: string): Promise<RecordingInfo[]> {
		await this.#flush(labId);
		const names = await readdir(this.dir(labId)).catch(() => [] as string[]);
		const infos: RecordingInfo[] = [];
		for (const name of names.sort()) {
			const match = FILE.exec(name);
			if (!match) continue;
			const found = await readCast(path.join(this.dir(labId), name), false);
			if (!found) continue;
			infos.push({
				node: match[1] as RecordingInfo['node'],
				term: match[2]!,
				bytes: found.size,
				startedAt: new Date(found.timestamp * 1000).toISOString(),
			});
		}
		return infos;
	}

	/**
	 * The file of one recording and its size now (what is queued written first), or undefined.
	 * `node` and `term` must already be valid (the route checks them); they are checked again
	 * here, since they become a path.
	 */
	async file(key: SessionKey): Promise<{ path: string; bytes: number } | undefined> {
		if (!isLabNode(key.node) || !TERM_NAME.test(key.term)) return undefined;
		await this.#flush(key.labId);
		const file = this.#path(key);
		const info = await stat(file).catch(() => null);
		return info?.isFile() ? { path: file, bytes: info.size } : undefined;
	}

	/** Bytes the lab's recordings take on disk (a stopped lab's disk accounting adds them). */
	async bytes(labId: string): Promise<number> {
		await this.#flush(labId);
		return diskUse(this.dir(labId));
	}

	/** Closes the lab's open recordings and removes its files. */
	async removeLab(labId: string): Promise<void> {
		const open = this.#open.get(labId);
		this.#open.delete(labId);
		this.#used.delete(labId);
		await Promise.all([...(open?.values() ?? [])].map((r) => r.close()));
		await rm(this.dir(labId), { recursive: true, force: true });
	}

	/** Removes the recordings of several labs (a workshop's, when it ends). */
	async removeLabs(labIds: Iterable<string>): Promise<void> {
		for (const labId of labIds) await this.removeLab(labId);
	}

	/**
	 * Removes every lab's recordings that `keep` does not want (at start: files of labs that ended
	 * while no server ran, or a workshop that ended). Returns how many labs' went.
	 */
	async sweep(keep: (labId: string) => boolean): Promise<number> {
		const root = path.join(this.#options.stateDir, 'recordings');
		let removed = 0;
		for (const labId of await readdir(root).catch(() => [] as string[])) {
			if (keep(labId)) continue;
			await this.removeLab(labId);
			removed++;
		}
		return removed;
	}

	/** Whether the lab may start another recording file. */
	async #room(labId: string, usedBytes: number): Promise<boolean> {
		if (usedBytes + HEADER_BYTES > this.#options.labBytes) return false;
		const names = await readdir(this.dir(labId)).catch(() => [] as string[]);
		return names.filter((name) => name.endsWith('.cast')).length < FILES_PER_LAB;
	}

	#path(key: SessionKey): string {
		return path.join(this.dir(key.labId), `${key.node}-${key.term}.cast`);
	}

	#usedBy(labId: string): Promise<{ bytes: number }> {
		let used = this.#used.get(labId);
		if (!used) {
			used = diskUse(this.dir(labId)).then((bytes) => ({ bytes }));
			this.#used.set(labId, used);
		}
		return used;
	}

	/** Waits until what the lab's recordings queued, open or closing, is written. */
	async #flush(labId: string): Promise<void> {
		await Promise.all([
			...[...(this.#open.get(labId)?.values() ?? [])].map((r) => r.flushed()),
			...(this.#closing.get(labId) ?? []),
		]);
	}
}

function termId(key: SessionKey): string {
	return `${key.node}-${key.term}`;
}

async function diskUse(dir: string): Promise<number> {
	let total = 0;
	for (const name of await readdir(dir).catch(() => [] as string[])) {
		total += (await stat(path.join(dir, name)).catch(() => null))?.size ?? 0;
	}
	return total;
}

interface FoundCast {
	size: number;
	timestamp: number;
	/** Its last event's time, and the size it was last resized to (when `withTail`). */
	last: number;
	cols: number;
	rows: number;
	/** Bytes up to its last whole line (`withTail`). */
	complete: number;
}

/** A cast file's header, size and (with `withTail`) where its events end; undefined if none. */
async function readCast(file: string, withTail = true): Promise<FoundCast | undefined> {
	let handle;
	try {
		handle = await open(file, 'r');
	} catch {
		return undefined;
	}
	try {
		const { size } = await handle.stat();
		const head = Buffer.alloc(Math.min(size, HEADER_READ));
		await handle.read(head, 0, head.byteLength, 0);
		const header = parseHeader(head.toString('utf8').split('\n', 1)[0]!);
		if (!header) return undefined;
		const found = {
			size,
			timestamp: header.timestamp,
			last: 0,
			cols: header.width,
			rows: header.height,
			complete: size,
		};
		if (!withTail) return found;
		const tailBytes = Math.min(size, TAIL_READ);
		const tail = Buffer.alloc(tailBytes);
		await handle.read(tail, 0, tailBytes, size - tailBytes);
		const newline = tail.lastIndexOf(0x0a);
		// No newline in the tail at all (one huge event): nothing to tell a cut line by.
		if (newline >= 0) found.complete = size - tailBytes + newline + 1;
		for (const line of tail.toString('utf8').split('\n').reverse()) {
			const event = parseEvent(line);
			if (!event) continue;
			found.last ||= event.t;
			if (event.code === 'r') {
				const [cols, rows] = event.data.split('x').map(Number);
				if (cols && rows) Object.assign(found, { cols, rows });
				break;
			}
		}
		return found;
	} finally {
		await handle.close();
	}
}

function parseEvent(line: string): { t: number; code: string; data: string } | undefined {
	if (!line.startsWith('[')) return undefined;
	try {
		const [t, code, data] = JSON.parse(line) as unknown[];
		if (typeof t === 'number' && typeof code === 'string' && typeof data === 'string') {
			return { t, code, data };
		}
	} catch {
		// A line cut by a crash mid-write: the events before it still count.
	}
	return undefined;
}
