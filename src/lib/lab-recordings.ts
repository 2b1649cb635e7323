/**
 * `<lab-recordings>`: «Скачать запись сессии» in the lab panel (LabRecordings.astro) — a
 * disclosure that, when opened, lists the lab's recordings (`GET /api/labs/:id/recordings`) as
 * one download link per terminal (a `.cast` that `asciinema play` replays). The list is asked
 * for each time it opens, so it shows the sizes now; the lab is the one the panel published
 * (lab-state.ts). Small on purpose: it loads with the panel, before any lab starts.
 */
import { recordingUrl, type RecordingInfo } from '../../lab-server/src/api';
import { createT, dictFrom, type Translate } from '../i18n/t';
import { ApiError, labPath, request } from './lab-api';
import { currentLab } from './lab-state';

class LabRecordings extends HTMLElement {
	#t: Translate = createT({});

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		this.querySelector('details')?.addEventListener('toggle', this.#onToggle);
	}

	disconnectedCallback(): void {
		this.querySelector('details')?.removeEventListener('toggle', this.#onToggle);
	}

	#onToggle = (event: Event): void => {
		if ((event.target as HTMLDetailsElement).open) void this.#load();
	};

	async #load(): Promise<void> {
		const lab = currentLab().lab;
		const status = this.querySelector<HTMLElement>('[data-slot="status"]')!;
		const list = this.querySelector<HTMLElement>('[data-slot="list"]')!;
		if (!lab) return;
		status.textContent = this.#t('lab.recordings.loading');
		try {
			const infos = (await request('GET', `${labPath(lab.id)}/recordings`)) as RecordingInfo[];
			list.replaceChildren(
				...infos.map((info) => {
					const link = document.createElement('a');
					link.href = recordingUrl(lab.id, info.node, info.term);
					link.download = `${lab.id}-${info.node}-${info.term}.cast`;
					link.textContent = this.#t('lab.recordings.item', {
						node: info.node,
						term: info.term,
						size: this.#t('lab.recordings.kb', { n: Math.max(1, Math.round(info.bytes / 1024)) }),
					});
					const item = document.createElement('li');
					item.append(link);
					return item;
				}),
			);
			status.textContent = infos.length === 0 ? this.#t('lab.recordings.empty') : '';
		} catch (error) {
			const message = error instanceof ApiError && error.serverMessage;
			status.textContent = this.#t('lab.recordings.failed', {
				message: message || this.#t('lab.unreachable'),
			});
		}
	}
}

if (!customElements.get('lab-recordings')) customElements.define('lab-recordings', LabRecordings);
