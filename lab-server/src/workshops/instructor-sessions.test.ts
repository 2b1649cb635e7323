import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { refusal } from '../../testing/http';
import { ManualClock } from '../lib/clock';
import {
	FAILURE_WINDOW_MS,
	InstructorSessions,
	MAX_FAILURES,
	SESSION_TTL_MS,
} from './instructor-sessions';

const SECRET = 'unit-instructor-secret-0123456789';

function request(cookie?: string, address = '203.0.113.5'): IncomingMessage {
	return {
		headers: cookie ? { cookie: `klab_instructor=${cookie}` } : {},
		socket: { remoteAddress: address },
	} as unknown as IncomingMessage;
}

/** `secret` null: none set. */
function sessions(secret: string | null = SECRET) {
	const clock = new ManualClock(1_700_000_000_000);
	return {
		clock,
		sessions: new InstructorSessions({ secret: secret ?? undefined, trustProxy: false, clock }),
	};
}

describe('InstructorSessions', () => {
	it('opens a session that lasts SESSION_TTL_MS, and closes it', () => {
		const { clock, sessions: s } = sessions();
		const { token, expiresAt } = s.open();
		expect(expiresAt).toBe(clock.now() + SESSION_TTL_MS);
		expect(s.current(request(token))).toBe(expiresAt);
		expect(s.current(request(`${token}x`))).toBeNull();
		expect(s.current(request())).toBeNull();
		clock.advance(SESSION_TTL_MS - 1);
		expect(s.current(request(token))).toBe(expiresAt);
		clock.advance(1);
		expect(s.current(request(token))).toBeNull();

		const second = s.open();
		s.close(request(second.token));
		expect(s.current(request(second.token))).toBeNull();
	});

	it('counts wrong secrets per address and locks it for the rest of the window', () => {
		const { clock, sessions: s } = sessions();
		for (let i = 0; i < MAX_FAILURES; i++) {
			expect(refusal(() => s.verifySecret(request(), `guess-${i}`))).toBe('403 forbidden');
		}
		expect(refusal(() => s.verifySecret(request(), SECRET))).toBe('429 too-many-sign-ins');
		expect(refusal(() => s.verifySecret(request(undefined, '203.0.113.6'), SECRET))).toBe('none');
		clock.advance(FAILURE_WINDOW_MS);
		expect(refusal(() => s.verifySecret(request(), SECRET))).toBe('none');
	});

	it('is off without a secret: 503, and no cookie opens anything', () => {
		const { sessions: s } = sessions(null);
		expect(refusal(() => s.requireEnabled())).toBe('503 workshops-disabled');
		expect(refusal(() => s.verifySecret(request(), 'anything'))).toBe('503 workshops-disabled');
		expect(s.current(request(s.open().token))).toBeNull();
	});
});
