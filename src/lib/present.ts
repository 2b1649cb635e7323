/**
 * Presenter mode's keys and lab toggle (`src/pages/present/[slug].astro`).
 *
 * ←/→ and PageUp/PageDown follow the page's `rel="prev"` / `rel="next"` links through
 * ClientRouter, so the persisted lab panel keeps its terminals. Keys typed into a form field, a
 * terminal or the lab panel stay there. «Стенд» hides or shows the panel; the choice lives in
 * sessionStorage and is applied again after every navigation (ClientRouter swaps the layout's
 * attributes with the new page's).
 *
 * The module runs once per page load (ClientRouter keeps bundled scripts), so the listeners are
 * added once and check that the current page is a presenter page.
 */
import { navigate } from 'astro:transitions/client';
import { readStorage, writeStorage } from './storage';

const LAB_HIDDEN_KEY = 'keepalived-lab:present-lab-hidden';

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

function applyLab(): void {
	const layout = document.querySelector<HTMLElement>('.layout[data-present]');
	if (!layout) return;
	const hidden = readStorage(sessionStorage, LAB_HIDDEN_KEY) === '1';
	layout.toggleAttribute('data-lab-hidden', hidden);
	for (const button of document.querySelectorAll('[data-action="toggle-lab"]')) {
		button.setAttribute('aria-expanded', String(!hidden));
	}
}

function onClick(event: MouseEvent): void {
	const button = (event.target as Element | null)?.closest('[data-action="toggle-lab"]');
	if (!button) return;
	const hidden = readStorage(sessionStorage, LAB_HIDDEN_KEY) === '1';
	writeStorage(sessionStorage, LAB_HIDDEN_KEY, hidden ? '0' : '1');
	applyLab();
}

document.addEventListener('keydown', onKey);
document.addEventListener('click', onClick);
document.addEventListener('astro:page-load', applyLab);
applyLab();
