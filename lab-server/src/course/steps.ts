/**
 * The course's steps as the server needs them: every step's slug, order and title (the slugs a
 * learner's page may report), and which step claims which check (frontmatter `check:`). Read
 * from `content/steps/` once; the site reads the same frontmatter through Astro's content
 * collection (src/content.config.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export interface StepInfo {
	slug: string;
	order: number;
	title: string;
}

/** The course's own steps folder. */
export const STEPS_DIR = fileURLToPath(new URL('../../../content/steps/', import.meta.url));

let ownSteps: CourseStep[] | undefined;
let ownChecks: Map<string, StepInfo> | undefined;

/** A step of the course with the checks it claims (frontmatter `check:`). */
export interface CourseStep extends StepInfo {
	checks: string[];
}

/** The course's own steps in order (read once). */
export function courseSteps(): readonly CourseStep[] {
	ownSteps ??= readSteps(STEPS_DIR);
	return ownSteps;
}

/** check id → its step, for the course's own steps (read once). */
export function stepsByCheck(): Map<string, StepInfo> {
	ownChecks ??= checksOf(courseSteps());
	return ownChecks;
}

/**
 * The schema of a step's slug as the site reports it (`PUT /api/labs/:id/viewing`): one of the
 * course's own steps, nothing else.
 */
export function stepSlugSchema(): z.ZodType<string> {
	const [first, ...rest] = courseSteps().map((step) => step.slug);
	// No steps folder (a broken checkout): no slug is a step.
	return first === undefined ? z.never() : z.enum([first, ...rest]);
}

/**
 * check id → its step, from each step's frontmatter `check:` (one id, `[a, b]` or a YAML list).
 * The first step to claim a check keeps it. Missing folder: no steps.
 */
export function readStepChecks(dir: string): Map<string, StepInfo> {
	return checksOf(readSteps(dir));
}

function checksOf(steps: readonly CourseStep[]): Map<string, StepInfo> {
	const byCheck = new Map<string, StepInfo>();
	for (const { checks, ...info } of steps) {
		for (const id of checks) if (!byCheck.has(id)) byCheck.set(id, info);
	}
	return byCheck;
}

/**
 * Every step of a steps folder, sorted by `order` then slug: the slug (the frontmatter's `slug:`
 * or, as Astro's glob loader makes it, the file's path without `.mdx`, slugified), `order`,
 * `title` and the checks it claims. Missing folder: no steps.
 */
export function readSteps(dir: string): CourseStep[] {
	let files: string[];
	try {
		files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
			.filter((file) => file.endsWith('.mdx'))
			.sort();
	} catch {
		return [];
	}
	const steps: CourseStep[] = [];
	for (const file of files) {
		const frontmatter = /^---\r?\n([\s\S]*?)\r?\n---/.exec(
			readFileSync(path.join(dir, file), 'utf8'),
		)?.[1];
		if (frontmatter === undefined) continue;
		const slug = frontmatterList(frontmatter, 'slug')[0] ?? slugify(file);
		const order = Number(frontmatterList(frontmatter, 'order')[0] ?? NaN);
		steps.push({
			slug,
			order: Number.isFinite(order) ? order : Number.MAX_SAFE_INTEGER,
			title: frontmatterList(frontmatter, 'title')[0] ?? slug,
			checks: frontmatterList(frontmatter, 'check'),
		});
	}
	return steps.sort((a, b) => a.order - b.order || a.slug.localeCompare(b.slug));
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
