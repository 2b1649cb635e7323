/**
 * Tells the lab server which step page the learner has open (`PUT /api/labs/:id/viewing`), for
 * the workshop dashboard's «Шаг»: once a lab runs, on every page load (ClientRouter navigations
 * included), and again whenever the tab becomes visible. The server only records it, so saying it
 * twice is harmless; here it is said once per lab and page unless the tab was hidden meanwhile. A
 * failed call is forgotten: the next load or return to the tab says it again.
 *
 * Runs once per page load (ClientRouter keeps bundled scripts), imported by the lab panel.
 */
import { labPath, request } from './lab-api';
import { currentLab } from './lab-state';

/** `<lab id> <slug>` last said. */
let said: string | null = null;

/** The slug of the step page open now: `/steps/<slug>/` or presenter mode's `/present/<slug>/`. */
function stepOfPage(): string | null {
	const slug = /^\/(?:steps|present)\/([^/]+)\/?$/.exec(location.pathname)?.[1];
	return slug === undefined ? null : decodeURIComponent(slug);
}

function report(again: boolean): void {
	const { status, lab } = currentLab();
	const step = stepOfPage();
	if (status !== 'running' || !lab || !step || document.visibilityState !== 'visible') return;
	const key = `${lab.id} ${step}`;
	if (key === said && !again) return;
	said = key;
	request('PUT', `${labPath(lab.id)}/viewing`, { step }).catch(() => {
		if (said === key) said = null;
	});
}

document.addEventListener('lab:state', () => report(false));
document.addEventListener('astro:page-load', () => report(false));
document.addEventListener('visibilitychange', () => report(true));
