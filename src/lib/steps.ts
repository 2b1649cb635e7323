/**
 * The course's steps, in order (build time only: reads the `steps` content collection).
 */
import { getCollection, type CollectionEntry } from 'astro:content';

export type Step = CollectionEntry<'steps'>;

/** All steps sorted by `order` (then by id, so equal orders stay stable). */
export async function getSteps(): Promise<Step[]> {
	const steps = await getCollection('steps');
	return steps.sort((a, b) => a.data.order - b.data.order || a.id.localeCompare(b.id));
}

export function stepHref(step: Pick<Step, 'id'>): string {
	return `/steps/${step.id}/`;
}
