/**
 * The terminal protocol's WebSocket close codes (4000–4999 are the application's), and which
 * closes a client reconnects after. Part of the protocol (protocol.ts re-exports them).
 */

/** WebSocket close codes the lab server uses, each with a reason string. */
export const CloseCode = {
	/** Malformed frame: do not reconnect. */
	PROTOCOL_ERROR: 4000,
	/** First frame was not HELLO, or none came within the timeout. */
	HELLO_REQUIRED: 4001,
	UNSUPPORTED_VERSION: 4002,
	/** Input rate over the per-lab cap. */
	RATE_LIMITED: 4008,
	TOO_MANY_TERMINALS: 4009,
	/** Lab deleted or expired: do not reconnect. */
	LAB_ENDED: 4010,
	/** The shell exited (after an EXIT frame). */
	TERMINAL_EXITED: 4011,
	/** Another connection took over this terminal; reconnecting would take it back and loop. */
	REPLACED: 4012,
	/** Reconnect with `resumeOffset`. */
	SERVER_RESTARTING: 4013,
	/** Node was reset: reconnect (to a new shell). */
	NODE_RESET: 4014,
	/** A read-only viewer asked for a terminal the learner has not opened yet (after ERROR `not-started`). */
	NOT_STARTED: 4015,
	/** A read-only viewer fell more than 1 MiB behind and was dropped (the learner is never slowed). */
	VIEWER_TOO_SLOW: 4016,
	/**
	 * The client stopped reading its output (the server's socket held it for 30 s): the shell is
	 * kept, reconnect and resume.
	 */
	CLIENT_TOO_SLOW: 4017,
	/** The lab was stopped (idle, or its time ran out), its files kept: resume it, then reconnect. */
	LAB_STOPPED: 4018,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Closes after which a client should reconnect on its own: the two of ours that ask for it, and
 * the standard ones for a transient failure (going away 1001, no status 1005, dropped 1006,
 * server error 1011, restart 1012, try again later 1013, bad gateway 1014). Other standard codes
 * mean the client sent something wrong and would be refused again.
 */
const RECONNECT_CODES: ReadonlySet<number> = new Set([
	1001,
	1005,
	1006,
	1011,
	1012,
	1013,
	1014,
	CloseCode.SERVER_RESTARTING,
	CloseCode.NODE_RESET,
	CloseCode.CLIENT_TOO_SLOW,
]);

export function shouldReconnect(code: number): boolean {
	return RECONNECT_CODES.has(code);
}
