import { randomBytes, randomInt } from 'node:crypto';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** What every id from `newId` matches: in routes, in labels, in file names. */
export const ID_PATTERN = '[a-z0-9]{10}';

/**
 * Ten characters from [a-z0-9] (about 51 bits), for labs and workshops: short enough for a lab's
 * bridge name (`klab-<id>`, 15 characters), and never guessable.
 */
export function newId(): string {
	return Array.from({ length: 10 }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join('');
}

/** 32 random bytes, base64url: lab and instructor tokens. */
export function newToken(): string {
	return randomBytes(32).toString('base64url');
}
