/**
 * `<dashboard-recordings>`: the instructor replays a learner's terminals (markup in
 * DashboardRecordings.astro, on the dashboard page only). A learner row's «Запись» button
 * (`data-action="recording"`, instructor-dashboard.ts) opens a dialog: one button per recorded
 * terminal (`GET /api/labs/:id/recordings`, the instructor's cookie opens it), a player, and the
 * recording's markers — steps opened, drills, resets — each a button that jumps the player there.
 *
 * asciinema-player and its CSS are imported when the dialog first opens, never with the page:
 * they are the heaviest thing on it. The recording is fetched once, its markers read from it,
 * and the same text handed to the player. Long pauses are shortened to 2 s (`idleTimeLimit`):
 * a recording spans the lab's whole life, nights included.
 */
import { recordingUrl, type LabNode, type RecordingInfo } from '../../lab-server/src/api';
import { createT, dictFrom, type Translate } from '../i18n/t';
import { ApiError, labPath, request } from './lab-api';

type PlayerModule = typeof import('asciinema-player');
type Player = ReturnType<PlayerModule['create']>;

/** Pauses longer than this are shortened in the replay, seconds. */
const IDLE_LIMIT_S = 2;

interface Marker {
	/** Wall time of the marker, epoch ms. */
	at: number;
	label: string;
}

let playerModule: Promise<PlayerModule> | null = null;

function loadPlayer(): Promise<PlayerModule> {
	playerModule ??= Promise.all([
		import('asciinema-player'),
		import('asciinema-player/dist/bundle/asciinema-player.css'),
	])
		.then(([module]) => module)
		.catch((error: unknown) => {
			playerModule = null;
			throw error;
		});
	return playerModule;
}

class DashboardRecordings extends HTMLElement {
	#t: Translate = createT({});
	#player: Player | null = null;
	#labId: string | null = null;
	/** Bumped on every load: an older answer arriving late is dropped. */
	#generation = 0;

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		document.addEventListener('click', this.#onDocumentClick);
		this.addEventListener('click', this.#onClick);
		this.#dialog().addEventListener('close', this.#onClose);
	}

	disconnectedCallback(): void {
		document.removeEventListener('click', this.#onDocumentClick);
		this.removeEventListener('click', this.#onClick);
		this.#dispose();
	}

	/** A learner row's «Запись» (the dashboard's table is outside this element). */
	#onDocumentClick = (event: MouseEvent): void => {
		const button = (event.target as Element | null)?.closest<HTMLElement>(
			'[data-action="recording"]',
		);
		const row = button?.closest<HTMLElement>('tr[data-lab-id]');
		if (!row?.dataset.labId) return;
		const name = row.querySelector('[data-cell="name"]')?.textContent ?? '';
		void this.#open(row.dataset.labId, name);
	};

	#onClick = (event: MouseEvent): void => {
		const target = (event.target as Element | null)?.closest<HTMLElement>('[data-action]');
		if (target?.dataset.action === 'play-term' && this.#labId) {
			void this.#play(this.#labId, target.dataset.node as LabNode, target.dataset.term ?? '');
		} else if (target?.dataset.action === 'seek-marker') {
			void this.#jump(Number(target.dataset.index));
		}
	};

	/** To the marker, and on from there: the instructor watches what the learner did then. */
	async #jump(index: number): Promise<void> {
		const player = this.#player;
		if (!player) return;
		await player.seek({ marker: index });
		if (this.#player === player) await player.play();
	}

	#onClose = (): void => {
		this.#generation++;
		this.#dispose();
	};

	async #open(labId: string, name: string): Promise<void> {
		this.#labId = labId;
		const generation = ++this.#generation;
		this.#slot('title').textContent = this.#t('instructor.recordings.title', { name });
		this.#slot('terms').replaceChildren();
		this.#slot('markers').replaceChildren();
		this.#slot('download').hidden = true;
		this.#dispose();
		this.#status(this.#t('instructor.recordings.loading'));
		this.#dialog().showModal();
		try {
			const infos = (await request('GET', `${labPath(labId)}/recordings`)) as RecordingInfo[];
			if (generation !== this.#generation) return;
			if (infos.length === 0) return this.#status(this.#t('instructor.recordings.empty'));
			this.#slot('terms').replaceChildren(
				...infos.map((info) => {
					const button = document.createElement('button');
					button.type = 'button';
					button.className = 'btn btn--small';
					button.dataset.action = 'play-term';
					button.dataset.node = info.node;
					button.dataset.term = info.term;
					button.setAttribute('aria-pressed', 'false');
					button.textContent = info.term === 'main' ? info.node : `${info.node} · ${info.term}`;
					return button;
				}),
			);
			await this.#play(labId, infos[0]!.node, infos[0]!.term);
		} catch (error) {
			if (generation === this.#generation) this.#failed(error);
		}
	}

	async #play(labId: string, node: LabNode, term: string): Promise<void> {
		const generation = ++this.#generation;
		for (const button of this.querySelectorAll<HTMLElement>('[data-action="play-term"]')) {
			const pressed = button.dataset.node === node && button.dataset.term === term;
			button.setAttribute('aria-pressed', String(pressed));
		}
		this.#dispose();
		this.#status(this.#t('instructor.recordings.loading'));
		const url = recordingUrl(labId, node, term);
		try {
			const [module, text] = await Promise.all([loadPlayer(), fetchCast(url)]);
			if (generation !== this.#generation) return;
			const download = this.#slot('download') as HTMLAnchorElement;
			download.href = url;
			download.hidden = false;
			const screen = this.#slot('screen');
			screen.setAttribute('aria-label', this.#t('instructor.recordings.player', { term: node }));
			this.#player = module.create({ data: text }, screen, {
				idleTimeLimit: IDLE_LIMIT_S,
				fit: 'width',
				terminalFontSize: 'small',
				preload: true,
			});
			this.#renderMarkers(markersOf(text));
			this.#status('');
		} catch (error) {
			if (generation === this.#generation) this.#failed(error);
		}
	}

	#renderMarkers(markers: Marker[]): void {
		const list = this.#slot('markers');
		if (markers.length === 0) {
			const empty = document.createElement('li');
			empty.textContent = this.#t('instructor.recordings.noMarkers');
			return list.replaceChildren(empty);
		}
		list.replaceChildren(
			...markers.map((marker, index) => {
				const button = document.createElement('button');
				button.type = 'button';
				button.className = 'rec-marker';
				button.dataset.action = 'seek-marker';
				button.dataset.index = String(index);
				const time = document.createElement('time');
				time.dateTime = new Date(marker.at).toISOString();
				time.textContent = new Date(marker.at).toLocaleTimeString('ru-RU', {
					hour: '2-digit',
					minute: '2-digit',
				});
				button.append(time, ` ${marker.label}`);
				const item = document.createElement('li');
				item.append(button);
				return item;
			}),
		);
	}

	#failed(error: unknown): void {
		const message =
			(error instanceof ApiError && error.serverMessage) || this.#t('lab.unreachable');
		this.#status(this.#t('instructor.recordings.failed', { message }));
	}

	#dispose(): void {
		this.#player?.dispose();
		this.#player = null;
		this.#slot('screen').replaceChildren();
	}

	#status(text: string): void {
		this.#slot('status').textContent = text;
	}

	#dialog(): HTMLDialogElement {
		return this.#slot('dialog') as HTMLDialogElement;
	}

	#slot(name: string): HTMLElement {
		const el = this.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el) throw new Error(`dashboard-recordings: missing [data-slot="${name}"]`);
		return el;
	}
}

async function fetchCast(url: string): Promise<string> {
	let response: Response;
	try {
		response = await fetch(url, { credentials: 'same-origin' });
	} catch {
		throw new ApiError(0, 'network', null);
	}
	if (!response.ok) {
		const body = (await response.json().catch(() => null)) as {
			error?: { code?: string; message?: string };
		} | null;
		throw new ApiError(response.status, body?.error?.code ?? 'http', body?.error?.message ?? null);
	}
	return response.text();
}

/** The recording's markers, in order, with their wall time (header `timestamp` + `t`). */
function markersOf(text: string): Marker[] {
	const lines = text.split('\n');
	let start = 0;
	try {
		start = Number((JSON.parse(lines[0] ?? '{}') as { timestamp?: number }).timestamp ?? 0);
	} catch {
		return [];
	}
	const markers: Marker[] = [];
	for (const line of lines.slice(1)) {
		// Only marker lines are parsed: output lines are most of the file.
		if (!line.includes('"m"')) continue;
		try {
			const [t, code, label] = JSON.parse(line) as [number, string, string];
			if (code === 'm') markers.push({ at: (start + t) * 1000, label });
		} catch {
			// A line cut short: the rest still counts.
		}
	}
	return markers;
}

if (!customElements.get('dashboard-recordings')) {
	customElements.define('dashboard-recordings', DashboardRecordings);
}
