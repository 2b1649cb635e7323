/**
 * The extra-keys bar under a terminal on touch screens (a phone's keyboard has no Esc, Tab, Ctrl
 * or arrows): one button per key of extra-keys.ts. The terminal (lab-terminal.ts) owns it: a key
 * goes into the terminal's own input path (`send`), and Ctrl waits for the next character typed
 * on the on-screen keyboard, which the terminal passes through `typed()`.
 *
 * The buttons never take the focus (pointerdown is prevented): the terminal keeps it and the
 * phone's keyboard stays open. Shown only where the primary pointer is coarse or the screen is
 * touch-capable; hidden elsewhere, where a real keyboard has these keys.
 */
import { EXTRA_KEYS, KEY_LABELS, keyBytes, withCtrl, type ExtraKey } from './extra-keys';
import type { Translate, UiKey } from '../i18n/t';

export interface ExtraKeysTarget {
	/** Types `data` as if its keys were pressed in the terminal. */
	send(data: string): void;
	/** Whether the program asked for application cursor keys (DECCKM). */
	applicationCursor(): boolean;
	focus(): void;
}

const TOUCH = '(pointer: coarse)';

export class ExtraKeysBar {
	readonly element: HTMLElement;
	#ctrl: HTMLButtonElement;
	#touch = matchMedia(TOUCH);

	constructor(t: Translate, node: string, target: ExtraKeysTarget) {
		const bar = document.createElement('div');
		bar.className = 'lab-terminal__keys';
		bar.setAttribute('role', 'group');
		bar.setAttribute('aria-label', t('term.keys', { node }));
		const buttons = EXTRA_KEYS.map((key) => keyButton(t, key));
		this.#ctrl = buttons[EXTRA_KEYS.indexOf('ctrl')]!;
		this.#ctrl.setAttribute('aria-pressed', 'false');
		bar.append(...buttons);
		// Not `click` alone: a pointerdown on a button would move the focus out of the terminal
		// and close the phone's keyboard.
		bar.addEventListener('pointerdown', (event) => event.preventDefault());
		bar.addEventListener('click', (event) => {
			const key = (event.target as Element | null)?.closest<HTMLElement>('[data-key]')?.dataset
				.key as ExtraKey | undefined;
			if (!key) return;
			if (key === 'ctrl') {
				this.#setCtrl(this.#ctrl.getAttribute('aria-pressed') !== 'true');
			} else {
				// Ctrl is for a typed letter; an extra key pressed meanwhile goes as it is.
				this.#setCtrl(false);
				target.send(keyBytes(key, target.applicationCursor()));
			}
			target.focus();
		});
		this.element = bar;
		this.#showWhenTouch();
		this.#touch.addEventListener('change', () => this.#showWhenTouch());
	}

	/** What the terminal sends for `data` typed on the keyboard: with Ctrl if it is pressed. */
	typed(data: string): string {
		if (this.#ctrl.getAttribute('aria-pressed') !== 'true') return data;
		this.#setCtrl(false);
		return withCtrl(data);
	}

	#setCtrl(on: boolean): void {
		this.#ctrl.setAttribute('aria-pressed', String(on));
	}

	#showWhenTouch(): void {
		this.element.hidden = !(this.#touch.matches || navigator.maxTouchPoints > 0);
	}
}

function keyButton(t: Translate, key: ExtraKey): HTMLButtonElement {
	const button = document.createElement('button');
	button.type = 'button';
	button.className = 'lab-terminal__key';
	button.dataset.key = key;
	button.textContent = KEY_LABELS[key];
	button.setAttribute('aria-label', t(`term.key.${key}` as UiKey));
	return button;
}
