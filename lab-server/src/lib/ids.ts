import { randomBytes, randomInt } from 'node:crypto';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** What every id from `newId` matches: in routes, in labels, in file names. */
export const ID_PATTERN = '[a-z0-9]{10}';

/**
 * Ten characters from [a-z0-9] (about 51 bits), for labs and workshops: short enough for a lab's
 * bridge name (`klab-<id>`, 15 characters), and never guessable. An agent's labs start with its
 * `prefix` (cluster/agent-id.ts: three characters, leaving seven random ones, about 36 bits; the
 * lab's token, not its id, is what opens it).
 */
export function newId(prefix = ''): string {
	return (
		prefix +
		Array.from(
			{ length: 10 - prefix.length },
			() => ID_ALPHABET[randomInt(ID_ALPHABET.length)],
		).join('')
	);
}

/** 32 random bytes, base64url: lab and instructor tokens. */
export function newToken(): string {
	return randomBytes(32).toString('base64url');
}
