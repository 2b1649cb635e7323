/**
 * One JSON file in `STATE_DIR`, validated with a schema on the way in, written atomically and
 * privately on the way out. Every piece of state the server keeps across restarts (labs,
 * workshops) goes through here:
 * - read: a missing file is the empty default; a file that is not JSON or does not fit the
 *   schema is logged, moved aside as `<name>.corrupt-<time>` for an operator to look at, and
 *   the default is used — never silently ignored, never half-trusted;
 * - write: serialized (one at a time, in call order), `<name>.tmp` then rename, so a crash never
 *   leaves half a file; the directory is 0700 and the file 0600 (they hold lab tokens).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ZodType, ZodTypeDef } from 'zod';

export interface StateFile<T> {
	readonly path: string;
	read(): Promise<T>;
	/** Writes `value()` as it is when the write's turn comes; resolves when it is on disk. */
	write(value: () => T): Promise<void>;
}

export function stateFile<T>(options: {
	dir: string;
	name: string;
	schema: ZodType<T, ZodTypeDef, unknown>;
	empty: () => T;
	log: Logger;
}): StateFile<T> {
	const file = path.resolve(options.dir, options.name);
	let queue: Promise<void> = Promise.resolve();
	return {
		path: file,
		async read() {
			let text: string;
			try {
				text = await readFile(file, 'utf8');
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code === 'ENOENT') return options.empty();
				throw error;
			}
			let problem: string;
			try {
				const parsed = options.schema.safeParse(JSON.parse(text));
				if (parsed.success) return parsed.data;
				problem = parsed.error.issues
					.slice(0, 3)
					.map((i) => `${i.path.join('.')}: ${i.message}`)
					.join('; ');
			} catch (error) {
				problem = (error as Error).message;
			}
			const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
			await rename(file, aside).catch(() => undefined);
			options.log.error({ file, movedTo: aside, problem }, 'state file unreadable; set aside');
			return options.empty();
		},
		write(value) {
			queue = queue
				.then(async () => {
					await ensurePrivateDir(options.dir);
					await writeFile(`${file}.tmp`, JSON.stringify(value()), { mode: 0o600 });
					await rename(`${file}.tmp`, file);
				})
				.catch((error: unknown) =>
					options.log.error({ err: error, file }, 'could not save state file'),
				);
			return queue;
		},
	};
}

/** Creates `dir` (0700) if needed and makes sure nobody else can read it. */
export async function ensurePrivateDir(dir: string): Promise<void> {
	await mkdir(dir, { recursive: true, mode: 0o700 });
	await chmod(dir, 0o700);
}
