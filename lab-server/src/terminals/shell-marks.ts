/**
 * The shell's command marks in a terminal's output: OSC 133 `C` where a command starts and
 * `D;<status>` where it ends (printed by the node's bash profile, docker/node/rootfs/etc/skel/
 * .bashrc.lab, before each prompt). Only an end after a start counts: bash prints `D` before
 * every prompt, also the first one and after an empty Enter, when nothing ran (and a check run
 * for nothing costs the learner's echo a docker exec per node). A mark may be split across
 * chunks; output is the learner's to print, so a mark is only ever a hint that something may
 * have changed (the checks look at the nodes themselves), never trusted as fact.
 */

const PREFIX = Buffer.from('\x1b]133;');
/** The longest mark looked for: the prefix, `D;`, a status of up to 3 digits, BEL. */
const MAX_MARK = PREFIX.byteLength + 6;

export class ShellMarks {
	/** The end of the previous chunk, in case a mark starts there. */
	#tail: Buffer = Buffer.alloc(0);
	/** A command has started (`C`) since the last end. */
	#running = false;

	/**
	 * The exit statuses of the commands whose end marks are in `chunk` (null where the mark has
	 * no status), in order.
	 */
	scan(chunk: Uint8Array): (number | null)[] {
		const data =
			this.#tail.byteLength > 0 ? Buffer.concat([this.#tail, chunk]) : Buffer.from(chunk);
		const found: (number | null)[] = [];
		let from = 0;
		let consumed = 0;
		for (;;) {
			const at = data.indexOf(PREFIX, from);
			if (at < 0) break;
			const end = data.indexOf(0x07, at + PREFIX.byteLength);
			if (end < 0 || end - at > MAX_MARK) {
				if (end < 0 && data.byteLength - at <= MAX_MARK) {
					// Cut off by the chunk's end: look again with the next chunk.
					consumed = at;
					break;
				}
				from = at + 1;
				consumed = from;
				continue;
			}
			this.#mark(data.subarray(at + PREFIX.byteLength, end).toString('latin1'), found);
			from = end + 1;
			consumed = from;
		}
		// Keep what could be the start of a mark cut off by this chunk's end.
		const keepFrom = Math.max(consumed, data.byteLength - (MAX_MARK - 1));
		const partial = data.indexOf(0x1b, keepFrom);
		this.#tail = partial >= 0 ? Buffer.from(data.subarray(partial)) : Buffer.alloc(0);
		return found;
	}

	#mark(body: string, found: (number | null)[]): void {
		if (body === 'C') {
			this.#running = true;
			return;
		}
		const end = /^D(?:;(\d{1,3}))?$/.exec(body);
		if (!end || !this.#running) return;
		this.#running = false;
		found.push(end[1] === undefined ? null : Number(end[1]));
	}
}
