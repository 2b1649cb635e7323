/**
 * The status line under a form and its fields' invalid marks (`src/styles/forms.css`), shared by
 * the forms' islands (joining a workshop, the instructor's sign-in and new workshop).
 */

export type StatusKind = 'busy' | 'ok' | 'error' | 'wait';

/**
 * Shows `text` in the status line (a polite live region; unchanged text is not said again), and
 * moves the focus to `focus`, the field to fix, when there is one.
 */
export function sayStatus(
	status: HTMLElement,
	kind: StatusKind,
	text: string,
	focus?: HTMLElement,
): void {
	status.dataset.kind = kind;
	if (status.textContent !== text) status.textContent = text;
	focus?.focus();
}

/** Marks a field invalid (or valid again) for the eye and for screen readers. */
export function markInvalid(input: HTMLInputElement, invalid: boolean): void {
	if (invalid) input.setAttribute('aria-invalid', 'true');
	else input.removeAttribute('aria-invalid');
}
