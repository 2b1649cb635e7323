/**
 * Lifecycle operations on labs (a creation, a reset, an extension, an end, a drill): one at a
 * time per lab, and all of them waited for when the server stops, so that a restart never
 * leaves half a lab.
 */
import { HttpError } from '../http/errors';

/** How long a stopping server waits for operations under way. */
const CLOSE_WAIT_MS = 60_000;

export class LabOperations {
	/** Labs with an operation under way: what it is. */
	#busy = new Map<string, string>();
	#inflight = new Set<Promise<unknown>>();
	#closing = false;

	/** Runs `operation` so that `close` waits for it; refused (503) once closing. */
	async track<T>(operation: () => Promise<T>): Promise<T> {
		if (this.#closing) {
			throw new HttpError(
				503,
				'server-restarting',
				'Сервер перезапускается: повторите через несколько секунд.',
				{ headers: { 'Retry-After': '5' } },
			);
		}
		const running = operation();
		this.#inflight.add(running);
		try {
			return await running;
		} finally {
			this.#inflight.delete(running);
		}
	}

	/**
	 * Runs an operation on a lab, one at a time per lab: while one is under way, another is
	 * refused with 409 `lab-busy` (two resets at once would race on the containers' names).
	 */
	exclusive<T>(labId: string, what: string, operation: () => Promise<T>): Promise<T> {
		return this.track(async () => {
			const current = this.#busy.get(labId);
			if (current !== undefined) {
				throw new HttpError(
					409,
					'lab-busy',
					`Со стендом уже выполняется действие «${current}»: дождитесь его окончания и повторите.`,
				);
			}
			this.#busy.set(labId, what);
			try {
				return await operation();
			} finally {
				this.#busy.delete(labId);
			}
		});
	}

	isBusy(labId: string): boolean {
		return this.#busy.has(labId);
	}

	/** No new operation starts; resolves when those under way are done (or CLOSE_WAIT_MS). */
	async close(): Promise<number> {
		this.#closing = true;
		const waiting = this.#inflight.size;
		if (waiting > 0) {
			let timer: NodeJS.Timeout | undefined;
			await Promise.race([
				Promise.allSettled([...this.#inflight]),
				new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS))),
			]);
			clearTimeout(timer);
		}
		return waiting;
	}
}
