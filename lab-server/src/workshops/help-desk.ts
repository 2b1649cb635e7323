/**
 * «Позвать преподавателя» and the consented takeover of a workshop lab's terminals.
 *
 * The state lives on the lab (`lab.hand`, `lab.takeover`, labs/lab.ts) and every change of it is
 * exactly one lab event (`help`, `takeover`: api/events.ts) — the learner's page, the dashboard
 * and the recordings' markers all follow those events, so nothing here emits twice or silently.
 *
 * Takeover lifecycle: the instructor asks (`asked`) → the learner allows (`allowed`) or refuses
 * (`refused`); an ask nobody answers lapses after `TAKEOVER_ASK_SECONDS` (`ended` by `server`);
 * either side ends a live one (`ended`), and so does the lab's stop, reset or end. The
 * instructor's viewer sockets (terminals/viewer-socket.ts) read `mayType(lab)` on every frame, so
 * an end takes effect on the next keystroke; they also say when they open and close (`watch`), and
 * a granted takeover with none open ends after `unwatchedMs`.
 */
import type { Logger } from 'pino';
import type { LabEvents, TakeoverEvent, TakeoverState } from '../api';
import { HttpError } from '../http/errors';
import type { Lab } from '../labs/lab';
import type { Clock } from '../lib/clock';
import { TokenBucket } from '../lib/rate-limit';

/** Raising and lowering the hand: a few in a row, then one per `HAND_EVERY_S` seconds. */
const HAND_BURST = 6;
const HAND_EVERY_S = 10;

type By = TakeoverEvent['by'];

/** The takeover states during which the instructor's ask is still open or granted. */
const LIVE: readonly TakeoverState[] = ['asked', 'allowed'];

export interface HelpDeskDeps {
	clock: Clock;
	/** How long an ask waits for the learner's answer (config `takeoverAskMs`). */
	askMs: number;
	/**
	 * How long a granted takeover lasts with no instructor's viewer socket open (config
	 * `takeoverUnwatchedMs`): input rights never outlive the instructor's view (a closed tab, a
	 * lost connection), and a reload is back in time.
	 */
	unwatchedMs: number;
	log: Logger;
}

/** Whether the instructor's terminals may type in the lab now: only while the learner allows. */
export function instructorMayType(lab: Pick<Lab, 'takeover'>): boolean {
	return lab.takeover?.state === 'allowed';
}

export class HelpDesk {
	#deps: HelpDeskDeps;
	#hands = new Map<string, TokenBucket>();
	/** Per lab with a live takeover: the ask's lapse timer and the lab listeners that end it. */
	#live = new Map<string, { timer: unknown; release: () => void }>();
	/** Instructor viewer sockets open per lab, and the timer of an unwatched granted takeover. */
	#watchers = new Map<string, number>();
	#unwatched = new Map<string, unknown>();

	constructor(deps: HelpDeskDeps) {
		this.#deps = deps;
	}

	/** `POST /api/labs/:id/help`: the hand goes up (again, with a new message, if it was up). */
	raise(lab: Lab, message: string | null): void {
		requireWorkshop(lab);
		this.#takeHandToken(lab);
		const at = this.#deps.clock.now();
		lab.hand = { message, at };
		lab.events.emit('help', { raised: true, message, at: iso(at) });
		this.#deps.log.info({ labId: lab.id, chars: message?.length ?? 0 }, 'hand raised');
	}

	/** `DELETE /api/labs/:id/help`: the hand goes down; lowering a lowered hand changes nothing. */
	lower(lab: Lab): void {
		requireWorkshop(lab);
		if (!lab.hand) return;
		this.#takeHandToken(lab);
		lab.hand = null;
		lab.events.emit('help', { raised: false, message: null, at: iso(this.#deps.clock.now()) });
	}

	/** The instructor asks for input rights; 409 while an ask is open or granted. */
	ask(lab: Lab): void {
		requireWorkshop(lab);
		if (lab.takeover?.state === 'asked') {
			throw new HttpError(
				409,
				'takeover-pending',
				'Запрос уже отправлен: слушатель ещё не ответил.',
			);
		}
		if (lab.takeover?.state === 'allowed') {
			throw new HttpError(409, 'takeover-active', 'Слушатель уже разрешил ввод.');
		}
		this.#set(lab, 'asked', 'instructor');
	}

	/** The learner answers the open ask; 409 when there is none. */
	answer(lab: Lab, allow: boolean): void {
		requireWorkshop(lab);
		if (lab.takeover?.state !== 'asked') {
			throw new HttpError(
				409,
				'no-takeover-ask',
				'Преподаватель не просил доступ к вводу: отвечать не на что.',
			);
		}
		this.#set(lab, allow ? 'allowed' : 'refused', 'learner');
	}

	/** An instructor's viewer socket on the lab opened; call the result when it closes. */
	watch(lab: Lab): () => void {
		this.#watchers.set(lab.id, (this.#watchers.get(lab.id) ?? 0) + 1);
		this.#checkWatched(lab);
		let open = true;
		return () => {
			if (!open) return;
			open = false;
			const left = (this.#watchers.get(lab.id) ?? 1) - 1;
			if (left > 0) this.#watchers.set(lab.id, left);
			else this.#watchers.delete(lab.id);
			this.#checkWatched(lab);
		};
	}

	/** Starts the unwatched timer of a granted takeover nobody watches; stops it otherwise. */
	#checkWatched(lab: Lab): void {
		const watched = (this.#watchers.get(lab.id) ?? 0) > 0;
		const timer = this.#unwatched.get(lab.id);
		if (watched || !instructorMayType(lab)) {
			if (timer !== undefined) this.#deps.clock.clearTimeout(timer);
			this.#unwatched.delete(lab.id);
			return;
		}
		if (timer !== undefined) return;
		this.#unwatched.set(
			lab.id,
			this.#deps.clock.setTimeout(() => {
				this.#unwatched.delete(lab.id);
				if (instructorMayType(lab)) this.#set(lab, 'ended', 'server');
			}, this.#deps.unwatchedMs),
		);
	}

	/** Either side ends an open ask or a granted takeover; with none, nothing changes. */
	end(lab: Lab, by: Exclude<By, 'server'>): void {
		requireWorkshop(lab);
		if (isLive(lab)) this.#set(lab, 'ended', by);
	}

	/** State changes go through here: the lab's state, one event, the timer and listeners. */
	#set(lab: Lab, state: TakeoverState, by: By): void {
		const at = this.#deps.clock.now();
		lab.takeover = { state, by, at };
		if (LIVE.includes(state)) this.#follow(lab, state);
		else this.#unfollow(lab.id);
		this.#checkWatched(lab);
		lab.events.emit('takeover', { state, by, at: iso(at) });
		this.#deps.log.info({ labId: lab.id, state, by }, 'takeover');
	}

	/** While a takeover is live: the ask lapses unanswered, the lab's stop, reset or end ends it. */
	#follow(lab: Lab, state: TakeoverState): void {
		const { clock, askMs } = this.#deps;
		const existing = this.#live.get(lab.id);
		if (existing) clock.clearTimeout(existing.timer);
		const timer =
			state === 'asked'
				? clock.setTimeout(() => {
						if (lab.takeover?.state === 'asked') this.#set(lab, 'ended', 'server');
					}, askMs)
				: null;
		if (existing) {
			existing.timer = timer;
			return;
		}
		const endIt = () => {
			if (isLive(lab)) this.#set(lab, 'ended', 'server');
		};
		const on: (keyof LabEvents)[] = ['stopped', 'reset', 'ended'];
		for (const name of on) lab.events.on(name, endIt);
		this.#live.set(lab.id, {
			timer,
			release: () => {
				for (const name of on) lab.events.off(name, endIt);
			},
		});
	}

	#unfollow(labId: string): void {
		const live = this.#live.get(labId);
		if (!live) return;
		this.#deps.clock.clearTimeout(live.timer);
		live.release();
		this.#live.delete(labId);
	}

	/** A learner toggling the hand in a loop must not flood the instructor's screen. */
	#takeHandToken(lab: Lab): void {
		let bucket = this.#hands.get(lab.id);
		if (!bucket) {
			bucket = new TokenBucket({
				ratePerSecond: 1 / HAND_EVERY_S,
				burst: HAND_BURST,
				clock: this.#deps.clock,
			});
			this.#hands.set(lab.id, bucket);
			lab.events.once('ended', () => this.#hands.delete(lab.id));
		}
		if (!bucket.take(1)) {
			throw new HttpError(
				429,
				'too-many-hands',
				`Слишком часто: поднять или опустить руку можно снова через ${HAND_EVERY_S} с.`,
				{ headers: { 'Retry-After': String(HAND_EVERY_S) } },
			);
		}
	}
}

function isLive(lab: Lab): boolean {
	return lab.takeover !== null && LIVE.includes(lab.takeover.state);
}

/** 409 for a self-paced lab: there is no instructor to call. */
function requireWorkshop(lab: Lab): void {
	if (lab.workshop === null) {
		throw new HttpError(
			409,
			'not-in-workshop',
			'Стенд не в занятии: звать некого. Позвать преподавателя можно только на занятии.',
		);
	}
}

function iso(ms: number): string {
	return new Date(ms).toISOString();
}
