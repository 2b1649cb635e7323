/**
 * `<steps-progress>`: marks the steps whose check passes in the steps list (StepsNav.astro).
 *
 * Markup it expects: `[data-check="<check id>"]` items, each with a hidden `[data-done]` mark
 * (a ✓ and its text for screen readers); it shows the mark of every passed check. The results
 * come from `progress.ts`, which keeps them per lab in localStorage and follows the lab.
 */
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

	#render({ results }: Progress): void {
		for (const item of this.querySelectorAll<HTMLElement>('[data-check]')) {
			const done = results.get(item.dataset.check ?? '')?.status === 'pass';
			const mark = item.querySelector<HTMLElement>('[data-done]');
			if (mark) mark.hidden = !done;
			item.toggleAttribute('data-passed', done);
		}
	}
}

if (!customElements.get('steps-progress')) customElements.define('steps-progress', StepsProgress);
