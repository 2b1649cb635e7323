/**
 * `<panel-resizer>`: the separator between the guide's text and the lab panel on wide screens
 * (PanelResizer.astro, on the panel's left edge). Drag it, or focus it and use the arrows, Page
 * Up/Down, Home and End (the ARIA window splitter pattern). Its value is the line's position in %
 * of the window's width, the text's share (panel-split.ts), kept in localStorage for every page and later visits.
 * The terminals refit by themselves: each watches its own size (lab-terminal.ts).
 *
 * Markup it expects: itself inside the panel's column (`.layout__lab`), the text in
 * `.layout__main`, and `data-i18n` with `split.valueText`.
 */
import {
	clampSplit,
	labWidth,
	parseSplit,
	SPLIT_KEY,
	splitAfterKey,
	splitBounds,
	splitFor,
	type SplitBounds,
} from './panel-split';
import { readStorage, writeStorage } from './storage';
import { createT, dictFrom, type Translate } from '../i18n/t';

/** The text keeps at least this many rem, the panel at least this many (CourseLayout's CSS agrees). */
const MIN_TEXT_REM = 24;
const MIN_PANEL_REM = 22;

class PanelResizer extends HTMLElement {
	#t: Translate = createT({});
	#dragging = false;

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		this.setAttribute('role', 'separator');
		this.setAttribute('aria-orientation', 'vertical');
		this.tabIndex = 0;
		this.addEventListener('keydown', this.#onKey);
		this.addEventListener('pointerdown', this.#onPointerDown);
		addEventListener('resize', this.#onWindowResize);
		this.#apply(parseSplit(readStorage(localStorage, SPLIT_KEY)));
	}

	disconnectedCallback(): void {
		this.removeEventListener('keydown', this.#onKey);
		this.removeEventListener('pointerdown', this.#onPointerDown);
		removeEventListener('resize', this.#onWindowResize);
	}

	#onKey = (event: KeyboardEvent): void => {
		const next = splitAfterKey(event.key, this.#position(), this.#bounds());
		if (next === null) return;
		event.preventDefault();
		this.#apply(next, true);
	};

	#onPointerDown = (event: PointerEvent): void => {
		if (event.button !== 0) return;
		event.preventDefault();
		this.setPointerCapture(event.pointerId);
		this.#dragging = true;
		this.toggleAttribute('data-dragging', true);
		this.focus({ preventScroll: true });
		const bounds = this.#bounds();
		const right = document.documentElement.clientWidth;
		const move = (e: PointerEvent): void => {
			this.#apply(clampSplit(splitFor(right - e.clientX, innerWidth), bounds));
		};
		const end = (): void => {
			this.#dragging = false;
			this.removeAttribute('data-dragging');
			this.removeEventListener('pointermove', move);
			this.removeEventListener('pointerup', end);
			this.removeEventListener('pointercancel', end);
			writeStorage(localStorage, SPLIT_KEY, String(this.#position()));
		};
		this.addEventListener('pointermove', move);
		this.addEventListener('pointerup', end);
		this.addEventListener('pointercancel', end);
	};

	#onWindowResize = (): void => {
		if (!this.#dragging) this.#describe();
	};

	/** Moves the line to `split` % (none: the layout's own width), and says where it is now. */
	#apply(split: number | null, remember = false): void {
		const root = document.documentElement.style;
		if (split === null) root.removeProperty('--lab-width');
		else root.setProperty('--lab-width', labWidth(split));
		if (remember && split !== null) writeStorage(localStorage, SPLIT_KEY, String(split));
		this.#describe();
	}

	/** aria-value* from where the line really is (the layout's CSS may have clamped it). */
	#describe(): void {
		const { min, max } = this.#bounds();
		const now = this.#position();
		this.setAttribute('aria-valuemin', String(Math.round(min)));
		this.setAttribute('aria-valuemax', String(Math.round(max)));
		this.setAttribute('aria-valuenow', String(Math.round(now)));
		this.setAttribute(
			'aria-valuetext',
			this.#t('split.valueText', { text: Math.round(now), lab: 100 - Math.round(now) }),
		);
	}

	/** Where the line is, from the panel's width (a scrollbar does not move it). */
	#position(): number {
		const lab = this.closest('.layout__lab');
		if (!lab || innerWidth === 0) return 50;
		return Math.round(splitFor(lab.getBoundingClientRect().width, innerWidth) * 10) / 10;
	}

	#bounds(): SplitBounds {
		const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
		const main = document.querySelector('.layout__main');
		const layout = main?.parentElement;
		return splitBounds(innerWidth, {
			right: document.documentElement.clientWidth,
			textLeft: main?.getBoundingClientRect().left ?? 0,
			gap: layout ? parseFloat(getComputedStyle(layout).columnGap) || 0 : 0,
			minText: MIN_TEXT_REM * rem,
			minPanel: MIN_PANEL_REM * rem,
		});
	}
}

if (!customElements.get('panel-resizer')) customElements.define('panel-resizer', PanelResizer);
