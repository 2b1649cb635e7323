/**
 * The instructor's sign-in. `INSTRUCTOR_SECRET`, typed once on the instructor page
 * (`POST /api/instructor/session`), opens a session held in an httpOnly cookie, so the browser
 * never keeps the secret and the instructor never types it again that day.
 *
 * Sessions: a random token in the cookie; the server keeps only its SHA-256 and expiry, in memory
 * (`SESSION_TTL_MS`; a restart signs everyone out; at most `MAX_SESSIONS`, the oldest go first).
 * A token is looked up by its digest, so the lookup's timing says nothing about the token.
 *
 * The secret: every comparison with it goes through `verifySecret` — in constant time, and at most
 * `MAX_FAILURES` wrong ones per client address per `FAILURE_WINDOW_MS`, then 429 with Retry-After
 * until the window ends (the secret opens every workshop; a classroom behind one NAT address
 * loses only the instructor's sign-in, for a minute at most after someone there guesses).
 */
import type { IncomingMessage } from 'node:http';
import { instructorSessionToken } from '../http/auth';
import { clientAddress } from '../http/cookies';
import { HttpError } from '../http/errors';
import type { Clock } from '../lib/clock';
import { FailureLimit } from '../lib/failure-limit';
import { sameDigest, sha256 } from '../lib/hash';
import { newToken } from '../lib/ids';

/** How long a sign-in lasts: a working day. */
export const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;
/** Wrong secrets per client address within the window before it must wait. */
export const MAX_FAILURES = 5;
/**
 * A minute: five guesses a minute per address leave a 16-character secret out of reach, and a
 * learner who types wrong secrets on purpose locks their room's address out for a minute, not
 * for the lesson.
 */
export const FAILURE_WINDOW_MS = 60_000;
/** Addresses whose failures are remembered at most (memory stays bounded under a spread attack). */
const MAX_ADDRESSES = 10_000;

export interface InstructorSessionsOptions {
	/** The server's `INSTRUCTOR_SECRET`; unset: workshops are off (503). */
	secret: string | undefined;
	/** `TRUST_PROXY`: the client address from `X-Forwarded-For`. */
	trustProxy: boolean;
	clock: Clock;
}

export class InstructorSessions {
	readonly #secretHash: string | null;
	readonly #trustProxy: boolean;
	readonly #clock: Clock;
	/** token SHA-256 → expiry (ms), oldest first. */
	#sessions = new Map<string, number>();
	#failures: FailureLimit;
	/** Told of every sign-out (live dashboards then ask their caller's credentials again). */
	#signOutListeners = new Set<() => void>();

	constructor(options: InstructorSessionsOptions) {
		this.#secretHash = options.secret === undefined ? null : sha256(options.secret);
		this.#trustProxy = options.trustProxy;
		this.#clock = options.clock;
		this.#failures = new FailureLimit({
			maxFailures: MAX_FAILURES,
			windowMs: FAILURE_WINDOW_MS,
			maxKeys: MAX_ADDRESSES,
			clock: options.clock,
		});
	}

	/** 503 `workshops-disabled` while no `INSTRUCTOR_SECRET` is set. */
	requireEnabled(): void {
		if (this.#secretHash !== null) return;
		throw new HttpError(
			503,
			'workshops-disabled',
			'Занятия с преподавателем выключены: на сервере не задан INSTRUCTOR_SECRET. Попросите администратора задать его (см. README).',
		);
	}

	/**
	 * Nothing when `candidate` is the secret; 429 while the request's address has guessed wrong
	 * too often (nothing is compared then), 403 otherwise (the failure counts).
	 */
	verifySecret(req: IncomingMessage, candidate: string): void {
		this.requireEnabled();
		const address = clientAddress(req, this.#trustProxy) ?? 'unknown';
		const waitMs = this.#failures.retryAfterMs(address);
		if (waitMs > 0) {
			const minutes = Math.ceil(waitMs / 60_000);
			throw new HttpError(
				429,
				'too-many-sign-ins',
				`Слишком много неверных попыток ввести секрет преподавателя с этого адреса. Попробуйте снова через ${minutes} мин.`,
				{ headers: { 'Retry-After': String(Math.ceil(waitMs / 1000)) } },
			);
		}
		if (sameDigest(sha256(candidate), this.#secretHash!)) {
			this.#failures.clear(address);
			return;
		}
		this.#failures.fail(address);
		throw new HttpError(403, 'forbidden', 'Секрет преподавателя не подходит.');
	}

	/** A new session (the caller has verified the secret): its token, for the cookie only. */
	open(): { token: string; expiresAt: number } {
		const now = this.#clock.now();
		for (const [hash, expiresAt] of this.#sessions) {
			if (expiresAt <= now || this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(hash);
		}
		const token = newToken();
		const expiresAt = now + SESSION_TTL_MS;
		this.#sessions.set(sha256(token), expiresAt);
		return { token, expiresAt };
	}

	/** The expiry of the request's session; null when it has none, or an expired or unknown one. */
	current(req: IncomingMessage): number | null {
		if (this.#secretHash === null) return null;
		const token = instructorSessionToken(req);
		if (!token) return null;
		const hash = sha256(token);
		const expiresAt = this.#sessions.get(hash);
		if (expiresAt === undefined) return null;
		if (expiresAt <= this.#clock.now()) {
			this.#sessions.delete(hash);
			return null;
		}
		return expiresAt;
	}

	/** Signs the request's session out (nothing when it has none). */
	close(req: IncomingMessage): void {
		const token = instructorSessionToken(req);
		if (token && this.#sessions.delete(sha256(token))) {
			for (const listener of [...this.#signOutListeners]) listener();
		}
	}

	/** Calls `listener` after each sign-out; returns `off`. */
	onSignOut(listener: () => void): () => void {
		this.#signOutListeners.add(listener);
		return () => this.#signOutListeners.delete(listener);
	}
}
