/**
 * `<steps-progress>`: marks the steps whose check passed in the steps list (StepsNav.astro).
 *
 * Markup it expects: `[data-check="<check id>"]` items, each with a hidden `[data-done]` mark
 * (a ✓ and its text for screen readers, `[data-done-now]` and `[data-done-earlier]`); it shows the
 * mark of every check that passes on the lab, or passed before on any lab in this browser
 * (`data-passed="now|earlier"`, passed-checks.ts). The results come from `progress.ts`.
 */
import { stepMark } from './passed-checks';
import { currentProgress, type Progress } from './progress';

class StepsProgress extends HTMLElement {
	connectedCallback(): void {
		document.addEventListener('lab:progress', this.#onProgress);
		this.#render(currentProgress());
	}

	disconnectedCallback(): void {
		document.removeEventListener('lab:progress', this.#onProgress);
	}

	#onProgress = (event: CustomEvent<Progress>): void => this.#render(event.detail);

	#render({ results, passed }: Progress): void {
		for (const item of this.querySelectorAll<HTMLElement>('[data-check]')) {
			const id = item.dataset.check ?? '';
			const mark = stepMark(results.get(id), passed, id);
			const done = item.querySelector<HTMLElement>('[data-done]');
			if (done) done.hidden = !mark;
			for (const text of item.querySelectorAll<HTMLElement>('[data-done-now], [data-done-earlier]'))
				text.hidden = mark !== ('doneNow' in text.dataset ? 'now' : 'earlier');
			if (mark) item.dataset.passed = mark;
			else delete item.dataset.passed;
		}
	}
}

if (!customElements.get('steps-progress')) customElements.define('steps-progress', StepsProgress);
