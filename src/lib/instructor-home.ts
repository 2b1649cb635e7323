/**
 * `<instructor-home>`: the instructor page when its address names no workshop (markup in
 * `src/components/InstructorHome.astro`; one workshop's dashboard is `instructor-dashboard.ts`).
 *
 * Views (`data-view`): `sign-in` — the form that signs in once with the server's secret (the
 * server answers with an httpOnly cookie; the page never keeps the secret); `signed-in` — a
 * form that creates a workshop and the list of open workshops, each with a link to its
 * dashboard (`?workshop=<id>`, which opens in any tab while signed in). A failure to load says
 * so in the status line at the top, with the server's Russian message (e.g. no secret set).
 */
import { WORKSHOP_LIMITS } from '../../lab-server/src/api';
import { createT, dictFrom, type Translate, type UiKey, type Vars } from '../i18n/t';
import { markInvalid, sayStatus, type StatusKind } from './form-status';
import {
	createWorkshop,
	getInstructorSession,
	listWorkshops,
	signIn,
	signOut,
	workshopInAddress,
	type WorkshopSummary,
} from './instructor-api';
import { ApiError } from './lab-api';
import { displayCode } from './workshop-api';

type View = 'sign-in' | 'signed-in';
type FormName = 'sign-in' | 'create';

class InstructorHome extends HTMLElement {
	#t: Translate = createT({});
	#busy = new Set<FormName>();

	connectedCallback(): void {
		// A workshop named in the address: its dashboard shows instead.
		this.hidden = workshopInAddress(location) !== null;
		if (this.hidden) return;
		this.#t = createT(dictFrom(this));
		this.#form('sign-in').addEventListener('submit', this.#onSignIn);
		this.#form('create').addEventListener('submit', this.#onCreate);
		this.addEventListener('click', this.#onClick);
		document.addEventListener('visibilitychange', this.#onVisible);
		void this.#load();
	}

	disconnectedCallback(): void {
		this.#form('sign-in').removeEventListener('submit', this.#onSignIn);
		this.#form('create').removeEventListener('submit', this.#onCreate);
		this.removeEventListener('click', this.#onClick);
		document.removeEventListener('visibilitychange', this.#onVisible);
	}

	/** Back to this tab (from a dashboard, say): the list again, with who has joined since. */
	#onVisible = (): void => {
		const signedIn = this.querySelector<HTMLElement>('[data-view="signed-in"]');
		if (document.visibilityState === 'visible' && signedIn && !signedIn.hidden) {
			void this.#refresh();
		}
	};

	async #load(): Promise<void> {
		try {
			const session = await getInstructorSession();
			if (session.signedIn) await this.#signedIn(session.expiresAt);
			else this.#show('sign-in');
		} catch (error) {
			this.#say('page', 'error', this.#failure(error));
		}
	}

	// ── signing in and out ─────────────────────────────────────────────────────

	#onSignIn = (event: SubmitEvent): void => {
		event.preventDefault();
		void this.#busyWith('sign-in', async () => {
			const input = this.#input('secret');
			markInvalid(input, input.value === '');
			if (input.value === '') {
				return this.#say('sign-in', 'error', this.#t('instructorHome.signIn.empty'), input);
			}
			this.#say('sign-in', 'busy', this.#t('instructorHome.signIn.busy'));
			try {
				const session = await signIn(input.value);
				input.value = '';
				this.#say('sign-in', 'ok', '');
				await this.#signedIn(session.expiresAt);
				this.#slot('create-title').focus();
			} catch (error) {
				const wrong = error instanceof ApiError && error.status === 403;
				markInvalid(input, wrong);
				const text = wrong ? this.#t('instructorHome.signIn.wrong') : this.#failure(error);
				this.#say('sign-in', 'error', text, input);
			}
		});
	};

	async #signedIn(expiresAt: string | null): Promise<void> {
		const until = expiresAt ? clock(new Date(expiresAt)) : '';
		this.#slot('signed-in').textContent = this.#t('instructorHome.signedIn', { time: until });
		this.#show('signed-in');
		await this.#refresh();
	}

	#onClick = (event: MouseEvent): void => {
		const target = (event.target as Element | null)?.closest<HTMLElement>('[data-action]');
		if (target?.dataset.action !== 'sign-out') return;
		void signOut()
			.then(() => {
				this.#show('sign-in');
				this.#say('sign-in', 'ok', this.#t('instructorHome.signedOut'), this.#input('secret'));
			})
			.catch((error: unknown) => this.#say('page', 'error', this.#failure(error)));
	};

	// ── workshops ──────────────────────────────────────────────────────────────

	#onCreate = (event: SubmitEvent): void => {
		event.preventDefault();
		void this.#busyWith('create', async () => {
			const input = this.#readCreate();
			if (!input) return;
			this.#say('create', 'busy', this.#t('instructorHome.create.busy'));
			try {
				const created = await createWorkshop(input);
				this.#form('create').reset();
				this.#say(
					'create',
					'ok',
					this.#t('instructorHome.create.done', {
						title: created.title,
						code: displayCode(created.code),
					}),
				);
				await this.#refresh();
			} catch (error) {
				this.#say('create', 'error', this.#failure(error));
			}
		});
	};

	/** The form's fields, checked against the server's limits; null after saying what is wrong. */
	#readCreate(): { title?: string; pool: number; seats?: number } | null {
		const { title: maxTitle, pool: poolLimits, seats: seatLimits } = WORKSHOP_LIMITS;
		const titleInput = this.#input('title');
		const poolInput = this.#input('pool');
		const seatsInput = this.#input('seats');
		const title = titleInput.value.trim();
		const pool = Number(poolInput.value);
		const seats = seatsInput.value.trim() === '' ? undefined : Number(seatsInput.value);
		const problems: [HTMLInputElement, boolean, UiKey, Vars][] = [
			[titleInput, title.length > maxTitle, 'instructorHome.create.badTitle', { max: maxTitle }],
			[poolInput, !within(pool, poolLimits), 'instructorHome.create.badPool', poolLimits],
			[
				seatsInput,
				seats !== undefined && (!within(seats, seatLimits) || seats < pool),
				'instructorHome.create.badSeats',
				seatLimits,
			],
		];
		for (const [input, bad] of problems) markInvalid(input, bad);
		const problem = problems.find(([, bad]) => bad);
		if (problem) {
			const [input, , key, vars] = problem;
			this.#say('create', 'error', this.#t(key, vars), input);
			return null;
		}
		return { ...(title ? { title } : {}), pool, ...(seats === undefined ? {} : { seats }) };
	}

	async #refresh(): Promise<void> {
		let workshops: WorkshopSummary[];
		try {
			workshops = await listWorkshops();
		} catch (error) {
			if (error instanceof ApiError && error.status === 401) {
				this.#show('sign-in');
				return this.#say('sign-in', 'error', this.#t('instructorHome.signIn.expired'));
			}
			return this.#say('page', 'error', this.#failure(error));
		}
		this.#slot('empty').hidden = workshops.length > 0;
		this.#slot('table').hidden = workshops.length === 0;
		this.#slot('rows').replaceChildren(...workshops.map((w) => this.#row(w)));
	}

	#row(w: WorkshopSummary): HTMLTableRowElement {
		const row = document.createElement('tr');
		const title = document.createElement('th');
		title.scope = 'row';
		title.textContent = w.title;
		const open = document.createElement('a');
		open.className = 'btn btn--small';
		open.href = w.dashboardUrl;
		open.textContent = this.#t('instructorHome.list.open');
		open.setAttribute('aria-label', this.#t('instructorHome.list.openFor', { title: w.title }));
		const code = cell(displayCode(w.code));
		code.className = 'home-code';
		row.append(
			title,
			code,
			cell(this.#t('instructorHome.list.learners', { n: w.learners, seats: w.seats })),
			cell(clock(new Date(w.expiresAt))),
			cell(open),
		);
		return row;
	}

	// ── helpers ────────────────────────────────────────────────────────────────

	/** Runs a form's action once at a time (a double click sends one request). */
	async #busyWith(form: FormName, action: () => Promise<void>): Promise<void> {
		if (this.#busy.has(form)) return;
		this.#busy.add(form);
		const submit = this.#form(form).querySelector('button[type="submit"]');
		submit?.setAttribute('aria-disabled', 'true');
		try {
			await action();
		} finally {
			this.#busy.delete(form);
			submit?.setAttribute('aria-disabled', 'false');
		}
	}

	/** What to tell the instructor about a failed call: the server's words when it sent some. */
	#failure(error: unknown): string {
		if (!(error instanceof ApiError) || error.status === 0)
			return this.#t('instructorHome.error.unreachable');
		return error.serverMessage ?? this.#t('instructorHome.error.other', { message: error.code });
	}

	#say(where: FormName | 'page', kind: StatusKind, text: string, focus?: HTMLElement): void {
		sayStatus(this.#slot(`${where}-status`), kind, text, focus);
	}

	#show(view: View): void {
		for (const section of this.querySelectorAll<HTMLElement>('[data-view]')) {
			section.hidden = section.dataset.view !== view;
		}
		// «Проверяем вход…» is over; an error said after this stays.
		this.#say('page', 'ok', '');
	}

	#form(name: FormName): HTMLFormElement {
		return this.#slot(`${name}-form`) as HTMLFormElement;
	}

	#input(name: 'secret' | 'title' | 'pool' | 'seats'): HTMLInputElement {
		return this.querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
	}

	#slot(name: string): HTMLElement {
		const el = this.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el)
			throw new Error(`instructor-home: missing [data-slot="${name}"] in InstructorHome.astro`);
		return el;
	}
}

function within(n: number, { min, max }: { min: number; max: number }): boolean {
	return Number.isInteger(n) && n >= min && n <= max;
}

function cell(content: string | Node): HTMLTableCellElement {
	const td = document.createElement('td');
	td.append(content);
	return td;
}

function clock(date: Date): string {
	return date.toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' });
}

if (!customElements.get('instructor-home'))
	customElements.define('instructor-home', InstructorHome);
