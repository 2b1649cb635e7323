/**
 * Who gets a new lab now, and who waits. A learner is let in when the host has room
 * (`MAX_LABS`), nobody who came earlier is still waiting, and the global creation rate
 * (`LAB_CREATE_PER_MINUTE`, a token bucket) allows one more; otherwise they get a place in a
 * visible waiting line (503 `no-capacity` with their position and `Retry-After`) that the page
 * retries by itself. A place is kept while its browser keeps asking; one that stops asking for
 * STALE_MS gives its place up. A flood of creates therefore waits in line instead of taking
 * every slot, and nobody is ever handed half a lab.
 */
import { HttpError } from '../http/errors';
import type { Clock } from '../lib/clock';
import { TokenBucket } from '../lib/rate-limit';

/** How soon the page asks again, seconds. */
export const RETRY_AFTER_S = 5;
/** A waiting browser that has not asked again for this long has left the line. */
const STALE_MS = 6 * RETRY_AFTER_S * 1000;
/** The line holds at most this many browsers; more get the last place's answer. */
const MAX_WAITING = 10_000;

export interface AdmissionDeps {
	clock: Clock;
	/** Whether the host can start one more lab now. */
	hasRoom: () => boolean;
	createPerMinute: number;
}

export class Admission {
	/** Session hash → when it last asked; insertion order is arrival order. */
	#line = new Map<string, number>();
	#bucket: TokenBucket;
	#deps: AdmissionDeps;

	constructor(deps: AdmissionDeps) {
		this.#deps = deps;
		this.#bucket = new TokenBucket({
			ratePerSecond: deps.createPerMinute / 60,
			burst: Math.max(1, Math.ceil(deps.createPerMinute / 4)),
			clock: deps.clock,
		});
	}

	/** Browsers waiting now. */
	get waiting(): number {
		this.#dropStale();
		return this.#line.size;
	}

	/**
	 * Lets `session` start a lab (and takes it out of the line), or throws 503 with its place in
	 * the line. Call `leave` if the start fails for another reason.
	 */
	admit(session: string): void {
		const now = this.#deps.clock.now();
		this.#dropStale();
		const first = this.#line.keys().next();
		const isNext = first.done === true || first.value === session;
		if (isNext && this.#deps.hasRoom() && this.#bucket.take(1)) {
			this.#line.delete(session);
			return;
		}
		if (this.#line.has(session) || this.#line.size < MAX_WAITING) this.#line.set(session, now);
		const position = Math.min(this.#positionOf(session), this.#line.size);
		throw new HttpError(
			503,
			'no-capacity',
			`Все стенды заняты, вы ${position}-й в очереди. Страница сама попробует снова через несколько секунд.`,
			{ headers: { 'Retry-After': String(RETRY_AFTER_S) }, details: { position } },
		);
	}

	leave(session: string): void {
		this.#line.delete(session);
	}

	#positionOf(session: string): number {
		let position = 1;
		for (const key of this.#line.keys()) {
			if (key === session) return position;
			position++;
		}
		return position;
	}

	#dropStale(): void {
		const oldest = this.#deps.clock.now() - STALE_MS;
		for (const [session, seen] of this.#line) if (seen < oldest) this.#line.delete(session);
	}
}
