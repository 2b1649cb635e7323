/**
 * One terminal's recording: an asciicast v2 file (asciicast.ts) that the session's output,
 * resizes and the lab's markers are appended to, in order, without ever making the session wait.
 *
 * - Lines are queued and written by one writer at a time, all that is queued in one `write`, at
 *   most every WRITE_EVERY_MS (a keystroke's echo is one line: written one by one they would
 *   cost a write each), so the terminal's output path only encodes and pushes; a read of the
 *   file (`flushed`) writes what is queued at once.
 * - Bounded: every line is counted against the file's cap and the lab's budget (store.ts) when
 *   it is queued, so the queue never holds more than the cap. The first line over either writes
 *   one final marker saying the recording stopped, and everything after is dropped (a learner
 *   may flood 45 MB of `yes`; the shell goes on, the recording does not).
 * - Time: seconds since the header's `timestamp`, the wall clock, never going back. A file
 *   reopened (server restart, lab resumed, node reset) keeps its header and continues its time.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock';
import { eventLine, OutputDecoder } from './asciicast';

/** The marker that ends a recording over its cap (Russian: the instructor and learner read it). */
export const STOPPED_MARKER = 'Запись остановлена: достигнут предел размера записи';
/** Room kept under the cap for that marker, so writing it never goes over. */
export const MARKER_RESERVE = 256;
/** How long lines wait to be written together; a crash loses at most this much. */
const WRITE_EVERY_MS = 200;

/** Bytes a lab's recordings may still take, shared by its terminals (store.ts). */
export interface LabBudget {
	/** Bytes left; `take` returns false (taking nothing) if `bytes` do not fit. */
	take(bytes: number): boolean;
}

export class Recording {
	/** The header's time 0, epoch ms. */
	readonly startedMs: number;
	#file: FileHandle;
	#clock: Clock;
	#log: Logger;
	#budget: LabBudget;
	#size: number;
	#cap: number;
	#last = 0;
	#cols: number;
	#rows: number;
	#decoder = new OutputDecoder();
	#queue: string[] = [];
	#writing: Promise<void> | null = null;
	#timer: NodeJS.Timeout | null = null;
	#stopped = false;
	#closed = false;

	/**
	 * `file`: open for appending, its header (and any earlier events) already in it, `size`
	 * bytes long; `last`: the time of its last event, so time continues from there.
	 */
	constructor(options: {
		file: FileHandle;
		size: number;
		cap: number;
		startedMs: number;
		last: number;
		cols: number;
		rows: number;
		budget: LabBudget;
		clock: Clock;
		log: Logger;
	}) {
		this.#file = options.file;
		this.#size = options.size;
		this.#cap = options.cap;
		this.startedMs = options.startedMs;
		this.#last = options.last;
		this.#cols = options.cols;
		this.#rows = options.rows;
		this.#budget = options.budget;
		this.#clock = options.clock;
		this.#log = options.log;
		// A file that reached its cap before (a restart) stays stopped, its marker already in it.
		this.#stopped = this.#size + MARKER_RESERVE > this.#cap;
	}

	/** Bytes in the file once what is queued is written. */
	get bytes(): number {
		return this.#size;
	}

	get stopped(): boolean {
		return this.#stopped;
	}

	/** What the terminal showed. */
	output(data: Uint8Array): void {
		if (this.#stopped || this.#closed) return;
		const text = this.#decoder.decode(data);
		if (text !== '') this.#push(eventLine(this.#time(), 'o', text));
	}

	resize(cols: number, rows: number): void {
		if (this.#stopped || this.#closed || (cols === this.#cols && rows === this.#rows)) return;
		this.#cols = cols;
		this.#rows = rows;
		this.#push(eventLine(this.#time(), 'r', `${cols}x${rows}`));
	}

	/** A marker on the timeline (a step opened, a drill, a reset). */
	marker(label: string): void {
		if (this.#stopped || this.#closed) return;
		this.#push(eventLine(this.#time(), 'm', label));
	}

	/** Resolves when everything queued so far is on disk. */
	async flushed(): Promise<void> {
		if (this.#timer) this.#write();
		while (this.#writing) await this.#writing;
	}

	/** Writes what is queued and closes the file; later events are dropped. */
	async close(): Promise<void> {
		if (this.#closed) return this.flushed();
		this.#closed = true;
		await this.flushed();
		await this.#file.close().catch(() => undefined);
	}

	#time(): number {
		this.#last = Math.max(this.#last, (this.#clock.now() - this.startedMs) / 1000);
		return this.#last;
	}

	#push(line: string): void {
		const bytes = Buffer.byteLength(line);
		if (this.#size + bytes + MARKER_RESERVE > this.#cap || !this.#budget.take(bytes)) {
			this.#stopped = true;
			const marker = eventLine(this.#time(), 'm', STOPPED_MARKER);
			// The reserve is under the file's cap; the lab's budget may run over by this one line.
			const markerBytes = Buffer.byteLength(marker);
			this.#budget.take(markerBytes);
			this.#enqueue(marker, markerBytes);
			this.#log.info({ bytes: this.#size }, 'terminal recording stopped at its cap');
			return;
		}
		this.#enqueue(line, bytes);
	}

	#enqueue(line: string, bytes: number): void {
		this.#size += bytes;
		this.#queue.push(line);
		// Written after a while, or by the write under way when it is done (#drain loops).
		if (this.#writing || this.#timer) return;
		// I/O scheduling, not a policy timeout: real timers, as output-batch.ts's.
		this.#timer = setTimeout(() => this.#write(), WRITE_EVERY_MS);
		this.#timer.unref();
	}

	#write(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		this.#writing ??= this.#drain();
	}

	/** Writes the queue, all of it at once, until it stays empty. */
	async #drain(): Promise<void> {
		while (this.#queue.length > 0) {
			const chunk = this.#queue.join('');
			this.#queue = [];
			try {
				await this.#file.write(chunk);
			} catch (error) {
				// A full disk or a removed lab: the recording stops, the terminal goes on.
				this.#log.warn({ err: error }, 'terminal recording write failed');
				this.#stopped = true;
				this.#queue = [];
			}
		}
		this.#writing = null;
	}
}
