/**
 * `STATE_DIR/labs.json`: what of a lab changes after it starts and must survive a restart (its
 * expiry, when it went idle, when its learner last typed, nodes stopped over a limit, whether it
 * is stopped and until when its files are kept, who holds it once a pool's lab is taken), and the
 * labs being created right now (`creating`): a server killed before one was ready leaves its
 * containers behind, and the next start removes them rather than adopting a lab nobody holds
 * the token of. Everything else of a lab is in its Docker labels.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { LAB_NODES, RESET_BY } from '../api';
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
		/** When a learner last typed into the lab (the workshop dashboard shows it). */
		lastActivity: z.number().nullable().default(null),
		/** Being created when this was written: not handed to anyone yet. */
		creating: z.boolean().default(false),
		/** A lab being resumed is saved as stopped: a killed server's next start stops it again. */
		status: z.enum(['running', 'stopped']).default('running'),
		startedAt: z.number().finite().nullable().default(null),
		stoppedAt: z.number().finite().nullable().default(null),
		keptUntil: z.number().finite().nullable().default(null),
		diskBytes: z.number().finite().nonnegative().default(0),
		/**
		 * Who holds it and the hash of its token, when they changed after the labels were written
		 * (a pool's lab taken by a learner, warm-labs.ts); null: as the labels say.
		 */
		ownerHash: z.string().max(200).nullable().default(null),
		tokenHash: z.string().max(200).nullable().default(null),
		/** The latest reset, for a learner's page that was closed then (reset-notice.ts). */
		lastReset: z
			.object({
				at: z.number().finite(),
				by: z.enum(RESET_BY),
				nodes: z.array(z.enum(LAB_NODES)).max(LAB_NODES.length),
			})
			.nullable()
			.default(null),
	}),
);
export type SavedLabs = z.infer<typeof savedLabs>;
export type SavedLab = SavedLabs[string];

/** What a running lab without saved state is taken to have (labs.json lost or older). */
export const RUNNING: Omit<SavedLab, 'expiresAt' | 'idleSince'> = {
	halted: {},
	lastActivity: null,
	creating: false,
	status: 'running',
	startedAt: null,
	stoppedAt: null,
	keptUntil: null,
	diskBytes: 0,
	ownerHash: null,
	tokenHash: null,
	lastReset: null,
};

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
		save: (source: {
			labs: () => Iterable<Lab>;
			lastActivity: (labId: string) => number | null;
			/** Labs being created: id and creation time. */
			creating: () => Iterable<[string, number]>;
		}) =>
			file.write(() => {
				const state: SavedLabs = {};
				for (const [id, createdAt] of source.creating()) {
					state[id] = {
						...RUNNING,
						expiresAt: createdAt,
						idleSince: createdAt,
						startedAt: createdAt,
						creating: true,
					};
				}
				for (const lab of source.labs()) {
					state[lab.id] = {
						expiresAt: lab.expiresAt,
						idleSince: lab.idleSince,
						halted: lab.halted,
						lastActivity: source.lastActivity(lab.id),
						creating: false,
						status: lab.status === 'running' ? 'running' : 'stopped',
						startedAt: lab.startedAt,
						stoppedAt: lab.stoppedAt,
						keptUntil: lab.keptUntil,
						diskBytes: lab.diskBytes,
						ownerHash: lab.ownerHash,
						tokenHash: lab.tokenHash,
						lastReset: lab.lastReset,
					};
				}
				return state;
			}),
	};
}
