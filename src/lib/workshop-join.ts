/**
 * `<workshop-join>`: the «join by code» form (markup in `src/pages/workshop/index.astro`).
 *
 * `?code=ABC-DEF` in the page's address fills the code (a link from the instructor). On submit it
 * calls `POST /api/workshops/:code/join`; the answer is a lab, whose id goes where the lab panel
 * looks on load (`LAB_ID_KEY`), and the browser goes to the first step, where the panel restores
 * the lab. While the pool is refilling (503) it retries by itself after a visible countdown.
 */
import { markInvalid, sayStatus, type StatusKind } from './form-status';
import { ApiError } from './lab-api';
import { LAB_ID_KEY } from './lab-state';
import { writeStorage } from './storage';
import { joinWorkshop, normalizeCode, displayCode } from './workshop-api';
import { createT, dictFrom, type Translate } from '../i18n/t';

/** Seconds between tries while the server refills the pool of ready labs. */
const REFILL_RETRY_S = 5;
const NAME_KEY = 'keepalived-lab:workshop-name';

class WorkshopJoin extends HTMLElement {
	#t: Translate = createT({});
	#busy = false;
	#countdown: ReturnType<typeof setInterval> | undefined;

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		const form = this.#form();
		const code = new URLSearchParams(location.search).get('code');
		const codeInput = this.#input('code');
		const nameInput = this.#input('name');
		if (code) codeInput.value = displayCode(normalizeCode(code) ?? code.toUpperCase());
		try {
			nameInput.value ||= localStorage.getItem(NAME_KEY) ?? '';
		} catch {
			// Storage off: the learner types the name.
		}
		form.addEventListener('submit', this.#onSubmit);
		this.querySelector('[data-action="cancel-retry"]')?.addEventListener('click', () =>
			this.#stopRetry(),
		);
		// A code from the link: the name is what is left to type.
		(code && !nameInput.value ? nameInput : codeInput).focus();
	}

	disconnectedCallback(): void {
		clearInterval(this.#countdown);
		this.#form().removeEventListener('submit', this.#onSubmit);
	}

	#onSubmit = (event: SubmitEvent): void => {
		event.preventDefault();
		this.#stopRetry();
		void this.#join();
	};

	async #join(): Promise<void> {
		if (this.#busy) return;
		const codeInput = this.#input('code');
		const nameInput = this.#input('name');
		const code = normalizeCode(codeInput.value);
		const name = nameInput.value.trim();
		markInvalid(codeInput, !code);
		markInvalid(nameInput, code !== null && (name.length < 1 || name.length > 40));
		if (!code) return this.#say('error', this.#t('workshop.error.badCode'), codeInput);
		if (name.length < 1 || name.length > 40)
			return this.#say('error', this.#t('workshop.error.badName'), nameInput);
		codeInput.value = displayCode(code);
		try {
			localStorage.setItem(NAME_KEY, name);
		} catch {
			// See connectedCallback.
		}
		this.#setBusy(true);
		this.#say('busy', this.#t('workshop.joining'));
		try {
			const lab = await joinWorkshop(code, name);
			writeStorage(localStorage, LAB_ID_KEY, lab.id);
			this.#say('ok', this.#t('workshop.joined'));
			location.assign(this.dataset.next ?? '/');
		} catch (error) {
			this.#setBusy(false);
			this.#failed(error, codeInput);
		}
	}

	#failed(error: unknown, codeInput: HTMLInputElement): void {
		const api = error instanceof ApiError ? error : null;
		if (api?.status === 503 && api.code !== 'http') return this.#retryLater();
		if (api?.status === 404) {
			markInvalid(codeInput, true);
			return this.#say('error', this.#t('workshop.error.notFound'), codeInput);
		}
		if (api?.status === 409 || api?.code === 'workshop-full')
			return this.#say('error', this.#t('workshop.error.full'));
		if (api?.status === 410) return this.#say('error', this.#t('workshop.error.ended'));
		if (!api || api.status === 0) return this.#say('error', this.#t('workshop.error.unreachable'));
		this.#say(
			'error',
			api.serverMessage
				? this.#t('workshop.error.other', { message: api.serverMessage })
				: this.#t('workshop.error.status', { status: api.status }),
		);
	}

	/** 503 pool-refilling: a new lab is a few seconds away; count down, then try again. */
	#retryLater(): void {
		let left = REFILL_RETRY_S;
		const show = (): void =>
			this.#say('wait', this.#t('workshop.error.refilling', { s: left }), undefined, true);
		show();
		this.#countdown = setInterval(() => {
			left -= 1;
			if (left > 0) return show();
			this.#stopRetry();
			void this.#join();
		}, 1000);
	}

	#stopRetry(): void {
		clearInterval(this.#countdown);
		this.#countdown = undefined;
		this.#slot('cancel-retry').hidden = true;
	}

	#setBusy(busy: boolean): void {
		this.#busy = busy;
		const submit = this.querySelector<HTMLButtonElement>('button[type="submit"]')!;
		submit.setAttribute('aria-disabled', String(busy));
	}

	/** The status line under the form; an error moves focus to the field to fix. */
	#say(kind: StatusKind, text: string, focus?: HTMLElement, retrying = false): void {
		this.#slot('cancel-retry').hidden = !retrying;
		sayStatus(this.#slot('status'), kind, text, focus);
	}

	#form(): HTMLFormElement {
		return this.querySelector('form')!;
	}

	#input(name: 'code' | 'name'): HTMLInputElement {
		return this.querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
	}

	#slot(name: string): HTMLElement {
		const el = this.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el)
			throw new Error(`workshop-join: missing [data-slot="${name}"] in workshop/index.astro`);
		return el;
	}
}

if (!customElements.get('workshop-join')) customElements.define('workshop-join', WorkshopJoin);
