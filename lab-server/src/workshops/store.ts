/**
 * `STATE_DIR/workshops.json` (mode 0600: it holds the tokens of the workshop's labs, so that a
 * restart can still hand out pooled labs and give a rejoining learner their token; the
 * instructor's token is kept only as its SHA-256). Labs come back by themselves (labs/ adopts
 * them by their labels).
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { stateFile } from '../lib/state-file';
import type { Workshop } from './workshop';

const savedWorkshop = z.object({
	id: z.string(),
	code: z.string(),
	title: z.string(),
	seats: z.number().int(),
	pool: z.number().int(),
	createdAt: z.number(),
	instructorTokenHash: z.string().regex(/^[0-9a-f]{64}$/),
	learners: z.array(
		z.object({
			name: z.string(),
			sessionHash: z.string(),
			labId: z.string(),
			token: z.string(),
			joinedAt: z.number(),
		}),
	),
	ready: z.array(z.object({ labId: z.string(), token: z.string() })),
});
export type SavedWorkshop = z.infer<typeof savedWorkshop>;

export function workshopStore(stateDir: string, log: Logger) {
	const file = stateFile<SavedWorkshop[]>({
		dir: stateDir,
		name: 'workshops.json',
		schema: z.array(savedWorkshop),
		empty: () => [],
		log,
	});
	return {
		read: () => file.read(),
		save: (workshops: () => Iterable<Workshop>) =>
			file.write(() =>
				[...workshops()].map((w) => ({
					id: w.id,
					code: w.code,
					title: w.title,
					seats: w.seats,
					pool: w.pool,
					createdAt: w.createdAt,
					instructorTokenHash: w.instructorTokenHash,
					learners: w.learners,
					ready: [...w.ready].map(([labId, token]) => ({ labId, token })),
				})),
			),
	};
}
