/**
 * The keys a phone's on-screen keyboard lacks, as the bytes a terminal sends for them
 * (extra-keys-bar.ts puts them under each terminal on touch screens): Esc, Tab, the arrows, a
 * sticky Ctrl for the next letter typed, and the two shell characters buried deepest in a phone's
 * symbol pages, `|` and `~`. Pure.
 */

export const EXTRA_KEYS = [
	'esc',
	'tab',
	'ctrl',
	'left',
	'up',
	'down',
	'right',
	'pipe',
	'tilde',
] as const;
export type ExtraKey = (typeof EXTRA_KEYS)[number];
/** The keys that send bytes by themselves (Ctrl changes the next letter instead). */
export type SendingKey = Exclude<ExtraKey, 'ctrl'>;

/** What each button shows; its spoken name is the dictionary's `term.key.<key>`. */
export const KEY_LABELS: Record<ExtraKey, string> = {
	esc: 'Esc',
	tab: 'Tab',
	ctrl: 'Ctrl',
	left: '←',
	up: '↑',
	down: '↓',
	right: '→',
	pipe: '|',
	tilde: '~',
};

const ARROWS: Partial<Record<SendingKey, string>> = { up: 'A', down: 'B', right: 'C', left: 'D' };

/**
 * The bytes of `key`, as xterm.js sends them for the physical key: an arrow is `ESC [ A` unless
 * the program asked for application cursor keys (DECCKM, as less and readline-in-vi-mode do),
 * then `ESC O A`.
 */
export function keyBytes(key: SendingKey, applicationCursor: boolean): string {
	const arrow = ARROWS[key];
	if (arrow) return `\x1b${applicationCursor ? 'O' : '['}${arrow}`;
	switch (key) {
		case 'esc':
			return '\x1b';
		case 'tab':
			return '\t';
		case 'pipe':
			return '|';
		default:
			return '~';
	}
}

/**
 * A Russian on-screen keyboard types «с» where an English one types «c»: Ctrl goes with the key,
 * as on a physical keyboard (ЙЦУКЕН over QWERTY), so Ctrl then «с» is Ctrl+C either way.
 */
const RU_KEYS = 'йцукенгшщзхъфывапролджэячсмитьбю';
const EN_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,.";

/**
 * `data` typed with Ctrl held: its first character as a control character (Ctrl+C → 0x03,
 * Ctrl+[ → ESC, Ctrl+Space → NUL, Ctrl+? → DEL), the rest as typed; a character without a
 * control form goes as it is.
 */
export function withCtrl(data: string): string {
	const [first, ...rest] = data;
	if (first === undefined) return data;
	const ru = RU_KEYS.indexOf(first.toLowerCase());
	const key = (ru >= 0 ? EN_KEYS[ru]! : first).toUpperCase();
	const code = key.charCodeAt(0);
	let control = first;
	if (key === ' ') control = '\x00';
	else if (key === '?') control = '\x7f';
	else if (code >= 0x40 && code <= 0x5f) control = String.fromCharCode(code & 0x1f);
	return control + rest.join('');
}
