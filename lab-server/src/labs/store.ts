/**
 * `STATE_DIR/labs.json`: what of a lab changes after it starts and must survive a restart (its
 * expiry and when it went idle). Everything else of a lab is in its Docker labels.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { LAB_NODES } from '../api';
import { stateFile } from '../lib/state-file';
import type { Lab } from './lab';

const limitEvent = z.object({
	node: z.enum(LAB_NODES),
	kind: z.enum(['disk', 'inotify']),
	used: z.number(),
	limit: z.number(),
	message: z.string().max(2_000),
	at: z.string(),
});

const savedLabs = z.record(
	z.string(),
	z.object({
		expiresAt: z.number().finite(),
		idleSince: z.number().finite(),
		halted: z.object({ hap1: limitEvent.optional(), hap2: limitEvent.optional() }).default({}),
	}),
);
export type SavedLabs = z.infer<typeof savedLabs>;

export function labStore(stateDir: string, log: Logger) {
	const file = stateFile<SavedLabs>({
		dir: stateDir,
		name: 'labs.json',
		schema: savedLabs,
		empty: () => ({}),
		log,
	});
	return {
		read: () => file.read(),
		/** Saves every lab's mutable fields as they are when the write's turn comes. */
		save: (labs: () => Iterable<Lab>) =>
			file.write(() => {
				const state: SavedLabs = {};
				for (const lab of labs()) {
					state[lab.id] = {
						expiresAt: lab.expiresAt,
						idleSince: lab.idleSince,
						halted: lab.halted,
					};
				}
				return state;
			}),
	};
}
