/**
 * `<lab-panel>`: the learner's lab beside the text (markup in LabPanel.astro).
 *
 * States (`data-state`): idle → (restoring | starting) → running, or error (with «Попробовать
 * снова»), or stopped: a lab the server stopped with its files (idle, or its time ran out), with
 * «Продолжить» (the same nodes again) and «Начать заново» (a new lab). The lab id is remembered
 * in localStorage, so a reload or a later visit — the next day too — finds the lab again
 * (`GET /api/labs/:id`; 404/401/403 forget it).
 *
 * While running it keeps: the time left (ticking, from `expiresAt`), each node's keepalived state
 * and the VIP holder (GET for the first picture, then server-sent events), and two
 * `<lab-terminal>`s, whose module (and xterm.js behind it) is imported only now. It takes the
 * `lab:run` events of the command blocks, and publishes the lab and its VIP holder
 * (`lab-state.ts`) so addresses on the page are rewritten, run buttons enabled and «на узле с VIP»
 * resolved.
 *
 * The element is persisted across ClientRouter navigations (`transition:persist`): it is moved,
 * not recreated, so nothing here reconnects on a step change.
 */
import {
	createLab,
	deleteLab,
	extendLab,
	getLab,
	labEventsUrl,
	resetLab,
	resumeLab,
	ApiError,
	type Lab,
} from './lab-api';
import {
	KEEPALIVED_STATES,
	LAB_NODES,
	type KeepalivedState,
	type LabNode,
} from '../../lab-server/src/api';
import {
	LAB_ID_KEY,
	publishLab,
	type LabAddresses,
	type LabEventType,
	type LabRunDetail,
	type LabStatus,
	type RunStatus,
} from './lab-state';
import { afterReset, RESET_SEEN_PREFIX, resetNoticeText, unseenReset } from './reset-notice';
import { readStorage, removeStorage, storageKeys, writeStorage } from './storage';
import { createT, dictFrom, type Translate, type UiKey } from '../i18n/t';

const LAYOUT_KEY = 'keepalived-lab:terminal-layout';
const TERM_OFFSET_PREFIX = 'keepalived-lab:term:';
const LOW_TIME_MS = 5 * 60_000;
const SSE_RETRY_MS = 3000;
/** `ended` reasons with a message of their own (`lab.ended.<reason>`); others get a generic one. */
const ENDED_REASONS = ['expired', 'idle', 'evicted', 'deleted', 'workshop-ended'];
/** `stopped` reasons with a message of their own (`lab.stopped.<reason>`). */
const STOPPED_REASONS = ['expired', 'idle', 'host-restart'];

/** The public face of `<lab-terminal>` that the panel uses (the module loads lazily). */
interface TerminalElement extends HTMLElement {
	run(command: string, report?: (status: RunStatus) => void): void;
	focus(): void;
	reconnect(): void;
}

type View = 'idle' | 'busy' | 'error' | 'running' | 'stopped';

class LabPanel extends HTMLElement {
	#t: Translate = createT({});
	#live = false;
	#status: LabStatus = 'idle';
	#lab: Lab | null = null;
	#events: EventSource | null = null;
	#eventsRetry: ReturnType<typeof setTimeout> | undefined;
	#tick: ReturnType<typeof setInterval> | undefined;
	#busyTick: ReturnType<typeof setInterval> | undefined;
	#lowTimeAnnounced = false;
	#terminalsModule: Promise<unknown> | null = null;
	#attempt = 0;
	#focusOnAttach = false;
	#lastVerify = 0;
	/** Nodes the instructor reset since the learner last dismissed the notice (reset-notice.ts). */
	#instructorReset: ReadonlySet<LabNode> = new Set();

	connectedCallback(): void {
		// ClientRouter moves this element on every navigation: connect once, ignore the moves.
		if (this.#live) return;
		// On a navigation ClientRouter first inserts the new page's own panel, then puts the
		// persisted one in its place, in the same task. That fresh panel must not start: it would
		// restore the lab once more, detached, and leave a second event stream open for good
		// (astro/dist/transitions/swap-functions.js, `swapBodyElement`).
		queueMicrotask(() => {
			if (this.isConnected && !this.#live) this.#connect();
		});
	}

	#connect(): void {
		this.#live = true;
		this.#t = createT(dictFrom(this));
		this.addEventListener('click', this.#onClick);
		this.addEventListener('keydown', this.#onTabKey);
		this.addEventListener('lab:ended', this.#onTerminalLabEnded);
		// Said on the element, for tests and tools: its buttons work from now on.
		this.dataset.live = '';
		this.addEventListener('lab:verify', this.#onVerify);
		document.addEventListener('lab:run', this.#onRun);
		document.addEventListener('astro:after-swap', this.#onSwap);
		this.#applyLayout(readLayout());
		void this.#restore();
	}

	disconnectedCallback(): void {
		// Moved by ClientRouter → connected again in the same task. Really gone (a page without
		// the panel) → stop listening; the terminals close their sockets themselves, keeping the
		// shells for the next page that has a panel.
		setTimeout(() => {
			if (this.isConnected || !this.#live) return;
			this.#live = false;
			this.removeEventListener('click', this.#onClick);
			this.removeEventListener('keydown', this.#onTabKey);
			this.removeEventListener('lab:ended', this.#onTerminalLabEnded);
			this.removeEventListener('lab:verify', this.#onVerify);
			document.removeEventListener('lab:run', this.#onRun);
			document.removeEventListener('astro:after-swap', this.#onSwap);
			this.#closeEvents();
			clearInterval(this.#tick);
			clearInterval(this.#busyTick);
			publishLab({ status: 'idle', lab: null, vipHolder: null });
		});
	}

	// ── lifecycle ──────────────────────────────────────────────────────────────

	async #restore(): Promise<void> {
		const id = readStorage(localStorage, LAB_ID_KEY);
		if (!id) return this.#setIdle();
		this.#setBusy('restoring', 'lab.restoring');
		try {
			this.#follow(await getLab(id));
		} catch (error) {
			// A lab that is gone is forgotten; a server that does not answer now may later, so
			// keep the id and let «Запустить стенд» try it first.
			if (error instanceof ApiError && error.labGone) {
				forgetLab(id);
				// Back to a lab that is no more: say so, not just «Запустить стенд».
				const notice = this.#slot('notice');
				notice.textContent = this.#t('lab.ended.gone');
				notice.hidden = false;
			}
			this.#setIdle();
		}
	}

	async #start(): Promise<void> {
		if (this.#status === 'starting' || this.#status === 'running') return;
		const attempt = ++this.#attempt;
		this.#setBusy('starting', 'lab.starting');
		// The terminals' code downloads while the server answers (a warm lab answers at once).
		this.#loadTerminals().catch(() => (this.#terminalsModule = null));
		try {
			const known = readStorage(localStorage, LAB_ID_KEY);
			let lab: Lab | null = null;
			if (known) {
				lab = await getLab(known).catch((error: unknown) => {
					if (error instanceof ApiError && error.labGone) {
						forgetLab(known);
						return null;
					}
					throw error;
				});
			}
			lab ??= await this.#createInLine(attempt);
			if (lab === null || attempt !== this.#attempt) return;
			// The start button is gone now: keyboard focus goes to the first terminal.
			this.#focusOnAttach = true;
			this.#follow(lab);
		} catch (error) {
			if (attempt !== this.#attempt) return;
			this.#setError(error);
		}
	}

	/**
	 * A new lab, waiting in the server's line while every lab is taken: the page says the place
	 * and asks again when the server says to. Null when the learner started over meanwhile.
	 */
	async #createInLine(attempt: number): Promise<Lab | null> {
		for (;;) {
			try {
				return await createLab();
			} catch (error) {
				if (!(error instanceof ApiError && error.code === 'no-capacity' && error.retry))
					throw error;
				const { afterS, position } = error.retry;
				this.#slot('busy-text').textContent =
					position === null ? this.#t('lab.queueFull') : this.#t('lab.queue', { n: position });
				await new Promise((resolve) => setTimeout(resolve, afterS * 1000));
				if (attempt !== this.#attempt) return null;
			}
		}
	}

	/** Shows a lab as the server says it is: running, stopped, or being started again. */
	#follow(lab: Lab): void {
		if (lab.status === 'running') this.#run(lab);
		else if (lab.status === 'stopped') this.#setStopped(lab, null);
		else void this.#resume(lab);
	}

	/**
	 * «Продолжить»: the same nodes, with the learner's files, started again; a full server is
	 * waited out as for a new lab.
	 */
	async #resume(lab: Lab): Promise<void> {
		const attempt = ++this.#attempt;
		this.#lab = lab;
		this.#setBusy('starting', 'lab.resuming');
		try {
			for (;;) {
				try {
					const running = await resumeLab(lab.id);
					if (attempt !== this.#attempt) return;
					this.#focusOnAttach = true;
					return this.#run(running);
				} catch (error) {
					if (!(error instanceof ApiError && error.code === 'no-capacity' && error.retry))
						throw error;
					this.#slot('busy-text').textContent = this.#t('lab.queueFull');
					await new Promise((resolve) => setTimeout(resolve, error.retry!.afterS * 1000));
					if (attempt !== this.#attempt) return;
				}
			}
		} catch (error) {
			if (attempt !== this.#attempt) return;
			if (error instanceof ApiError && error.labGone) return this.#ended(undefined);
			this.#setError(error);
		}
	}

	/** «Завершить стенд», confirmed: the lab is deleted now, not left to time out. */
	async #endLab(): Promise<void> {
		const lab = this.#lab;
		if (!lab) return;
		try {
			await deleteLab(lab.id);
		} catch (error) {
			if (!(error instanceof ApiError && error.labGone)) {
				this.#slot('action-message').textContent = this.#t('lab.actionFailed', {
					message:
						error instanceof ApiError && error.serverMessage
							? error.serverMessage
							: this.#t('lab.unreachable'),
				});
				return;
			}
		}
		this.#ended('deleted');
	}

	/** «Начать заново», confirmed: the stopped lab is deleted and a new one started. */
	async #startFresh(): Promise<void> {
		const lab = this.#lab;
		if (!lab) return void this.#start();
		this.#setBusy('starting', 'lab.starting');
		try {
			await deleteLab(lab.id);
		} catch (error) {
			if (!(error instanceof ApiError && error.labGone)) return this.#setError(error);
		}
		forgetLab(lab.id);
		this.#lab = null;
		this.#status = 'idle';
		await this.#start();
	}

	/** A lab stopped with its files: why (when known), until when it is kept, and the two ways on. */
	#setStopped(lab: Lab, reason: string | null): void {
		this.#lab = { ...lab, status: 'stopped' };
		this.#status = 'stopped';
		this.#closeEvents();
		clearInterval(this.#tick);
		clearInterval(this.#busyTick);
		// The terminals keep their lab and their scrollback (closed by the server with 4018), to
		// go on where they were after «Продолжить».
		const text = this.#t(
			STOPPED_REASONS.includes(reason ?? '')
				? (`lab.stopped.${reason}` as UiKey)
				: 'lab.stopped.other',
		);
		this.#slot('stopped-text').textContent = text;
		const kept = lab.keptUntil ? new Date(lab.keptUntil) : null;
		this.#slot('kept-text').textContent = kept
			? this.#t('lab.stopped.kept', {
					date: kept.toLocaleString('ru-RU', { dateStyle: 'long', timeStyle: 'short' }),
				})
			: '';
		this.#show('stopped');
		this.#publish();
		if (reason) this.#announce(text);
	}

	#run(lab: Lab): void {
		const changed = this.#lab?.id !== lab.id;
		this.#lab = lab;
		// Another lab: what its instructor did to the previous one is no longer news.
		if (changed) this.#dismissResetNotice();
		writeStorage(localStorage, LAB_ID_KEY, lab.id);
		this.#status = 'running';
		this.#lowTimeAnnounced = false;
		clearInterval(this.#busyTick);
		this.#show('running');
		this.#renderLab();
		this.#publish();
		clearInterval(this.#tick);
		this.#tick = setInterval(() => this.#renderTime(), 1000);
		if (changed || !this.#events) this.#openEvents(lab.id);
		void this.#attachTerminals(lab.id);
		this.#noticeLastReset(lab);
	}

	#ended(reason: string | undefined): void {
		const lab = this.#lab;
		if (!lab) return;
		this.#lab = null;
		this.#closeEvents();
		clearInterval(this.#tick);
		for (const el of this.#terminals()) el.removeAttribute('lab-id');
		forgetLab(lab.id);
		const notice = this.#slot('notice');
		notice.textContent = this.#t(
			ENDED_REASONS.includes(reason ?? '') ? (`lab.ended.${reason}` as UiKey) : 'lab.ended.other',
		);
		notice.hidden = false;
		this.#setIdle();
		this.#announce(notice.textContent);
	}

	// ── views ──────────────────────────────────────────────────────────────────

	#setIdle(): void {
		this.#status = 'idle';
		clearInterval(this.#busyTick);
		this.#show('idle');
		this.#publish();
	}

	#setBusy(status: 'restoring' | 'starting', key: UiKey): void {
		this.#status = status;
		this.#slot('busy-text').textContent = this.#t(key);
		const elapsed = this.#slot('busy-elapsed');
		elapsed.textContent = '';
		const started = Date.now();
		clearInterval(this.#busyTick);
		this.#busyTick = setInterval(() => {
			elapsed.textContent = this.#t('lab.startingElapsed', {
				s: Math.round((Date.now() - started) / 1000),
			});
		}, 1000);
		this.#show('busy');
		this.#publish();
	}

	#setError(error: unknown): void {
		this.#status = 'error';
		clearInterval(this.#busyTick);
		const api = error instanceof ApiError ? error : null;
		this.#slot('error-message').textContent = api?.serverMessage ?? this.#t('lab.unreachable');
		const detail = this.#slot('error-detail');
		detail.textContent =
			api && api.status > 0 && !api.serverMessage
				? this.#t('lab.httpStatus', { status: api.status })
				: '';
		detail.hidden = !detail.textContent;
		this.#show('error');
		this.#publish();
		this.querySelector<HTMLElement>('[data-view="error"] [data-action="start"]')?.focus();
	}

	#show(view: View): void {
		// Hiding the section that holds the focus (the start button) would drop it to <body>.
		const focused = document.activeElement;
		const focusLost = focused instanceof HTMLElement && focused !== this && this.contains(focused);
		this.dataset.state = view === 'busy' ? this.#status : view;
		for (const section of this.querySelectorAll<HTMLElement>('[data-view]')) {
			section.hidden = section.dataset.view !== view;
		}
		if (view !== 'idle' && view !== 'busy') this.#slot('notice').hidden = true;
		if (focusLost && !(focused as HTMLElement).checkVisibility())
			this.focus({ preventScroll: true });
	}

	/** A node stopped over a limit: why, and the button that brings it back. */
	#renderHalted(lab: Lab): void {
		const halted = lab.nodes.find((n) => n.halted);
		const box = this.#slot('halted');
		box.hidden = !halted?.halted;
		if (!halted?.halted) return;
		this.#slot('halted-text').textContent = halted.halted.message;
		const button = box.querySelector<HTMLButtonElement>('[data-action="reset-node"]')!;
		button.dataset.node = halted.name;
		button.textContent = this.#t('lab.resetNode', { node: halted.name });
	}

	#renderLab(): void {
		const lab = this.#lab;
		if (!lab) return;
		this.#slot('vip').textContent = stripMask(lab.vip);
		for (const node of LAB_NODES) {
			const row = this.querySelector<HTMLElement>(`[data-node-row="${node}"]`);
			if (!row) continue;
			const info = lab.nodes.find((n) => n.name === node);
			row.querySelector<HTMLElement>('[data-slot="ip"]')!.textContent = info?.ip ?? '';
			const ka = info?.keepalived;
			const state = row.querySelector<HTMLElement>('[data-slot="ka"]')!;
			state.textContent = this.#t(
				ka && KEEPALIVED_STATES.includes(ka) ? (`lab.ka.${ka}` as UiKey) : 'lab.ka.unknown',
			);
			state.dataset.ka = ka ?? 'unknown';
			row.querySelector<HTMLElement>('[data-slot="vip-badge"]')!.hidden = lab.vipHolder !== node;
		}
		this.#renderHalted(lab);
		this.#slot('vip-holder').textContent = lab.vipHolder
			? this.#t('lab.vipOn', { node: lab.vipHolder })
			: this.#t('lab.vipNone');
		this.#renderTime();
	}

	#renderTime(): void {
		const lab = this.#lab;
		if (!lab) return;
		const left = Date.parse(lab.expiresAt) - Date.now();
		const out = this.#slot('time-left');
		const text = formatDuration(Math.max(0, left));
		out.textContent = text;
		out.setAttribute('aria-label', this.#t('lab.timeLeftAria', { time: text }));
		out.dataset.low = String(left <= LOW_TIME_MS);
		if (left <= LOW_TIME_MS && left > 0 && !this.#lowTimeAnnounced) {
			this.#lowTimeAnnounced = true;
			this.#announce(this.#t('lab.timeLow'));
		}
		// Past the end: the server's `ended` event should come; ask now and then in case it did not.
		if (left <= 0 && Date.now() - this.#lastVerify > 5000) {
			this.#lastVerify = Date.now();
			void this.#verify();
		}
	}

	// ── terminals ──────────────────────────────────────────────────────────────

	/** The terminal's module, and xterm.js behind it, fetched once (as soon as a lab is on its way). */
	#loadTerminals(): Promise<unknown> {
		this.#terminalsModule ??= import('./lab-terminal').then((module) => {
			module.preloadTerminal();
			return module;
		});
		return this.#terminalsModule;
	}

	async #attachTerminals(labId: string): Promise<void> {
		this.#slot('terminals-status').textContent = '';
		try {
			await this.#loadTerminals();
		} catch {
			this.#terminalsModule = null;
			this.#slot('terminals-status').textContent = this.#t('lab.terminalsFailed');
			return;
		}
		if (this.#lab?.id !== labId) return;
		for (const el of this.#terminals()) {
			if (el.getAttribute('lab-id') !== labId) el.setAttribute('lab-id', labId);
			// Resumed after a stop: the terminals closed then (4018) connect again.
			else (el as TerminalElement).reconnect();
		}
		if (this.#focusOnAttach) {
			this.#focusOnAttach = false;
			this.querySelector<TerminalElement>('lab-terminal[node="hap1"]')?.focus();
		}
	}

	/** The terminal in view: the selected tab's (either one in split view shows it too). */
	#visibleTerminal(): TerminalElement | null {
		const node =
			this.querySelector<HTMLElement>('[data-action="tab"][aria-selected="true"]')?.dataset.node ??
			'hap1';
		return this.querySelector<TerminalElement>(`lab-terminal[node="${node}"]`);
	}

	#terminals(): HTMLElement[] {
		return [...this.querySelectorAll<HTMLElement>('lab-terminal')];
	}

	#onRun = (event: CustomEvent<LabRunDetail>): void => {
		if (this.#status !== 'running' || !this.#lab) return;
		event.preventDefault();
		const { node, command, report } = event.detail;
		const targets = node === 'both' ? LAB_NODES : [node];
		if (targets.length === 1 && this.dataset.layout === 'tabs') this.#selectTab(targets[0]!, false);
		// A command for both nodes: both terminals in view.
		if (targets.length > 1 && this.dataset.layout === 'tabs') this.#applyLayout('split');
		void customElements.whenDefined('lab-terminal').then(() => {
			for (const target of targets) {
				this.querySelector<TerminalElement>(`lab-terminal[node="${target}"]`)?.run(
					command,
					report && ((status) => report(target, status)),
				);
			}
		});
	};

	#onTerminalLabEnded = (): void => void this.#verify();
	#onVerify = (): void => void this.#verify();

	/** Asks the server whether the lab still exists; ends it here when it does not. */
	async #verify(): Promise<void> {
		const lab = this.#lab;
		if (!lab) return;
		try {
			const fresh = await getLab(lab.id);
			if (this.#lab?.id !== fresh.id || this.#status !== 'running') return;
			if (fresh.status !== 'running') return this.#follow(fresh);
			this.#lab = fresh;
			this.#renderLab();
			this.#publish();
			this.#noticeLastReset(fresh);
		} catch (error) {
			if (error instanceof ApiError && error.labGone && this.#lab?.id === lab.id) {
				this.#ended(Date.parse(lab.expiresAt) <= Date.now() ? 'expired' : undefined);
			}
		}
	}

	// ── server-sent events ─────────────────────────────────────────────────────

	#openEvents(id: string): void {
		this.#closeEvents();
		const events = new EventSource(labEventsUrl(id));
		this.#events = events;
		// The GET after the stream opens closes the gap between the first picture and the stream.
		events.addEventListener('open', () => void this.#verify());
		events.addEventListener('error', () => {
			if (events.readyState !== EventSource.CLOSED || this.#events !== events) return;
			// The browser gave up (a non-200 answer): check the lab, and listen again if it lives.
			this.#events = null;
			clearTimeout(this.#eventsRetry);
			this.#eventsRetry = setTimeout(async () => {
				await this.#verify();
				if (this.#lab?.id === id && !this.#events) this.#openEvents(id);
			}, SSE_RETRY_MS);
		});
		events.addEventListener('node', (e) => {
			const data = parseData(e);
			const lab = this.#lab;
			if (!lab || !data || (data.node !== 'hap1' && data.node !== 'hap2')) return;
			const node = lab.nodes.find((n) => n.name === data.node);
			if (node && typeof data.keepalived === 'string')
				node.keepalived = data.keepalived as KeepalivedState;
			this.#renderLab();
		});
		events.addEventListener('vip', (e) => {
			const data = parseData(e);
			const lab = this.#lab;
			if (!lab || !data) return;
			const holder = data.holder === 'hap1' || data.holder === 'hap2' ? data.holder : null;
			if (holder === (lab.vipHolder ?? null)) return;
			lab.vipHolder = holder;
			this.#renderLab();
			this.#publish();
			this.#announce(holder ? this.#t('lab.vipMoved', { node: holder }) : this.#t('lab.vipLost'));
		});
		events.addEventListener('limit', (e) => {
			const data = parseData(e);
			const node = this.#lab?.nodes.find((n) => n.name === data?.node);
			if (!node || typeof data?.message !== 'string') return;
			node.state = 'stopped';
			node.halted = { kind: data.kind === 'disk' ? 'disk' : 'inotify', message: data.message };
			this.#renderLab();
			this.#announce(data.message);
		});
		events.addEventListener('reset', (e) => {
			const data = parseData(e);
			this.#showInstructorReset(afterReset(this.#instructorReset, data));
			// Told now: a reload does not tell it again from the lab's `lastReset`.
			if (this.#lab && typeof data?.at === 'string') {
				writeStorage(localStorage, RESET_SEEN_PREFIX + this.#lab.id, data.at);
			}
		});
		events.addEventListener('lab', (e) => {
			const data = parseData(e);
			if (this.#lab && typeof data?.expiresAt === 'string') {
				this.#lab.expiresAt = data.expiresAt;
				this.#lowTimeAnnounced = false;
				this.#renderTime();
			}
		});
		events.addEventListener('ended', (e) => {
			const data = parseData(e);
			this.#ended(typeof data?.reason === 'string' ? data.reason : undefined);
		});
		events.addEventListener('stopped', (e) => {
			const data = parseData(e);
			const lab = this.#lab;
			if (!lab) return;
			const keptUntil = typeof data?.keptUntil === 'string' ? data.keptUntil : null;
			this.#setStopped(
				{ ...lab, keptUntil },
				typeof data?.reason === 'string' ? data.reason : null,
			);
		});
		// Other islands (the step's check, the drills panel) follow the lab too: every event but
		// `lab` and `ended` (the panel's own business) goes on as a `lab:<type>` document event.
		const forwarded: LabEventType[] = [
			'node',
			'vip',
			'reset',
			'check',
			'drill',
			'outage',
			// «Позвать преподавателя» (lab-help.ts)
			'help',
			'takeover',
		];
		for (const type of forwarded) {
			events.addEventListener(type, (e) => {
				document.dispatchEvent(new CustomEvent(`lab:${type}`, { detail: parseData(e) }));
			});
		}
	}

	#closeEvents(): void {
		clearTimeout(this.#eventsRetry);
		this.#events?.close();
		this.#events = null;
	}

	// ── actions ────────────────────────────────────────────────────────────────

	#onClick = (event: MouseEvent): void => {
		const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
			'button[data-action]',
		);
		if (!button || button.getAttribute('aria-disabled') === 'true') return;
		switch (button.dataset.action) {
			case 'start':
				void this.#start();
				break;
			case 'resume':
				if (this.#lab) void this.#resume(this.#lab);
				break;
			case 'end':
				this.#confirm('end-dialog', () => void this.#endLab());
				break;
			case 'fresh':
				this.#confirm('fresh-dialog', () => void this.#startFresh());
				break;
			case 'extend':
				void this.#action(button, 'lab.extended', (id) => extendLab(id));
				break;
			case 'reset':
				this.#confirm('reset-dialog', () => {
					const button = this.querySelector<HTMLButtonElement>('[data-action="reset"]');
					if (button)
						void this.#action(button, 'lab.resetDone', (id) => resetLab(id), 'lab.resetting');
				});
				break;
			case 'reset-node': {
				const node = button.dataset.node as LabNode;
				void this.#action(button, 'lab.resetNodeDone', (id) => resetLab(id, node), 'lab.resetting');
				break;
			}
			case 'dismiss-reset-notice':
				this.#dismissResetNotice();
				break;
			case 'dock':
				this.#fold(!this.hasAttribute('data-collapsed'));
				break;
			case 'split':
				this.#applyLayout(this.dataset.layout === 'split' ? 'tabs' : 'split', true);
				break;
			case 'tab':
				this.#selectTab(button.dataset.node as LabNode, true);
				break;
		}
	};

	/** Folds the docked lab (narrow screens) to its title bar, or opens it again. */
	#fold(collapsed: boolean): void {
		this.toggleAttribute('data-collapsed', collapsed);
		const button = this.querySelector<HTMLElement>('[data-action="dock"]');
		button?.setAttribute('aria-expanded', String(!collapsed));
		if (button) button.textContent = this.#t(collapsed ? 'lab.dock.expand' : 'lab.dock.collapse');
	}

	/**
	 * Shows the instructor's reset notice for `nodes` (reset-notice.ts) beside the terminals, and
	 * says it once to screen readers; the focus stays where the learner is (most likely a
	 * terminal). Nothing when they are the nodes already shown.
	 */
	#showInstructorReset(nodes: ReadonlySet<LabNode>, earlierAt?: string): void {
		if (nodes === this.#instructorReset) return;
		this.#instructorReset = nodes;
		const text = resetNoticeText(nodes, this.#t, earlierAt);
		this.#slot('reset-notice-text').textContent = text;
		this.#slot('reset-notice').hidden = false;
		this.#announce(text);
	}

	/** An instructor's reset the page has not told of (made while it was closed): told now. */
	#noticeLastReset(lab: Lab): void {
		const key = RESET_SEEN_PREFIX + lab.id;
		const unseen = unseenReset(lab.lastReset, readStorage(localStorage, key));
		if (lab.lastReset) writeStorage(localStorage, key, lab.lastReset.at);
		const live = this.#instructorReset;
		let nodes = live;
		for (const node of unseen) nodes = afterReset(nodes, { node, by: 'instructor' });
		// Not the one being told live (its events came first): one made while the page was closed.
		const at = new Date(lab.lastReset?.at ?? NaN);
		const earlier =
			live.size === 0 && !Number.isNaN(at.getTime())
				? at.toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' })
				: undefined;
		this.#showInstructorReset(nodes, earlier);
	}

	/** Hides the instructor's reset notice; the focus, on its button, goes back to the terminal. */
	#dismissResetNotice(): void {
		this.#instructorReset = new Set();
		const notice = this.#slot('reset-notice');
		const hadFocus = notice.contains(document.activeElement);
		notice.hidden = true;
		if (hadFocus) this.#visibleTerminal()?.focus();
	}

	/** Asks in the dialog `slot` (LabPanel.astro); `confirmed` runs on its confirm button. */
	#confirm(slot: string, confirmed: () => void): void {
		const dialog = this.querySelector<HTMLDialogElement>(`dialog[data-slot="${slot}"]`);
		if (!dialog) return;
		dialog.returnValue = '';
		dialog.addEventListener('close', () => dialog.returnValue === 'confirm' && confirmed(), {
			once: true,
		});
		dialog.showModal();
	}

	async #action(
		button: HTMLButtonElement,
		doneKey: UiKey,
		call: (id: string) => Promise<Lab>,
		busyKey?: UiKey,
	): Promise<void> {
		const lab = this.#lab;
		if (!lab) return;
		const message = this.#slot('action-message');
		// aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>.
		button.setAttribute('aria-disabled', 'true');
		message.textContent = busyKey ? this.#t(busyKey) : '';
		try {
			const fresh = await call(lab.id);
			if (this.#lab?.id !== lab.id) return;
			// Keep the live keepalived/VIP picture if the answer does not carry it.
			this.#lab = {
				...lab,
				...fresh,
				vipHolder: fresh.vipHolder !== undefined ? fresh.vipHolder : lab.vipHolder,
			};
			this.#lowTimeAnnounced = false;
			this.#renderLab();
			this.#publish();
			message.textContent = this.#t(doneKey);
		} catch (error) {
			if (error instanceof ApiError && error.labGone) return this.#ended(undefined);
			const text =
				error instanceof ApiError && error.serverMessage
					? error.serverMessage
					: this.#t('lab.unreachable');
			message.textContent = this.#t('lab.actionFailed', { message: text });
		} finally {
			button.removeAttribute('aria-disabled');
		}
	}

	// ── terminal layout: tabs or both at once ──────────────────────────────────

	#applyLayout(layout: 'tabs' | 'split', remember = false): void {
		this.dataset.layout = layout;
		if (remember) writeStorage(localStorage, LAYOUT_KEY, layout);
		this.querySelector('[data-action="split"]')?.setAttribute(
			'aria-pressed',
			String(layout === 'split'),
		);
		const tablist = this.querySelector<HTMLElement>('[role="tablist"]');
		if (tablist) tablist.hidden = layout === 'split';
		const selected =
			this.querySelector<HTMLElement>('[data-action="tab"][aria-selected="true"]')?.dataset.node ??
			'hap1';
		for (const node of LAB_NODES) {
			const panel = this.querySelector<HTMLElement>(`[data-term-panel="${node}"]`);
			if (!panel) continue;
			if (layout === 'split') {
				panel.removeAttribute('role');
				panel.removeAttribute('aria-labelledby');
				panel.hidden = false;
			} else {
				panel.setAttribute('role', 'tabpanel');
				panel.setAttribute('aria-labelledby', `lab-tab-${node}`);
				panel.hidden = node !== selected;
			}
		}
	}

	#selectTab(node: LabNode, focusTerminal: boolean): void {
		for (const tab of this.querySelectorAll<HTMLElement>('[data-action="tab"]')) {
			const selected = tab.dataset.node === node;
			tab.setAttribute('aria-selected', String(selected));
			tab.tabIndex = selected ? 0 : -1;
		}
		if (this.dataset.layout === 'tabs') {
			for (const other of LAB_NODES) {
				const panel = this.querySelector<HTMLElement>(`[data-term-panel="${other}"]`);
				if (panel) panel.hidden = other !== node;
			}
		}
		if (focusTerminal) this.querySelector<TerminalElement>(`lab-terminal[node="${node}"]`)?.focus();
	}

	/** Arrow keys move between the two tabs (the ARIA tabs pattern). */
	#onTabKey = (event: KeyboardEvent): void => {
		const tab = (event.target as Element | null)?.closest<HTMLElement>('[data-action="tab"]');
		if (!tab || !['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
		event.preventDefault();
		const current = LAB_NODES.indexOf(tab.dataset.node as LabNode);
		const next =
			event.key === 'Home'
				? 0
				: event.key === 'End'
					? LAB_NODES.length - 1
					: (current + (event.key === 'ArrowRight' ? 1 : LAB_NODES.length - 1)) % LAB_NODES.length;
		const node = LAB_NODES[next]!;
		this.#selectTab(node, false);
		this.querySelector<HTMLElement>(`[data-action="tab"][data-node="${node}"]`)?.focus();
	};

	// ── helpers ────────────────────────────────────────────────────────────────

	/** After a navigation the new page's addresses and run buttons need the lab too. */
	#onSwap = (): void => this.#publish();

	/**
	 * Tells the page what the panel knows now (`lab-state.ts`): the status, the running lab's
	 * addresses and who holds its VIP. Called on every change of any of them.
	 */
	#publish(): void {
		const lab = this.#status === 'running' ? this.#lab : null;
		publishLab({
			status: this.#status,
			lab: lab && addressesOf(lab),
			vipHolder: lab?.vipHolder ?? null,
		});
	}

	#announce(text: string): void {
		const region = this.#slot('announce');
		region.textContent = '';
		// A new text node in a cleared region is what screen readers reliably announce.
		requestAnimationFrame(() => (region.textContent = text));
	}

	#slot(name: string): HTMLElement {
		const el = this.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el) throw new Error(`lab-panel: missing [data-slot="${name}"] in LabPanel.astro`);
		return el;
	}
}

function addressesOf(lab: Lab): LabAddresses {
	const ip = (name: LabNode): string => lab.nodes.find((n) => n.name === name)?.ip ?? '';
	return {
		id: lab.id,
		subnet: lab.subnet,
		vip: stripMask(lab.vip),
		nodes: { hap1: ip('hap1'), hap2: ip('hap2') },
	};
}

function stripMask(address: string): string {
	return address.split('/')[0] ?? address;
}

/** 3725000 → "1:02:05", 425000 → "07:05". */
function formatDuration(ms: number): string {
	const total = Math.floor(ms / 1000);
	const h = Math.floor(total / 3600);
	const m = Math.floor((total % 3600) / 60);
	const s = total % 60;
	const mm = String(m).padStart(2, '0');
	const ss = String(s).padStart(2, '0');
	return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function parseData(event: Event): Record<string, unknown> | null {
	try {
		const data: unknown = JSON.parse((event as MessageEvent<string>).data);
		return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}

function readLayout(): 'tabs' | 'split' {
	return readStorage(localStorage, LAYOUT_KEY) === 'split' ? 'split' : 'tabs';
}

/** Forgets a lab: its id, the last reset it told of, and its terminals' resume offsets. */
function forgetLab(id: string): void {
	if (readStorage(localStorage, LAB_ID_KEY) === id) removeStorage(localStorage, LAB_ID_KEY);
	removeStorage(localStorage, RESET_SEEN_PREFIX + id);
	for (const key of storageKeys(sessionStorage, `${TERM_OFFSET_PREFIX}${id}:`)) {
		removeStorage(sessionStorage, key);
	}
}

if (!customElements.get('lab-panel')) customElements.define('lab-panel', LabPanel);
