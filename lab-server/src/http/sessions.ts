/**
 * Browser sessions, which per-client limits count by (never the IP address alone: a classroom
 * shares one NAT address). The server issues each session id and signs it (HMAC-SHA256 with a
 * key kept in `STATE_DIR/session.key`, mode 0600): a cookie the client made up or altered is
 * replaced by a fresh session, so nobody can pick another browser's session, or claim one to get
 * back the lab a workshop handed to it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { sha256 } from '../lib/hash';
import { readCookie, setCookie } from './cookies';

const COOKIE = 'klab_session';
const MAX_AGE_S = 30 * 24 * 3600;
const ID = /^[A-Za-z0-9_-]{32}$/;

export interface BrowserSessions {
	/** The request's session (SHA-256 of its id), issuing a new signed cookie when it has none. */
	hashOf(req: IncomingMessage, res: ServerResponse, secure: boolean): string;
}

export function browserSessions(key: Buffer): BrowserSessions {
	const sign = (id: string) => createHmac('sha256', key).update(id).digest('base64url');
	const verify = (value: string | undefined): string | null => {
		const [id, mac, extra] = (value ?? '').split('.');
		if (!id || !mac || extra !== undefined || !ID.test(id)) return null;
		const expected = Buffer.from(sign(id));
		const given = Buffer.from(mac);
		return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
	};
	return {
		hashOf(req, res, secure) {
			let id = verify(readCookie(req, COOKIE, '/'));
			if (id === null) {
				id = randomBytes(24).toString('base64url');
				setCookie(res, COOKIE, `${id}.${sign(id)}`, { path: '/', maxAgeS: MAX_AGE_S, secure });
			}
			return sha256(id);
		},
	};
}

/**
 * The server's signing key: `STATE_DIR/session.key`, made on first start (32 random bytes, 0600
 * in a 0700 directory). Read synchronously, once, when the server is assembled.
 */
export function loadSessionKey(stateDir: string): Buffer {
	const file = path.resolve(stateDir, 'session.key');
	try {
		const key = readFileSync(file);
		if (key.length >= 32) return key;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
	}
	mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
	chmodSync(path.dirname(file), 0o700);
	const key = randomBytes(32);
	writeFileSync(file, key, { mode: 0o600 });
	return key;
}
