/**
 * `STATE_DIR/labs.json`: what of a lab changes after it starts and must survive a restart (its
 * expiry and when it went idle). Everything else of a lab is in its Docker labels.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { stateFile } from '../lib/state-file';
import type { Lab } from './lab';

const savedLabs = z.record(
	z.string(),
	z.object({ expiresAt: z.number().finite(), idleSince: z.number().finite() }),
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
				for (const lab of labs())
					state[lab.id] = { expiresAt: lab.expiresAt, idleSince: lab.idleSince };
				return state;
			}),
	};
}
