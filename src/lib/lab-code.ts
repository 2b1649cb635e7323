/**
 * `<lab-code>`: the behaviour of a command or config block (Cmd.astro, ConfigFile.astro).
 *
 * Markup it expects (rendered by the components):
 * - `[data-copy-source]`: the text «Копировать» copies (as displayed, i.e. with the lab's addresses);
 * - `[data-run-source]`: the text run buttons send (defaults to the copy source);
 * - `button[data-copy]`, `button[data-run="hap1|hap2|both|vip|other"]`, `[data-status]` (a live
 *   region); a `vip`/`other` button holds a `[data-resolved]` part that names its node now, and
 *   `[data-no-vip]` says when it has none;
 * - `data-i18n`: the `code.*` strings it shows.
 *
 * Run buttons are enabled only while the lab runs (`lab:state`), `vip`/`other` only while one node
 * alone holds the VIP. A click resolves the target from the lab's state at that moment and
 * dispatches a bubbling, cancelable `lab:run` event that the lab panel takes (and cancels, to say
 * it did).
 */
import { copyText } from './clipboard';
import {
	currentLab,
	resolveTarget,
	type CmdTarget,
	type LabRunDetail,
	type LabSnapshot,
	type RunStatus,
} from './lab-state';
import type { LabNode } from '../../lab-server/src/api';
import { createT, dictFrom, type Translate, type UiKey } from '../i18n/t';

const STATUS_CLEAR_MS = 4000;
/** A command's final status stays a little longer: it may say it failed. */
const RUN_STATUS_CLEAR_MS = 8000;

function statusKey(status: RunStatus): UiKey {
	switch (status.state) {
		case 'queued':
			return status.why === 'busy' ? 'code.status.busy' : 'code.status.connecting';
		case 'sent':
			return 'code.status.sent';
		case 'running':
			return 'code.status.running';
		case 'done':
			return status.exitCode === null || status.exitCode === 0
				? 'code.status.done'
				: 'code.status.failed';
	}
}

function exitCode(status: RunStatus): number {
	return status.state === 'done' ? (status.exitCode ?? 0) : 0;
}

class LabCode extends HTMLElement {
	#t: Translate = createT({});
	#statusTimer: ReturnType<typeof setTimeout> | undefined;

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		this.addEventListener('click', this.#onClick);
		document.addEventListener('lab:state', this.#onState);
		this.#sync(currentLab());
	}

	disconnectedCallback(): void {
		this.removeEventListener('click', this.#onClick);
		document.removeEventListener('lab:state', this.#onState);
		clearTimeout(this.#statusTimer);
	}

	#onState = (event: CustomEvent<LabSnapshot>): void => this.#sync(event.detail);

	#sync(state: LabSnapshot): void {
		const running = state.status === 'running';
		for (const button of this.querySelectorAll<HTMLButtonElement>('button[data-run]')) {
			const node = resolveTarget(button.dataset.run as CmdTarget, state.vipHolder);
			button.disabled = !running || node === null;
			const resolved = button.querySelector<HTMLElement>('[data-resolved]');
			if (resolved) resolved.textContent = running && node ? this.#t('code.nowOn', { node }) : '';
		}
		const noVip = this.querySelector<HTMLElement>('[data-no-vip]');
		if (noVip) noVip.hidden = !running || state.vipHolder !== null;
		this.toggleAttribute('data-lab-running', running);
	}

	#onClick = async (event: MouseEvent): Promise<void> => {
		const button = (event.target as Element | null)?.closest('button');
		if (!button || !this.contains(button)) return;
		if (button.hasAttribute('data-copy')) {
			const ok = await copyText(this.#text('[data-copy-source]'));
			this.#status(ok ? 'code.copied' : 'code.copyFailed');
		} else if (button.dataset.run) {
			const target = button.dataset.run as CmdTarget;
			// The VIP may have moved since the label was drawn: the lab's state now decides.
			const node = resolveTarget(target, currentLab().vipHolder);
			if (node === null) {
				this.#status('code.noVip');
				return;
			}
			// Each terminal says what became of the command: waiting, running, done (and how).
			const statuses = new Map<LabNode, RunStatus>();
			const detail: LabRunDetail = {
				node,
				command: this.#text('[data-run-source]') || this.#text('[data-copy-source]'),
				report: (to, status) => {
					statuses.set(to, status);
					this.#runStatus(statuses);
				},
			};
			const taken = !this.dispatchEvent(
				new CustomEvent('lab:run', { detail, bubbles: true, cancelable: true, composed: true }),
			);
			if (!taken) this.#status('code.noLab');
		}
	};

	#text(selector: string): string {
		return (this.querySelector(selector)?.textContent ?? '').replace(/\n+$/, '');
	}

	/** One line per button press: each node's status, cleared a while after all are over. */
	#runStatus(statuses: Map<LabNode, RunStatus>): void {
		const region = this.querySelector<HTMLElement>('[data-status]');
		if (!region) return;
		region.textContent = [...statuses]
			.map(([node, status]) => this.#t(statusKey(status), { node, code: exitCode(status) }))
			.join(' · ');
		clearTimeout(this.#statusTimer);
		const over = [...statuses.values()].every((s) => s.state === 'done' || s.state === 'sent');
		if (over) this.#statusTimer = setTimeout(() => (region.textContent = ''), RUN_STATUS_CLEAR_MS);
	}

	#status(key: UiKey): void {
		const region = this.querySelector<HTMLElement>('[data-status]');
		if (!region) return;
		region.textContent = this.#t(key);
		clearTimeout(this.#statusTimer);
		this.#statusTimer = setTimeout(() => (region.textContent = ''), STATUS_CLEAR_MS);
	}
}

if (!customElements.get('lab-code')) customElements.define('lab-code', LabCode);
