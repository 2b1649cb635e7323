/**
 * Presenter mode's keys and lab toggle (`src/pages/present/[slug].astro`).
 *
 * ←/→ and PageUp/PageDown follow the page's `rel="prev"` / `rel="next"` links through
 * ClientRouter, so the persisted lab panel keeps its terminals. Keys typed into a form field, a
 * terminal or the lab panel stay there. The lab panel shows while a lab runs (or starts) and
 * stays out of the way while there is none — its idle text is for learners, not for a projector;
 * «Стенд» hides or shows it whatever its state. That choice lives in sessionStorage and is applied
 * again after every navigation (ClientRouter swaps the layout's attributes with the new page's)
 * and every change of the lab. The terminal's font grows with the slide (`--present-scale` in
 * CourseLayout; `<lab-terminal>` follows its CSS font size).
 *
 * The module runs once per page load (ClientRouter keeps bundled scripts), so the listeners are
 * added once and check that the current page is a presenter page.
 */
import { navigate } from 'astro:transitions/client';
import { currentLab, type LabStatus } from './lab-state';
import { readStorage, writeStorage } from './storage';

/** `1`: the presenter hid the panel, `0`: showed it; absent: it follows the lab. */
const LAB_HIDDEN_KEY = 'keepalived-lab:present-lab-hidden';
/** The panel's states that are worth a third of the screen. */
const LAB_ACTIVE: readonly LabStatus[] = ['restoring', 'starting', 'running'];

function isPresenting(): boolean {
	return document.querySelector('article[data-present]') !== null;
}

function onKey(event: KeyboardEvent): void {
	if (!isPresenting() || event.defaultPrevented) return;
	if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
	const target = event.target as Element | null;
	if (target?.closest('input, textarea, select, [contenteditable], lab-panel, dialog')) return;
	const rel =
		event.key === 'ArrowRight' || event.key === 'PageDown'
			? 'next'
			: event.key === 'ArrowLeft' || event.key === 'PageUp'
				? 'prev'
				: null;
	if (!rel) return;
	const link = document.querySelector<HTMLAnchorElement>(`article[data-present] a[rel="${rel}"]`);
	if (!link) return;
	event.preventDefault();
	void navigate(link.href);
}

/** Whether the lab panel is out of the way now: the presenter's choice, else no lab to show. */
function labHidden(): boolean {
	const choice = readStorage(sessionStorage, LAB_HIDDEN_KEY);
	if (choice === '1' || choice === '0') return choice === '1';
	return !LAB_ACTIVE.includes(currentLab().status);
}

function applyLab(): void {
	const layout = document.querySelector<HTMLElement>('.layout[data-present]');
	if (!layout) return;
	const hidden = labHidden();
	layout.toggleAttribute('data-lab-hidden', hidden);
	for (const button of document.querySelectorAll('[data-action="toggle-lab"]')) {
		button.setAttribute('aria-expanded', String(!hidden));
	}
}

function onClick(event: MouseEvent): void {
	const button = (event.target as Element | null)?.closest('[data-action="toggle-lab"]');
	if (!button) return;
	writeStorage(sessionStorage, LAB_HIDDEN_KEY, labHidden() ? '0' : '1');
	applyLab();
}

document.addEventListener('keydown', onKey);
document.addEventListener('click', onClick);
document.addEventListener('astro:page-load', applyLab);
document.addEventListener('lab:state', applyLab);
applyLab();
