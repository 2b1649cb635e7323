/**
 * The dashboard's part of «Позвать преподавателя» (markup in `src/pages/instructor/index.astro`,
 * used by `instructor-dashboard.ts`): raised hands listed above the table with the learner's
 * message, step and failing check (a hand's row stands out and sorts first), announced, with an
 * optional sound (off by default, remembered in this browser); and in the terminal viewer
 * «Попросить доступ к вводу» / «Прекратить», a banner while the learner allows input, and the
 * viewer's typing turned on only then; closing the viewer ends the takeover.
 *
 * State comes with each picture of the workshop (`LearnerView.hand`, `.takeover`); the answers
 * of the instructor's own calls show at once, until the next picture. Learner text (the
 * message, the name) is only ever set as `textContent`.
 */
import type { LearnerView, TakeoverState } from '../../lab-server/src/api';
import { ApiError } from './lab-api';
import { askTakeover, endTakeoverAsInstructor } from './help-api';
import { readStorage, writeStorage } from './storage';
import type { Viewer } from './terminal-viewer';
import type { InstructorKey } from './workshop-api';
import type { Translate, UiKey } from '../i18n/t';

const SOUND_KEY = 'keepalived-lab:instructor-hand-sound';

export interface DashboardHelpOptions {
	host: HTMLElement;
	t: Translate;
	key: () => InstructorKey | null;
	/** The learner whose terminal the viewer shows, and the viewer once it is open. */
	viewing: () => { labId: string; viewer: Viewer | null } | null;
	/** Opens the viewer on a learner's terminal (a hand's «Открыть терминал»). */
	openViewer: (labId: string) => void;
}

/** Raised hands first, the longest-waiting on top; 0 between two learners alike. */
export function handsFirst(a: LearnerView, b: LearnerView): number {
	if (!a.hand !== !b.hand) return a.hand ? -1 : 1;
	if (!a.hand || !b.hand) return 0;
	return Date.parse(a.hand.at) - Date.parse(b.hand.at);
}

export class DashboardHelp {
	#o: DashboardHelpOptions;
	#learners: LearnerView[] = [];
	/** Hands already seen (lab id → raised at): only a new one is announced. */
	#seen: Map<string, string> | null = null;
	/** The state the instructor's own call led to, until the next picture says it. */
	#own: { labId: string; state: TakeoverState } | null = null;
	#audio: AudioContext | null = null;

	constructor(options: DashboardHelpOptions) {
		this.#o = options;
		options.host.addEventListener('click', this.#onClick);
		const sound = this.#slot('hands-sound') as HTMLInputElement;
		sound.checked = readStorage(localStorage, SOUND_KEY) === 'on';
		sound.addEventListener('change', () => {
			writeStorage(localStorage, SOUND_KEY, sound.checked ? 'on' : 'off');
			// A user gesture: the audio context may start now, so a later beep is heard.
			if (sound.checked) this.#audio ??= newAudio();
		});
	}

	/** A new picture of the workshop. */
	update(learners: LearnerView[]): void {
		this.#learners = learners;
		this.#own = null;
		this.#renderHands();
		this.#announceNew();
		this.renderTakeover();
	}

	/** A row of the table: a raised hand stands out, with the learner's words as its badge. */
	decorateRow(row: HTMLTableRowElement, learner: LearnerView): void {
		row.classList.toggle('dash-row--hand', learner.hand !== null);
		const actions = row.querySelector('.dash-actions');
		let badge = row.querySelector<HTMLElement>('.dash-hand-badge');
		if (!learner.hand) return badge?.remove();
		if (!badge) {
			badge = document.createElement('span');
			badge.className = 'dash-hand-badge';
			actions?.prepend(badge);
		}
		const text = `✋ ${this.#o.t('instructor.hands.badge')}`;
		if (badge.textContent !== text) badge.textContent = text;
		badge.title = learner.hand.message ?? this.#o.t('instructor.hands.noMessage');
	}

	/** The viewer's takeover controls, for the learner it shows (also after it reconnects). */
	renderTakeover(): void {
		const viewing = this.#o.viewing();
		const learner = viewing && this.#learners.find((l) => l.labId === viewing.labId);
		const own = this.#own?.labId === viewing?.labId ? this.#own?.state : undefined;
		const state = own ?? learner?.takeover ?? null;
		const allowed = state === 'allowed';
		const live = state === 'asked' || allowed;
		this.#slot('takeover').classList.toggle('dash-takeover--on', allowed);
		this.#slot('takeover-ask').hidden = live;
		this.#slot('takeover-end').hidden = !live;
		setText(
			this.#slot('takeover-text'),
			this.#o.t(state ? (`instructor.takeover.${state}` as UiKey) : 'instructor.takeover.none'),
		);
		setText(
			this.#slot('viewer-badge'),
			this.#o.t(allowed ? 'instructor.takeover.badge' : 'instructor.viewer.readOnly'),
		);
		viewing?.viewer?.setInput(allowed);
	}

	/**
	 * The viewer was closed: an open ask or a granted takeover of that learner ends with it, so
	 * input rights never outlive the terminal the instructor was looking at.
	 */
	viewerClosed(labId: string): void {
		const own = this.#own?.labId === labId ? this.#own.state : undefined;
		const state = own ?? this.#learners.find((l) => l.labId === labId)?.takeover ?? null;
		const key = this.#o.key();
		if (!key || (state !== 'asked' && state !== 'allowed')) return;
		this.#own = { labId, state: 'ended' };
		void endTakeoverAsInstructor(key, labId).catch(() => undefined);
	}

	#renderHands(): void {
		const { t } = this.#o;
		const raised = this.#learners.filter((l) => l.hand).sort(handsFirst);
		this.#slot('hands').hidden = raised.length === 0;
		const items = raised.map((l) => {
			const li = document.createElement('li');
			li.className = 'dash-hand';
			const head = document.createElement('p');
			const name = document.createElement('strong');
			name.textContent = t('instructor.hands.item', { name: l.name });
			const since = document.createElement('span');
			since.className = 'dash-hand__since';
			since.textContent = ` · ${t('instructor.hands.since', { time: clock(l.hand!.at) })}`;
			head.append(name, since);
			const message = document.createElement('p');
			message.className = 'dash-hand__message';
			message.textContent = l.hand!.message
				? `«${l.hand!.message}»`
				: t('instructor.hands.noMessage');
			const facts = document.createElement('p');
			facts.className = 'dash-hand__facts';
			facts.textContent = [
				t('instructor.hands.step', {
					step: l.viewing
						? t('instructor.stepOf', { order: l.viewing.order, title: l.viewing.title })
						: t('instructor.stepNone'),
				}),
				...(l.failing ? [t('instructor.hands.check', { check: l.failing.message })] : []),
			].join(' · ');
			const open = document.createElement('button');
			open.type = 'button';
			open.className = 'btn btn--small';
			open.dataset.action = 'hand-open';
			open.dataset.labId = l.labId;
			open.textContent = t('instructor.watch');
			open.setAttribute('aria-label', t('instructor.hands.open', { name: l.name }));
			li.append(head, message, facts, open);
			return li;
		});
		const list = this.#slot('hands-list');
		// Rebuilt only when it changed: a focused «Открыть терминал» keeps its focus.
		const signature = JSON.stringify(raised.map((l) => [l.labId, l.hand, l.viewing, l.failing]));
		if (list.dataset.signature !== signature) {
			list.dataset.signature = signature;
			list.replaceChildren(...items);
		}
	}

	#announceNew(): void {
		const first = this.#seen === null;
		const seen = new Map(this.#learners.flatMap((l) => (l.hand ? [[l.labId, l.hand.at]] : [])));
		const fresh = first
			? []
			: this.#learners.filter((l) => l.hand && this.#seen?.get(l.labId) !== l.hand.at);
		this.#seen = seen;
		if (fresh.length === 0) return;
		this.#slot('hands-announce').textContent = fresh
			.map((l) =>
				this.#o.t('instructor.hands.announce', {
					name: l.name,
					message: l.hand!.message ?? this.#o.t('instructor.hands.noMessage'),
				}),
			)
			.join(' ');
		if ((this.#slot('hands-sound') as HTMLInputElement).checked) this.#beep();
	}

	#beep(): void {
		const audio = (this.#audio ??= newAudio());
		if (!audio) return;
		// Made before any click on this page (the sound was on from an earlier visit): the
		// browser lets it play once the instructor has interacted with the page.
		if (audio.state === 'suspended') void audio.resume().catch(() => undefined);
		const tone = audio.createOscillator();
		const gain = audio.createGain();
		tone.frequency.value = 880;
		gain.gain.setValueAtTime(0.15, audio.currentTime);
		gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
		tone.connect(gain).connect(audio.destination);
		tone.start();
		tone.stop(audio.currentTime + 0.4);
	}

	#onClick = (event: MouseEvent): void => {
		const target = (event.target as Element | null)?.closest<HTMLElement>('[data-action]');
		const action = target?.dataset.action;
		if (action === 'hand-open' && target?.dataset.labId)
			return this.#o.openViewer(target.dataset.labId);
		const labId = this.#o.viewing()?.labId;
		const key = this.#o.key();
		if (!labId || !key) return;
		if (action === 'takeover-ask') {
			void this.#call(labId, () => askTakeover(key, labId));
		} else if (action === 'takeover-end') {
			void this.#call(labId, async () => {
				await endTakeoverAsInstructor(key, labId);
				return 'ended';
			});
		}
	};

	async #call(labId: string, call: () => Promise<TakeoverState>): Promise<void> {
		try {
			this.#own = { labId, state: await call() };
			this.renderTakeover();
		} catch (error) {
			this.#slot('takeover-text').textContent = this.#o.t('instructor.actionFailed', {
				message:
					error instanceof ApiError && error.serverMessage
						? error.serverMessage
						: this.#o.t('lab.unreachable'),
			});
		}
	}

	#slot(name: string): HTMLElement {
		const el = this.#o.host.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el)
			throw new Error(`dashboard-help: missing [data-slot="${name}"] in instructor/index.astro`);
		return el;
	}
}

function newAudio(): AudioContext | null {
	try {
		return new AudioContext();
	} catch {
		return null;
	}
}

function setText(el: HTMLElement, text: string): void {
	if (el.textContent !== text) el.textContent = text;
}

function clock(iso: string): string {
	return new Date(iso).toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' });
}
