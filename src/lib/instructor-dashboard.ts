/**
 * `<instructor-dashboard>`: one workshop as its instructor sees it (markup in
 * `src/pages/instructor/index.astro`, which shows the list of workshops instead when the address
 * names none: `instructor-home.ts`).
 *
 * Key: the page is opened as `/instructor/?workshop=<id>` by a signed-in instructor (the sign-in's
 * httpOnly cookie opens every workshop, in any tab), or as `/instructor/#<workshopId>.<token>`
 * with the workshop's own key (the link the server gives on creation, to share without a
 * sign-in). The fragment never reaches the server in a URL; the token is moved to sessionStorage
 * and the address becomes `?workshop=<id>` (the dashboard is often on a projector), so a reload
 * of this tab still works.
 *
 * Lifecycle: with a key, `POST …/instructor-session` once (the httpOnly cookie that the event
 * stream and the read-only terminal sockets need: neither can send a header), then one
 * `EventSource` on `GET /api/workshops/:id/events`, no polling: the whole view first, then the
 * rows and head that changed (api/workshops.ts, `WorkshopEvents`). While the stream is down the
 * last picture stays with a «нет связи, переподключаемся…» line and EventSource reconnects by
 * itself; a stream refused outright (EventSource tells no status) is asked about once with
 * `GET /api/workshops/:id`: 401/403/404 before any picture means the key is wrong or the
 * instructor is not signed in, after one that the workshop has ended (or the sign-in did);
 * anything else is tried again. The times shown («2 мин назад», time left) tick locally. Rows are
 * keyed by lab id and updated in place, so focus on a row's button survives. «Шаг» is the step
 * page the learner has open (their page reports it).
 */
import { ApiError } from './lab-api';
import {
	LAB_NODES,
	workshopEventsPath,
	type LabNode,
	type WorkshopEvents,
	type WorkshopHead,
} from '../../lab-server/src/api';
import {
	displayCode,
	endWorkshop,
	extendWorkshop,
	getWorkshop,
	openInstructorSession,
	parseInstructorKey,
	resetLearnerLab,
	asLearner,
	asWorkshop,
	type InstructorKey,
	type LearnerView,
	type WorkshopView,
} from './workshop-api';
import { workshopInAddress } from './instructor-api';
import { DashboardHelp, handsFirst } from './dashboard-help';
import type { Viewer } from './terminal-viewer';
import { readStorage, removeStorage, writeStorage } from './storage';
import { createT, dictFrom, type Translate, type UiKey } from '../i18n/t';

/** The times shown (time left, «N мин назад») are redrawn this often, from the last picture. */
const TICK_MS = 1000;
/** A stream refused outright (not a dropped one, which EventSource retries) is opened again after this. */
const REOPEN_MS = 3000;
const KEY_STORAGE = 'keepalived-lab:instructor-key';
const KA_STATES = ['MASTER', 'BACKUP', 'FAULT', 'stopped', 'absent'];

type SortKey = 'name' | 'step' | 'activity' | 'timeLeft';
type View = 'message' | 'main' | 'ended';
type ViewerModule = typeof import('./terminal-viewer');

class InstructorDashboard extends HTMLElement {
	#t: Translate = createT({});
	#key: InstructorKey | null = null;
	#workshop: WorkshopView | null = null;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#ticker: ReturnType<typeof setInterval> | undefined;
	#source: EventSource | null = null;
	/** When the last update came (the line under the heading says so). */
	#updatedAt: Date | null = null;
	#live = false;
	#sort: { key: SortKey; dir: 1 | -1 } = { key: 'name', dir: 1 };
	#rows = new Map<string, HTMLTableRowElement>();
	#pendingReset: LearnerView | null = null;
	#viewer: Viewer | null = null;
	/** Raised hands and the takeover (dashboard-help.ts). */
	#help: DashboardHelp | null = null;
	#viewerModule: Promise<ViewerModule> | null = null;
	#viewing: { learner: LearnerView; node: LabNode } | null = null;

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		this.#live = true;
		this.#help ??= new DashboardHelp({
			host: this,
			t: this.#t,
			key: () => this.#key,
			viewing: () => this.#viewing && { labId: this.#viewing.learner.labId, viewer: this.#viewer },
			openViewer: (labId) => {
				const learner = this.#workshop?.learners.find((l) => l.labId === labId);
				if (learner) void this.#openViewer(learner, 'hap1');
			},
		});
		this.addEventListener('click', this.#onClick);
		this.#dialog('reset').addEventListener('close', this.#onResetClose);
		this.#dialog('end').addEventListener('close', this.#onEndClose);
		this.#dialog('viewer').addEventListener('close', this.#onViewerClose);
		this.#key = readKey();
		// No workshop named: the page shows the list of workshops (instructor-home.ts).
		this.hidden = this.#key === null;
		if (this.#key) void this.#start(this.#key);
	}

	disconnectedCallback(): void {
		this.#live = false;
		this.#disconnect();
		this.removeEventListener('click', this.#onClick);
		this.#viewer?.dispose();
	}

	async #start(key: InstructorKey): Promise<void> {
		this.#message(this.#t('instructor.loading'));
		try {
			if (key.token) await openInstructorSession({ id: key.id, token: key.token });
		} catch (error) {
			if (error instanceof ApiError && [401, 403, 404].includes(error.status))
				return this.#refused(error.status);
			// Unreachable now: the stream is refused, and the session retried with it.
		}
		this.#connect();
	}

	/** Refused before any picture: a wrong key, no sign-in, or no such workshop. */
	#refused(status: number): void {
		const signIn = status === 401 && !this.#key?.token;
		this.#message(
			this.#t(
				signIn
					? 'instructor.signInNeeded'
					: status === 404
						? 'instructor.notFound'
						: 'instructor.badKey',
			),
		);
		this.#slot('sign-in').hidden = !signIn;
		this.#disconnect();
	}

	#connect(): void {
		const key = this.#key;
		if (!key || !this.#live) return;
		this.#source?.close();
		const source = new EventSource(workshopEventsPath(key.id));
		this.#source = source;
		const on = <E extends keyof WorkshopEvents>(
			event: E,
			apply: (data: WorkshopEvents[E][0]) => void,
		) =>
			source.addEventListener(event, (message) => {
				if (this.#source !== source) return;
				try {
					apply(JSON.parse((message as MessageEvent<string>).data) as WorkshopEvents[E][0]);
				} catch {
					// Not what the contract says: this update is skipped, the next whole view heals it.
				}
			});
		on('workshop', (view) => this.#update(asWorkshop(view)));
		on('learner', (row) => {
			if (!this.#workshop) return;
			const learner = asLearner(row);
			const learners = this.#workshop.learners.filter((l) => l.labId !== learner.labId);
			this.#update({ ...this.#workshop, learners: [...learners, learner] });
		});
		on('head', (head) => {
			if (this.#workshop) this.#update(withHead(this.#workshop, head));
		});
		on('ended', () => this.#showEnded());
		source.addEventListener('open', () => {
			if (this.#source === source && this.#workshop) this.#showUpdated();
		});
		source.addEventListener('error', () => {
			if (this.#source !== source) return;
			this.#offline();
			// CONNECTING: a dropped stream, EventSource reconnects by itself. CLOSED: refused.
			if (source.readyState === EventSource.CLOSED) void this.#refusedStream(key);
		});
	}

	/** The stream was refused: why is asked once, then the stream is opened again (or not). */
	async #refusedStream(key: InstructorKey): Promise<void> {
		this.#source = null;
		try {
			await getWorkshop(key);
			// Opens, so the cookie was missing (a first session call that failed): set it again.
			if (key.token) await openInstructorSession({ id: key.id, token: key.token });
		} catch (error) {
			const status = error instanceof ApiError ? error.status : 0;
			const gone = [401, 403, 404, 410].includes(status);
			// Signed out, or the sign-in expired, with the dashboard open: not an ended workshop.
			const signedOut = status === 401 && !key.token;
			if (gone && (!this.#workshop || signedOut)) return this.#refused(status);
			if (gone) return this.#showEnded();
		}
		if (!this.#live || this.#key !== key) return;
		clearTimeout(this.#timer);
		this.#timer = setTimeout(() => this.#connect(), REOPEN_MS);
	}

	#disconnect(): void {
		this.#source?.close();
		this.#source = null;
		clearTimeout(this.#timer);
		clearInterval(this.#ticker);
		this.#ticker = undefined;
	}

	#update(workshop: WorkshopView): void {
		this.#workshop = workshop;
		this.#updatedAt = new Date();
		this.#render(workshop);
		this.#ticker ??= setInterval(() => {
			if (this.#workshop) this.#renderRows(this.#workshop.learners);
		}, TICK_MS);
	}

	/** The stream is down: the last picture stays, and says so. */
	#offline(): void {
		if (!this.#workshop) return this.#message(this.#t('instructor.reconnecting'));
		const line = this.#slot('updated');
		setText(line, this.#t('instructor.stale', { time: clock(this.#updatedAt ?? new Date()) }));
		line.classList.add('dash-updated--offline');
	}

	#showUpdated(): void {
		const line = this.#slot('updated');
		setText(line, this.#t('instructor.updated', { time: clock(this.#updatedAt ?? new Date()) }));
		line.classList.remove('dash-updated--offline');
	}

	// ── rendering ──────────────────────────────────────────────────────────────

	#render(w: WorkshopView): void {
		this.#show('main');
		const code = displayCode(w.code);
		this.#slot('title').textContent = w.title;
		this.#slot('title').hidden = !w.title;
		this.#slot('code').textContent = code;
		const link = `${location.origin}/workshop/?code=${encodeURIComponent(code)}`;
		const a = this.#slot('join-link') as HTMLAnchorElement;
		a.href = link;
		a.textContent = link;
		this.#slot('pool').textContent = this.#t('instructor.pool', w.pool);
		this.#slot('seats').textContent = this.#t('instructor.seats', {
			n: w.learners.length,
			seats: w.seats,
		});
		const until = Date.parse(w.expiresAt);
		this.#slot('until').textContent = Number.isFinite(until)
			? this.#t('instructor.until', { time: clock(new Date(until)) })
			: '';
		this.#showUpdated();
		this.#slot('empty').hidden = w.learners.length > 0;
		this.#slot('table').hidden = w.learners.length === 0;
		this.#renderRows(w.learners);
		if (this.#viewing) {
			const fresh = w.learners.find((l) => l.labId === this.#viewing?.learner.labId);
			if (fresh) this.#viewing.learner = fresh;
		}
		this.#help?.update(w.learners);
	}

	#renderRows(learners: LearnerView[]): void {
		const body = this.#slot('rows');
		const now = Date.now();
		const seen = new Set<string>();
		const sorted = [...learners].sort((a, b) => this.#compare(a, b));
		for (const learner of sorted) {
			seen.add(learner.labId);
			let row = this.#rows.get(learner.labId);
			if (!row) {
				row = this.#newRow(learner);
				this.#rows.set(learner.labId, row);
			}
			this.#fillRow(row, learner, now);
		}
		for (const [id, row] of this.#rows) {
			if (!seen.has(id)) {
				row.remove();
				this.#rows.delete(id);
			}
		}
		// Reorder only when the order changed: moving a row would take the focus out of it.
		const wanted = sorted.map((l) => this.#rows.get(l.labId)!);
		const current = [...body.children];
		if (wanted.some((row, i) => current[i] !== row)) body.replaceChildren(...wanted);
		for (const th of this.querySelectorAll<HTMLElement>('th[data-sort]')) {
			th.setAttribute(
				'aria-sort',
				th.dataset.sort === this.#sort.key
					? this.#sort.dir === 1
						? 'ascending'
						: 'descending'
					: 'none',
			);
		}
	}

	#compare(a: LearnerView, b: LearnerView): number {
		const { key, dir } = this.#sort;
		let d = 0;
		if (key === 'name') d = a.name.localeCompare(b.name, 'ru');
		else if (key === 'step') d = (a.viewing?.order ?? 0) - (b.viewing?.order ?? 0);
		// Most recent first when ascending: «2 мин назад» before «10 мин назад».
		else if (key === 'activity') d = time(b.lastActivity) - time(a.lastActivity);
		else d = time(a.expiresAt) - time(b.expiresAt);
		return handsFirst(a, b) || dir * (d || a.name.localeCompare(b.name, 'ru'));
	}

	#newRow(learner: LearnerView): HTMLTableRowElement {
		const row = document.createElement('tr');
		row.dataset.labId = learner.labId;
		const name = document.createElement('th');
		name.scope = 'row';
		name.dataset.cell = 'name';
		row.append(name);
		for (const cell of ['step', 'check', 'nodes', 'activity', 'timeLeft']) {
			const td = document.createElement('td');
			td.dataset.cell = cell;
			row.append(td);
		}
		// A flex box inside the cell: a flex <td> would stop being a table cell.
		const actions = document.createElement('div');
		actions.className = 'dash-actions';
		actions.append(
			button('btn btn--small', this.#t('instructor.watch'), 'watch'),
			button('btn btn--small', this.#t('instructor.reset'), 'reset'),
			// Opened by dashboard-recordings.ts (its own element on the page).
			button('btn btn--small', this.#t('instructor.recording'), 'recording'),
		);
		const cell = document.createElement('td');
		cell.append(actions);
		row.append(cell);
		return row;
	}

	#fillRow(row: HTMLTableRowElement, l: LearnerView, now: number): void {
		const cell = (name: string): HTMLElement => row.querySelector(`[data-cell="${name}"]`)!;
		setText(cell('name'), l.name);
		setText(
			cell('step'),
			l.viewing
				? this.#t('instructor.stepOf', { order: l.viewing.order, title: l.viewing.title })
				: this.#t('instructor.stepNone'),
		);
		const check = cell('check');
		setText(check, l.failing ? l.failing.message : this.#t('instructor.none'));
		check.classList.toggle('dash-failing', l.failing !== null);
		const nodes = LAB_NODES.map((name) => {
			const node = l.nodes.find((n) => n.name === name);
			const ka = node?.keepalived;
			let text = `${name}: ${this.#t(
				ka && KA_STATES.includes(ka) ? (`lab.ka.${ka}` as UiKey) : 'lab.ka.unknown',
			)}`;
			if (node && node.state !== 'running')
				text += ` (${this.#t(`instructor.node.${node.state}` as UiKey)})`;
			return text;
		});
		nodes.push(
			l.vipHolder
				? this.#t('instructor.vipOn', { node: l.vipHolder })
				: this.#t('instructor.vipNone'),
		);
		setText(cell('nodes'), nodes.join(' · '));
		setText(
			cell('activity'),
			l.lastActivity ? this.#ago(now - Date.parse(l.lastActivity)) : this.#t('instructor.none'),
		);
		const left = time(l.expiresAt) - now;
		setText(cell('timeLeft'), left > 0 ? duration(left) : this.#t('instructor.expired'));
		cell('timeLeft').classList.toggle('dash-low', left < 5 * 60_000);
		for (const [action, key] of [
			['watch', 'instructor.watchFor'],
			['reset', 'instructor.resetFor'],
			['recording', 'instructor.recordingFor'],
		] as const) {
			row
				.querySelector(`[data-action="${action}"]`)!
				.setAttribute('aria-label', this.#t(key, { name: l.name }));
		}
		this.#help?.decorateRow(row, l);
	}

	#ago(ms: number): string {
		const minutes = Math.floor(Math.max(0, ms) / 60_000);
		if (!Number.isFinite(minutes) || minutes < 1) return this.#t('instructor.ago.now');
		if (minutes < 60) return this.#t('instructor.ago.min', { n: minutes });
		return this.#t('instructor.ago.hour', { h: Math.floor(minutes / 60), m: minutes % 60 });
	}

	// ── actions ────────────────────────────────────────────────────────────────

	#onClick = (event: MouseEvent): void => {
		const target = (event.target as Element | null)?.closest<HTMLElement>('[data-action]');
		if (!target) return;
		const labId = target.closest<HTMLElement>('tr[data-lab-id]')?.dataset.labId;
		const learner = this.#workshop?.learners.find((l) => l.labId === labId) ?? null;
		switch (target.dataset.action) {
			case 'sort':
				return this.#sortBy(target.closest<HTMLElement>('th')?.dataset.sort as SortKey);
			case 'copy':
				return void this.#copyLink();
			case 'watch':
				return learner ? void this.#openViewer(learner, 'hap1') : undefined;
			case 'view-node':
				return this.#viewing
					? void this.#openViewer(this.#viewing.learner, target.dataset.node as LabNode)
					: undefined;
			case 'reset':
				if (!learner) return;
				this.#pendingReset = learner;
				this.#slot('reset-text').textContent = this.#t('instructor.resetConfirmText', {
					name: learner.name,
				});
				return this.#dialog('reset').showModal();
			case 'extend':
				return void this.#act('instructor.extending', 'instructor.extended', (key) =>
					extendWorkshop(key),
				);
			case 'end':
				return this.#dialog('end').showModal();
		}
	};

	#sortBy(key: SortKey): void {
		this.#sort = { key, dir: this.#sort.key === key ? (-this.#sort.dir as 1 | -1) : 1 };
		if (this.#workshop) this.#renderRows(this.#workshop.learners);
	}

	async #copyLink(): Promise<void> {
		const { copyText } = await import('./clipboard');
		const link = (this.#slot('join-link') as HTMLAnchorElement).href;
		if (await copyText(link)) this.#say(this.#t('instructor.copied'));
	}

	#onResetClose = (): void => {
		const learner = this.#pendingReset;
		this.#pendingReset = null;
		if (!learner || this.#dialog('reset').returnValue !== 'confirm') return;
		void this.#act(
			'instructor.resetting',
			'instructor.resetDone',
			(key) => resetLearnerLab(key, learner.labId),
			{ name: learner.name },
		);
	};

	#onEndClose = (): void => {
		if (this.#dialog('end').returnValue !== 'confirm') return;
		void this.#act('instructor.ending', 'instructor.ended', async (key) => {
			await endWorkshop(key);
			this.#showEnded();
		});
	};

	async #act(
		busy: UiKey,
		done: UiKey,
		call: (key: InstructorKey) => Promise<void>,
		vars?: Record<string, string>,
	): Promise<void> {
		const key = this.#key;
		if (!key) return;
		this.#say(this.#t(busy, vars));
		try {
			await call(key);
			this.#say(this.#t(done, vars));
		} catch (error) {
			const message =
				error instanceof ApiError && error.serverMessage
					? error.serverMessage
					: this.#t('lab.unreachable');
			this.#say(this.#t('instructor.actionFailed', { message }));
		}
	}

	#showEnded(): void {
		this.#disconnect();
		this.#key = null;
		removeStorage(sessionStorage, KEY_STORAGE);
		if (this.#dialog('viewer').open) this.#dialog('viewer').close();
		this.#show('ended');
		this.#slot('ended').focus();
	}

	// ── read-only terminal ─────────────────────────────────────────────────────

	async #openViewer(learner: LearnerView, node: LabNode): Promise<void> {
		const dialog = this.#dialog('viewer');
		this.#viewer?.dispose();
		this.#viewer = null;
		this.#viewing = { learner, node };
		this.#slot('viewer-title').textContent = this.#t('instructor.viewer.title', {
			name: learner.name,
		});
		for (const b of dialog.querySelectorAll<HTMLElement>('[data-action="view-node"]')) {
			b.setAttribute('aria-pressed', String(b.dataset.node === node));
		}
		const screen = this.#slot('viewer-screen');
		screen.setAttribute('aria-label', this.#t('instructor.viewer.label', { node }));
		if (!dialog.open) dialog.showModal();
		const status = this.#slot('viewer-status');
		status.textContent = this.#t('instructor.viewer.connecting');
		try {
			this.#viewerModule ??= import('./terminal-viewer');
			const { openViewer } = await this.#viewerModule;
			if (this.#viewing?.learner !== learner || this.#viewing.node !== node || !dialog.open) return;
			this.#viewer = await openViewer({
				host: screen,
				labId: learner.labId,
				node,
				onState: (state) => {
					status.textContent =
						state.kind === 'closed'
							? this.#t('instructor.viewer.closed', { code: state.code })
							: state.kind === 'error'
								? state.message
								: state.kind === 'lab-ended'
									? this.#t('instructor.viewer.labEnded')
									: this.#t(`instructor.viewer.${state.kind}`);
				},
			});
			this.#help?.renderTakeover();
		} catch {
			this.#viewerModule = null;
			status.textContent = this.#t('instructor.viewer.failed');
		}
	}

	#onViewerClose = (): void => {
		if (this.#viewing) this.#help?.viewerClosed(this.#viewing.learner.labId);
		this.#viewer?.dispose();
		this.#viewer = null;
		this.#viewing = null;
	};

	// ── helpers ────────────────────────────────────────────────────────────────

	#message(text: string): void {
		this.#slot('message').textContent = text;
		this.#show('message');
	}

	#say(text: string): void {
		this.#slot('action-message').textContent = text;
	}

	#show(view: View): void {
		for (const section of this.querySelectorAll<HTMLElement>('[data-view]')) {
			section.hidden = section.dataset.view !== view;
		}
	}

	#dialog(name: string): HTMLDialogElement {
		return this.#slot(`${name}-dialog`) as HTMLDialogElement;
	}

	#slot(name: string): HTMLElement {
		const el = this.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el)
			throw new Error(
				`instructor-dashboard: missing [data-slot="${name}"] in instructor/index.astro`,
			);
		return el;
	}
}

/**
 * The workshop the address names, with its key when there is one: from the fragment (kept in
 * sessionStorage, the address becomes `?workshop=<id>`), or the one kept for `?workshop=<id>` in
 * this tab; none kept: the instructor's sign-in opens it. Null when the address names none.
 */
function readKey(): InstructorKey | null {
	const fromHash = parseInstructorKey(location.hash);
	if (fromHash) {
		writeStorage(sessionStorage, KEY_STORAGE, `${fromHash.id}.${fromHash.token}`);
		// Storage off: keep the fragment in the address bar, it is the only copy.
		if (readStorage(sessionStorage, KEY_STORAGE) !== null) {
			const query = `?workshop=${encodeURIComponent(fromHash.id)}`;
			history.replaceState(history.state, '', location.pathname + query);
		}
		return fromHash;
	}
	const id = workshopInAddress(location);
	if (!id) return null;
	const kept = parseInstructorKey(readStorage(sessionStorage, KEY_STORAGE) ?? '');
	return kept?.id === id ? kept : { id, token: null };
}

/** The view with a new head: its fields, and its learners in the head's order (those who left go). */
function withHead(view: WorkshopView, { labIds, ...head }: WorkshopHead): WorkshopView {
	const byId = new Map(view.learners.map((l) => [l.labId, l]));
	return {
		...view,
		...head,
		learners: labIds.map((id) => byId.get(id)).filter((l): l is LearnerView => l !== undefined),
	};
}

function button(className: string, text: string, action: string): HTMLButtonElement {
	const b = document.createElement('button');
	b.type = 'button';
	b.className = className;
	b.textContent = text;
	b.dataset.action = action;
	return b;
}

/** Writes only on change: a screen reader in the table is not disturbed by every update or tick. */
function setText(el: HTMLElement, text: string): void {
	if (el.textContent !== text) el.textContent = text;
}

/** An ISO time in ms; a missing one sorts first (0). */
function time(iso: string | null): number {
	const ms = iso ? Date.parse(iso) : NaN;
	return Number.isFinite(ms) ? ms : 0;
}

function clock(date: Date): string {
	return date.toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' });
}

/** 3725000 → "1:02:05", 425000 → "07:05". */
function duration(ms: number): string {
	const total = Math.floor(ms / 1000);
	const h = Math.floor(total / 3600);
	const mm = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
	const ss = String(total % 60).padStart(2, '0');
	return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

if (!customElements.get('instructor-dashboard'))
	customElements.define('instructor-dashboard', InstructorDashboard);
