/**
 * A workshop in the server's memory: an instructor's class with `seats` learners and a `pool` of
 * labs kept booted for them (labs/warm-pool.ts), and its join code.
 */
import { randomInt } from 'node:crypto';
import type { WorkshopShard } from '../api/cluster';

export interface Learner {
	name: string;
	sessionHash: string;
	labId: string;
	/** The lab's token, to hand the same lab back on a rejoin. */
	token: string;
	joinedAt: number;
}

/** Its code, title, seats, pool and instructor's token hash are what the hub sends an agent. */
export interface Workshop extends WorkshopShard {
	id: string;
	learners: Learner[];
	/** Booted labs waiting for a learner: lab id → token. */
	ready: Map<string, string>;
	starting: number;
	ended: boolean;
}

export const DEFAULT_TITLE = 'Занятие «Настройка KeepAlived»';

/** Join codes: no 0/O, 1/I/L, so a code read aloud or off a projector is typed right. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 6;

/** A join code none of `used` has. */
export function newCode(used: ReadonlySet<string>): string {
	for (;;) {
		const code = Array.from(
			{ length: CODE_LENGTH },
			() => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)],
		).join('');
		if (!used.has(code)) return code;
	}
}

/** `abc-def`, `ABCDEF`, ` abc def ` → `ABCDEF`. */
export function normalizeCode(code: string): string {
	return code.toUpperCase().replace(/[^A-Z0-9]/g, '');
}
