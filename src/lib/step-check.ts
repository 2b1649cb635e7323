/**
 * `<step-check>`: the check box at the end of a step (StepCheck.astro). It shows the step's
 * check result on the learner's lab (ожидает / не пройдено / выполнено, with the server's
 * message), runs the checks on «Проверить», and runs the step's commands on «Выполнить шаг за
 * меня» after a confirmation, then lists the commands it ran and types them, as comments, into
 * both terminals (so the learner sees there what was done, without running anything twice).
 * While the VRRP election it began is under way, the box waits in a neutral state rather than
 * showing the VIP check failed (check-view.ts).
 *
 * Markup it expects: `data-check` (the check id), `[data-slot]` parts (badge, title, message,
 * live, ran, commands), `button[data-action="check|complete"]`, `dialog[data-slot="confirm"]`,
 * and the `check.*` strings in `data-i18n`. `data-status` on the element says what is shown:
 * `nolab` | `earlier` | `unknown` | `waiting` | `pending` | `fail` | `pass`.
 *
 * Results come from `progress.ts` (GET /checks when the lab starts, then `check` events), so the
 * box follows the lab live; buttons work only while the lab runs. With no lab, a step that passed
 * on an earlier one says so (`earlier`, passed-checks.ts).
 */
import { shownStatus } from './check-view';
import type { CheckResult } from './lab-api';
import { ApiError } from './lab-api';
import { currentLab, type LabRunDetail, type LabSnapshot } from './lab-state';
import { completeStep, currentProgress, refreshChecks, type Progress } from './progress';
import { createT, dictFrom, type Translate } from '../i18n/t';

class StepCheck extends HTMLElement {
	#t: Translate = createT({});
	#busy = false;
	#running = false;
	#shown: CheckResult | null = null;
	#waitTimer: ReturnType<typeof setTimeout> | undefined;
	/** «Выполнить шаг за меня» is running: the results that come meanwhile are not its outcome. */
	#autopilot = false;

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		this.addEventListener('click', this.#onClick);
		document.addEventListener('lab:state', this.#onState);
		document.addEventListener('lab:progress', this.#onProgress);
		this.#sync(currentLab());
		this.#render(currentProgress(), false);
	}

	disconnectedCallback(): void {
		this.removeEventListener('click', this.#onClick);
		document.removeEventListener('lab:state', this.#onState);
		document.removeEventListener('lab:progress', this.#onProgress);
		clearTimeout(this.#waitTimer);
	}

	get #check(): string {
		return this.dataset.check ?? '';
	}

	#onState = (event: CustomEvent<LabSnapshot>): void => {
		this.#sync(event.detail);
		this.#render(currentProgress(), false);
	};

	#onProgress = (event: CustomEvent<Progress>): void => this.#render(event.detail, true);

	#sync(state: LabSnapshot): void {
		this.#running = state.status === 'running';
		for (const button of this.#buttons()) button.disabled = !this.#running;
		this.toggleAttribute('data-lab-running', this.#running);
	}

	#render(progress: Progress, live: boolean): void {
		const result = progress.results.get(this.#check) ?? null;
		const before = this.#shown;
		this.#shown = result;
		const waitUntil = progress.waiting.get(this.#check);
		const passedEarlier = progress.passed.has(this.#check);
		const shown = shownStatus(result, this.#running, waitUntil, Date.now(), passedEarlier);
		// Mid-way (keepalived started, the answer not back yet) the VIP check fails until VRRP has
		// elected: the box keeps what it showed, and the answer brings the election's wait.
		if (this.#autopilot && shown === 'fail') return;
		clearTimeout(this.#waitTimer);
		// The election's time is up: what the check says then is the answer.
		if (shown === 'waiting' && waitUntil !== undefined) {
			this.#waitTimer = setTimeout(
				() => this.#render(currentProgress(), true),
				waitUntil - Date.now(),
			);
		}
		this.dataset.status = shown;
		this.#slot('badge').textContent = this.#t(`check.status.${shown}`);
		const title = this.#slot('title');
		title.textContent = result?.title ?? '';
		title.hidden = !result;
		const message = this.#slot('message');
		message.textContent =
			shown === 'waiting' || shown === 'earlier'
				? this.#t(`check.${shown}`)
				: (result?.message ?? '');
		message.hidden = !message.textContent;
		// A step that passes by itself (the learner typed the commands) is worth saying aloud.
		if (live && !this.#busy && result?.status === 'pass' && before && before.status !== 'pass') {
			this.#say('', this.#t('check.result.pass'));
		}
	}

	#onClick = (event: MouseEvent): void => {
		const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
			'button[data-action]',
		);
		if (!button || !this.contains(button) || this.#busy || !this.#running) return;
		if (button.dataset.action === 'check') void this.#runCheck();
		else if (button.dataset.action === 'complete') this.#confirmComplete();
	};

	async #runCheck(): Promise<void> {
		this.#setBusy(true);
		this.#say(this.#t('check.running'));
		try {
			const results = await refreshChecks();
			const result = results.find((r) => r.id === this.#check);
			this.#say(this.#checkedAt(), result ? this.#verdict(result) : this.#t('check.missing'));
		} catch (error) {
			this.#say(this.#t('check.failed', { message: this.#errorText(error) }));
		} finally {
			this.#setBusy(false);
		}
	}

	#confirmComplete(): void {
		const dialog = this.querySelector<HTMLDialogElement>('dialog[data-slot="confirm"]');
		if (!dialog) return;
		dialog.returnValue = '';
		dialog.addEventListener(
			'close',
			() => {
				if (dialog.returnValue === 'confirm') void this.#complete();
			},
			{ once: true },
		);
		dialog.showModal();
	}

	async #complete(): Promise<void> {
		this.#setBusy(true);
		this.#autopilot = true;
		this.#slot('ran').hidden = true;
		this.#say(this.#t('check.autopilotRunning'));
		try {
			const commands = await completeStep(this.#check);
			this.#autopilot = false;
			this.#render(currentProgress(), false);
			const list = this.#slot('commands');
			list.replaceChildren(
				...commands.map((command) => {
					const item = document.createElement('li');
					const code = document.createElement('code');
					code.textContent = command;
					item.append(code);
					return item;
				}),
			);
			this.#slot('ran-text').textContent = this.#t(
				commands.length > 0 ? 'check.autopilotDone' : 'check.autopilotNothing',
			);
			this.#slot('ran').hidden = false;
			this.#showInTerminals(commands);
			const result = currentProgress().results.get(this.#check);
			// The list of commands below says it is done; the verdict is for screen readers.
			this.#say(
				'',
				this.dataset.status === 'waiting'
					? this.#t('check.waiting')
					: result
						? this.#verdict(result)
						: this.#t('check.autopilotFinished'),
			);
		} catch (error) {
			this.#say(this.#t('check.failed', { message: this.#errorText(error) }));
		} finally {
			this.#autopilot = false;
			this.#render(currentProgress(), false);
			this.#setBusy(false);
		}
	}

	/**
	 * The commands the server ran, typed into both terminals as one block of shell comments: the
	 * terminal shows what was done (and keeps it in its scrollback) and nothing runs twice. Typed
	 * like a run button's command, so never into a running program or a pager.
	 */
	#showInTerminals(commands: string[]): void {
		if (commands.length === 0) return;
		const lines = [this.#t('check.autopilotTerminal'), ...commands.map((c) => `  ${c}`)];
		const detail: LabRunDetail = {
			node: 'both',
			command: lines.map((line) => `# ${line}`).join('\n'),
		};
		this.dispatchEvent(new CustomEvent('lab:run', { detail, bubbles: true, cancelable: true }));
	}

	#verdict(result: CheckResult): string {
		return result.status === 'pass'
			? this.#t('check.result.pass')
			: this.#t(`check.result.${result.status}`, { message: result.message });
	}

	#errorText(error: unknown): string {
		return error instanceof ApiError && error.serverMessage
			? error.serverMessage
			: this.#t('lab.unreachable');
	}

	/** aria-disabled, not disabled, while a call runs: the focused button keeps the focus. */
	#setBusy(busy: boolean): void {
		this.#busy = busy;
		this.toggleAttribute('aria-busy', busy);
		for (const button of this.#buttons()) {
			if (busy) button.setAttribute('aria-disabled', 'true');
			else button.removeAttribute('aria-disabled');
		}
	}

	/**
	 * Puts `shown` in the status line; `spoken` goes with it for screen readers only (the badge
	 * and the message above already show it).
	 */
	#say(shown: string, spoken = ''): void {
		const extra = document.createElement('span');
		extra.className = 'sr-only';
		extra.textContent = spoken ? ` ${spoken}` : '';
		const live = this.#slot('live');
		live.replaceChildren(shown, extra);
		live.toggleAttribute('data-quiet', !shown);
	}

	#checkedAt(): string {
		const time = new Date().toLocaleTimeString('ru-RU', { hour12: false });
		return this.#t('check.checkedAt', { time });
	}

	#buttons(): HTMLButtonElement[] {
		return [...this.querySelectorAll<HTMLButtonElement>('button[data-action]')];
	}

	#slot(name: string): HTMLElement {
		const el = this.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el) throw new Error(`step-check: missing [data-slot="${name}"] in StepCheck.astro`);
		return el;
	}
}

if (!customElements.get('step-check')) customElements.define('step-check', StepCheck);
