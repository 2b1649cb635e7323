/**
 * The course's steps as the server needs them: which step claims which check (frontmatter
 * `check:`), with the step's slug, order and title. Read from `content/steps/` once; the site
 * reads the same frontmatter through Astro's content collection (src/content.config.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StepInfo {
	slug: string;
	order: number;
	title: string;
}

/** The course's own steps folder. */
export const STEPS_DIR = fileURLToPath(new URL('../../../content/steps/', import.meta.url));

let courseSteps: Map<string, StepInfo> | undefined;

/** check id → its step, for the course's own steps (read once). */
export function stepsByCheck(): Map<string, StepInfo> {
	courseSteps ??= readStepChecks(STEPS_DIR);
	return courseSteps;
}

/**
 * check id → its step, from each step's frontmatter `check:` (one id, `[a, b]` or a YAML list):
 * the slug (the frontmatter's `slug:` or, as Astro's glob loader makes it, the file's path
 * without `.mdx`, slugified) and the step's `order`. The first step to claim a check keeps it.
 * Missing folder: no steps.
 */
export function readStepChecks(dir: string): Map<string, StepInfo> {
	const steps = new Map<string, StepInfo>();
	let files: string[];
	try {
		files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
			.filter((file) => file.endsWith('.mdx'))
			.sort();
	} catch {
		return steps;
	}
	for (const file of files) {
		const frontmatter = /^---\r?\n([\s\S]*?)\r?\n---/.exec(
			readFileSync(path.join(dir, file), 'utf8'),
		)?.[1];
		if (frontmatter === undefined) continue;
		const slug = frontmatterList(frontmatter, 'slug')[0] ?? slugify(file);
		const order = Number(frontmatterList(frontmatter, 'order')[0] ?? NaN);
		const title = frontmatterList(frontmatter, 'title')[0] ?? slug;
		for (const id of frontmatterList(frontmatter, 'check')) {
			if (!steps.has(id)) {
				steps.set(id, {
					slug,
					order: Number.isFinite(order) ? order : Number.MAX_SAFE_INTEGER,
					title,
				});
			}
		}
	}
	return steps;
}

/** `check: install`, `check: [install, version]` or a YAML block list under `check:`. */
function frontmatterList(frontmatter: string, key: string): string[] {
	const match = new RegExp(`^${key}:[ \\t]*(.*)$`, 'm').exec(frontmatter);
	if (!match) return [];
	const value = match[1]!.trim();
	const unquote = (item: string) => item.trim().replace(/^(['"])(.*)\1$/, '$2');
	if (value.startsWith('[')) {
		return value.slice(1, value.lastIndexOf(']')).split(',').map(unquote).filter(Boolean);
	}
	if (value) return [unquote(value)];
	const rest = frontmatter.slice(match.index + match[0].length).split('\n');
	const items: string[] = [];
	for (const line of rest.slice(1)) {
		const item = /^\s+-\s+(.+)$/.exec(line);
		if (!item) break;
		items.push(unquote(item[1]!));
	}
	return items;
}

/** As github-slugger (Astro's glob loader) does it, per path segment, for plain file names. */
function slugify(file: string): string {
	return file
		.replace(/\.mdx$/, '')
		.split(/[\\/]/)
		.map((segment) =>
			segment
				.toLowerCase()
				.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
				.replace(/ /g, '-'),
		)
		.join('/')
		.replace(/\/index$/, '');
}
