/**
 * Copies text to the clipboard. The async Clipboard API exists only in secure contexts (https or
 * localhost); a workshop served over plain http on a LAN address has none, so fall back to the
 * old `execCommand('copy')` on a temporary textarea, which works inside a user gesture.
 */
export async function copyText(text: string): Promise<boolean> {
	if (navigator.clipboard?.writeText) {
		try {
			await navigator.clipboard.writeText(text);
			return true;
		} catch {
			// Permission denied or document not focused: try the fallback below.
		}
	}
	const active = document.activeElement as HTMLElement | null;
	const area = document.createElement('textarea');
	area.value = text;
	area.setAttribute('readonly', '');
	area.style.position = 'fixed';
	area.style.opacity = '0';
	document.body.append(area);
	area.select();
	let ok = false;
	try {
		ok = document.execCommand('copy');
	} catch {
		ok = false;
	}
	area.remove();
	active?.focus();
	return ok;
}
