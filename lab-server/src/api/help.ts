/**
 * «Позвать преподавателя» and the consented takeover, as the API shows them: the raised hand
 * (`POST`/`DELETE /api/labs/:id/help`) and the instructor's input rights in a learner's
 * terminals (`…/takeover`). The events that carry each change are in events.ts.
 */
import type { TakeoverState } from './events';

/** Characters of a raised hand's message (it is shown on the instructor's dashboard). */
export const HELP_MESSAGE_MAX = 200;

/** A raised hand: the learner's words (null without any) and when (ISO time). */
export interface RaisedHand {
	message: string | null;
	at: string;
}

/**
 * A workshop lab's call for help, in its lab view (`GET /api/labs/:id`), so a page opened
 * later shows the raised hand, a pending ask or the banner of a running takeover. `takeover`:
 * the latest state; only `asked` and `allowed` are live.
 */
export interface LabHelp {
	hand: RaisedHand | null;
	takeover: TakeoverState | null;
}

/** `POST /api/labs/:id/takeover` `{ allow }` and the instructor's ask: the state now. */
export interface TakeoverAnswer {
	takeover: TakeoverState;
}
