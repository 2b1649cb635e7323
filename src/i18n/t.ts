/**
 * UI strings. Every Russian string of the site lives in `ru.json` (one flat dictionary, keys like
 * `"lab.start"`); components and islands take keys, never literals.
 *
 * - Server side (`.astro` frontmatter): `t('lab.start')`, `t('step.of', { n: 2, total: 9 })`.
 * - Islands: the component serializes the subset it needs, `data-i18n={JSON.stringify(pick('lab.'))}`,
 *   and the island builds its own translator with `createT(dict)`. Islands import only `createT`,
 *   `format` and `pluralKey`, which do not touch `ru.json`, so the dictionary stays out of the
 *   client bundle.
 */
import ru from './ru.json';

export type UiKey = keyof typeof ru;
export type Dict = Partial<Record<UiKey, string>>;
export type Vars = Record<string, string | number>;
export type Translate = (key: UiKey, vars?: Vars) => string;

/** Fills `{name}` placeholders; an unknown placeholder is left as it is, so a typo shows. */
export function format(template: string, vars?: Vars): string {
	if (!vars) return template;
	return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
		name in vars ? String(vars[name]) : whole,
	);
}

/** The server-side translator over the whole dictionary. */
export function t(key: UiKey, vars?: Vars): string {
	return format(ru[key], vars);
}

/** Whether the dictionary has `key` (for keys built from data, such as a check's id). */
export function hasKey(key: string): key is UiKey {
	return Object.hasOwn(ru, key);
}

/** The part of the dictionary whose keys start with one of `prefixes`, for an island's data-* attribute. */
export function pick(...prefixes: string[]): Dict {
	const out: Dict = {};
	for (const [key, value] of Object.entries(ru) as [UiKey, string][]) {
		if (prefixes.some((p) => key.startsWith(p))) out[key] = value;
	}
	return out;
}

/** A translator over a serialized subset; a missing key renders as the key itself so it is noticed. */
export function createT(dict: Dict): Translate {
	return (key, vars) => format(dict[key] ?? key, vars);
}

/** Reads a dictionary subset from an element's `data-i18n` attribute (`{}` when absent or broken). */
export function dictFrom(el: HTMLElement): Dict {
	try {
		return JSON.parse(el.dataset.i18n ?? '{}') as Dict;
	} catch {
		return {};
	}
}

const plurals = new Intl.PluralRules('ru');

/** `base.one` / `base.few` / `base.many` by Russian plural rules: 1 строка, 2 строки, 5 строк. */
export function pluralKey(base: string, n: number): UiKey {
	const form = plurals.select(n);
	return `${base}.${form === 'one' || form === 'few' ? form : 'many'}` as UiKey;
}
