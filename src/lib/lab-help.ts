/**
 * `<lab-help>`: «Позвать преподавателя» for a workshop lab (markup in LabHelp.astro).
 *
 * State: the hand (`{ message } | null`) and the takeover's latest state, first from the lab's
 * view (`GET /api/labs/:id` → `help`; null for a self-paced lab, which hides the element), then
 * from the lab's `help` and `takeover` events, which the lab panel passes on as `lab:help` and
 * `lab:takeover` document events. The element follows the panel's lab through `lab:state`.
 *
 * The ask is shown and announced (role=alert), never focused: a learner typing in a terminal
 * must not answer it with a stray Enter.
 */
import { ApiError, getLab } from './lab-api';
import {
	answerTakeover,
	asTakeoverState,
	endTakeoverAsLearner,
	lowerHand,
	raiseHand,
} from './help-api';
import { currentLab, type LabSnapshot } from './lab-state';
import type { TakeoverState } from '../../lab-server/src/api';
import { createT, dictFrom, type Translate, type UiKey } from '../i18n/t';

class LabHelp extends HTMLElement {
	#t: Translate = createT({});
	#labId: string | null = null;
	#hand: { message: string | null } | null = null;
	#takeover: TakeoverState | null = null;

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		this.addEventListener('click', this.#onClick);
		this.#slot('raise').addEventListener('submit', this.#onRaise);
		document.addEventListener('lab:state', this.#onState);
		document.addEventListener('lab:help', this.#onHelp);
		document.addEventListener('lab:takeover', this.#onTakeover);
		this.#onState(new CustomEvent('lab:state', { detail: currentLab() }));
	}

	disconnectedCallback(): void {
		this.removeEventListener('click', this.#onClick);
		this.#slot('raise').removeEventListener('submit', this.#onRaise);
		document.removeEventListener('lab:state', this.#onState);
		document.removeEventListener('lab:help', this.#onHelp);
		document.removeEventListener('lab:takeover', this.#onTakeover);
	}

	/** Another lab (or none): its help state comes with its view. */
	#onState = ({ detail }: CustomEvent<LabSnapshot>): void => {
		const id = detail.status === 'running' ? (detail.lab?.id ?? null) : null;
		if (id === this.#labId) return;
		this.#labId = id;
		this.hidden = true;
		if (id) void this.#load(id);
	};

	async #load(id: string): Promise<void> {
		try {
			const { help } = await getLab(id);
			if (this.#labId !== id || !help) return;
			this.#hand = help.hand && { message: help.hand.message };
			this.#takeover = help.takeover;
			this.hidden = false;
			this.#render();
		} catch {
			// The panel deals with a lab that is gone; the next `lab:state` tries again.
		}
	}

	#onHelp = ({ detail }: CustomEvent<Record<string, unknown> | null>): void => {
		if (!detail || this.hidden) return;
		const message = typeof detail.message === 'string' ? detail.message : null;
		this.#hand = detail.raised === true ? { message } : null;
		this.#render();
	};

	#onTakeover = ({ detail }: CustomEvent<Record<string, unknown> | null>): void => {
		const state = asTakeoverState(detail?.state);
		if (!state || this.hidden) return;
		const before = this.#takeover;
		this.#takeover = state;
		this.#render();
		if (state === before) return;
		if (state === 'asked') this.#alert(this.#t('help.ask.title'));
		else if (state === 'allowed') this.#alert(this.#t('help.allowed'));
		else if (state === 'ended' && before === 'allowed') this.#alert(this.#t('help.ended'));
	};

	#render(): void {
		const hand = this.#hand;
		this.#slot('raise').hidden = hand !== null;
		this.#slot('raised').hidden = hand === null;
		this.#slot('raised-text').textContent = !hand
			? ''
			: hand.message
				? this.#t('help.raisedWith', { message: hand.message })
				: this.#t('help.raised');
		const live = this.#takeover === 'asked' || this.#takeover === 'allowed';
		this.#slot('asked').hidden = this.#takeover !== 'asked';
		this.#slot('allowed').hidden = this.#takeover !== 'allowed';
		// The panel keeps a live ask or its banner above the terminals on a narrow screen.
		if (live) this.dataset.takeover = this.#takeover!;
		else delete this.dataset.takeover;
	}

	#onRaise = (event: SubmitEvent): void => {
		event.preventDefault();
		const input = this.querySelector<HTMLInputElement>('input[name="message"]')!;
		const message = input.value.trim();
		void this.#act(async (id) => {
			await raiseHand(id, message);
			input.value = '';
			this.#hand = { message: message || null };
		});
	};

	#onClick = (event: MouseEvent): void => {
		const action = (event.target as Element | null)?.closest<HTMLElement>('[data-action]')?.dataset
			.action;
		if (action === 'lower') {
			void this.#act(async (id) => {
				await lowerHand(id);
				this.#hand = null;
			}, 'help.lowered');
		} else if (action === 'allow' || action === 'refuse') {
			void this.#act(
				async (id) => {
					this.#takeover = await answerTakeover(id, action === 'allow');
				},
				action === 'refuse' ? 'help.refused' : undefined,
			);
		} else if (action === 'stop') {
			void this.#act(async (id) => {
				await endTakeoverAsLearner(id);
				this.#takeover = 'ended';
			}, 'help.ended');
		}
	};

	async #act(call: (labId: string) => Promise<void>, done?: UiKey): Promise<void> {
		const id = this.#labId;
		if (!id) return;
		const say = this.#slot('say');
		try {
			await call(id);
			say.textContent = done ? this.#t(done) : '';
		} catch (error) {
			say.textContent =
				error instanceof ApiError && error.serverMessage
					? this.#t('help.failed', { message: error.serverMessage })
					: this.#t('help.unreachable');
			// What the server refused may be stale here (an ask that lapsed): look again.
			if (error instanceof ApiError && error.status === 409) void this.#load(id);
		}
		this.#render();
	}

	#alert(text: string): void {
		this.#slot('alert').textContent = text;
	}

	#slot(name: string): HTMLElement {
		const el = this.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el) throw new Error(`lab-help: missing [data-slot="${name}"] in LabHelp.astro`);
		return el;
	}
}

if (!customElements.get('lab-help')) customElements.define('lab-help', LabHelp);
