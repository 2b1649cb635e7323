/**
 * A learner's way into their lab: the token that opens it (only its SHA-256 is kept, labels.ts)
 * and how long the cookie that carries it lives.
 */
import { HttpError } from '../http/errors';
import { sameDigest, sha256 } from '../lib/hash';
import type { Lab } from './lab';

/** The lab, if `token` opens it: 404 for an unknown lab, 401 without a token, 403 for another's. */
export function authorizeLab(lab: Lab | undefined, token: string | undefined): Lab {
	if (!lab)
		throw new HttpError(
			404,
			'lab-not-found',
			'Стенд не найден: возможно, его время истекло. Запустите новый.',
		);
	if (!token) throw new HttpError(401, 'unauthorized', 'Нужен ключ доступа к стенду.');
	if (!sameDigest(sha256(token), lab.tokenHash)) {
		throw new HttpError(403, 'forbidden', 'Этот ключ не открывает этот стенд.');
	}
	return lab;
}

/**
 * How long the lab's cookie should live, in seconds from `now`: as long as the lab may —
 * running, then kept stopped for `keepMs` (`LAB_KEEP_DAYS`) — and an hour more (a lab extended
 * later gets a fresh cookie on its GET).
 */
export function cookieMaxAgeS(lab: Lab, now: number, keepMs: number): number {
	const until = lab.keptUntil ?? lab.expiresAt + keepMs;
	return Math.max(0, Math.round((until - now) / 1000)) + 3600;
}
