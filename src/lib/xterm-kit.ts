/**
 * xterm.js, its fit addon and its stylesheet in one lazily loaded chunk: `<lab-terminal>` imports
 * this with `await import()` when a lab starts, so a step page never pays for it up front.
 *
 * The stylesheet is imported as a URL and linked on demand: a plain `import '….css'` here would be
 * hoisted by Astro into every page's <head>, although this module itself loads lazily.
 */
import cssUrl from '@xterm/xterm/css/xterm.css?url';

export { Terminal } from '@xterm/xterm';
export { FitAddon } from '@xterm/addon-fit';

let loading: { link: HTMLLinkElement; done: Promise<void> } | null = null;

/**
 * Links xterm's stylesheet inside `host` and resolves when it has loaded (or failed: xterm then
 * works unstyled). The link goes into the persisted lab panel, not <head>: ClientRouter replaces
 * the head's children on every navigation and would drop it.
 */
export function loadXtermCss(host: Element): Promise<void> {
	if (loading?.link.isConnected) return loading.done;
	const link = document.createElement('link');
	link.rel = 'stylesheet';
	link.href = cssUrl;
	const done = new Promise<void>((resolve) => {
		link.addEventListener('load', () => resolve());
		link.addEventListener('error', () => resolve());
	});
	host.append(link);
	loading = { link, done };
	return done;
}
