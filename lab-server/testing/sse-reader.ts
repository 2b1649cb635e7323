/**
 * Reads a server-sent event stream in tests and benchmarks: each event with its name, parsed
 * JSON data and the time it arrived (`performance.now()`), and a way to wait for one.
 */

export interface ReceivedEvent {
	event: string;
	data: unknown;
	/** `performance.now()` when its last line arrived. */
	at: number;
	/** Bytes of its `data` line. */
	bytes: number;
}

export interface SseReader {
	status: number;
	events: ReceivedEvent[];
	/** Resolves once the server closed the stream. */
	closed: Promise<void>;
	/** The first event from index `from` on that `match` accepts, waiting up to `timeoutMs`. */
	next(
		match: (e: ReceivedEvent) => boolean,
		options?: { from?: number; timeoutMs?: number },
	): Promise<ReceivedEvent>;
	close(): void;
}

export async function readSse(
	url: string,
	headers: Record<string, string> = {},
): Promise<SseReader> {
	const controller = new AbortController();
	const res = await fetch(url, { headers, signal: controller.signal });
	const events: ReceivedEvent[] = [];
	const waiters = new Set<() => void>();
	const wake = () => {
		for (const waiter of [...waiters]) waiter();
	};
	const closed = (async () => {
		if (!res.ok || !res.body) return;
		const decoder = new TextDecoder();
		let buffer = '';
		try {
			for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
				buffer += decoder.decode(chunk, { stream: true });
				let end: number;
				while ((end = buffer.indexOf('\n\n')) >= 0) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					const name = /^event: (.*)$/m.exec(block)?.[1];
					const data = /^data: (.*)$/m.exec(block)?.[1];
					if (name === undefined || data === undefined) continue;
					events.push({
						event: name,
						data: JSON.parse(data),
						at: performance.now(),
						bytes: data.length,
					});
				}
				wake();
			}
		} catch {
			// Aborted by close().
		} finally {
			wake();
		}
	})();
	let done = false;
	void closed.then(() => (done = true));
	return {
		status: res.status,
		events,
		closed,
		close: () => controller.abort(),
		next(match, { from = 0, timeoutMs = 10_000 } = {}) {
			return new Promise((resolve, reject) => {
				const look = () => {
					const found = events.slice(from).find(match);
					if (found) {
						finish();
						resolve(found);
					} else if (done) {
						finish();
						reject(new Error(`stream closed without the awaited event (${events.length} events)`));
					}
				};
				const timer = setTimeout(() => {
					finish();
					reject(new Error(`no awaited event in ${timeoutMs} ms (${events.length} events)`));
				}, timeoutMs);
				const finish = () => {
					clearTimeout(timer);
					waiters.delete(look);
				};
				waiters.add(look);
				look();
			});
		},
	};
}
