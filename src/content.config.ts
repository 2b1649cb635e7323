/**
 * The course's content: one MDX file per step in `content/steps/` (Russian text and components
 * only; configs and console outputs it shows live beside it in `files/` and `outputs/` and are
 * imported with `?raw`).
 *
 * Frontmatter of a step:
 * - `title`: the step's heading and its name in the navigation;
 * - `order`: position in the course, an integer from 1; steps are sorted by it;
 * - `summary`: one line for the course overview;
 * - `nodes`: the lab nodes the step works on (default both, `[]` for a step with no commands);
 * - `check`: optional id of the lab server's check that verifies the step
 *   (`install`, `version`, `config`, `service`, `vip`, `failover`, `logs`);
 * - `drills`: the failure drills the step offers in a drills panel under its text, in that order
 *   (default none).
 */
import { defineCollection, z } from 'astro:content';
import { glob } from 'astro/loaders';

import { CHECK_IDS, FAILURE_DRILLS, LAB_NODES } from '../lab-server/src/api';

export const nodeNameSchema = z.enum(LAB_NODES);

/** Base frontmatter of every step. */
export const stepSchema = z.object({
	title: z.string().trim().min(1, 'title: нужен заголовок шага'),
	order: z.number().int('order: целое число').min(1, 'order: шаги нумеруются с 1'),
	summary: z
		.string()
		.trim()
		.min(1, 'summary: нужна строка для обзора курса')
		.refine((s) => !/[\r\n]/.test(s), 'summary: одна строка, без переводов строки'),
	nodes: z
		.array(nodeNameSchema)
		.refine((nodes) => new Set(nodes).size === nodes.length, 'nodes: узел указан дважды')
		.default([...LAB_NODES]),
	check: z
		.enum(CHECK_IDS, {
			errorMap: () => ({ message: `check: одна из проверок сервера: ${CHECK_IDS.join(', ')}` }),
		})
		.optional(),
	drills: z
		.array(
			z.enum(FAILURE_DRILLS, {
				errorMap: () => ({ message: `drills: учения сервера: ${FAILURE_DRILLS.join(', ')}` }),
			}),
		)
		.refine((drills) => new Set(drills).size === drills.length, 'drills: учения указаны дважды')
		.default([]),
});

/** A step's frontmatter after parsing (defaults applied). */
export type StepData = z.output<typeof stepSchema>;
/** A step's frontmatter as written in the MDX file. */
export type StepFrontmatter = z.input<typeof stepSchema>;

/** True for a step that the lab server verifies with a check. */
export function hasCheck<T extends { data: StepData }>(
	step: T,
): step is T & { data: StepData & { check: string } } {
	return step.data.check !== undefined;
}

/** True for a step that runs commands on the lab's nodes. */
export function usesLab<T extends { data: StepData }>(step: T): boolean {
	return step.data.nodes.length > 0;
}

const steps = defineCollection({
	loader: glob({ pattern: '*.mdx', base: './content/steps' }),
	schema: stepSchema,
});

export const collections = { steps };
