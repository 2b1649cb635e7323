/**
 * `STATE_DIR/drills.json`: the record of each lab's active drill — what it did and the steps
 * that undo it — so that «Восстановить» after a server restart undoes exactly what was done.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { FAILURE_DRILLS, LAB_NODES } from '../api';
import { stateFile } from '../lib/state-file';
import type { DrillRecord } from './model';

const node = z.enum(LAB_NODES);
const undo = z.discriminatedUnion('kind', [
	z.object({ kind: z.literal('start-haproxy'), node }),
	z.object({ kind: z.literal('start-keepalived'), node }),
	z.object({ kind: z.literal('unpause'), node }),
	z.object({ kind: z.literal('reconnect'), node }),
	z.object({ kind: z.literal('remove-tc'), node, qdiscCreated: z.boolean() }),
	z.object({ kind: z.literal('remove-intruder') }),
]);
const record = z.object({
	drill: z.enum(FAILURE_DRILLS),
	target: node,
	other: node,
	startedAt: z.number(),
	appliedAt: z.number(),
	phase: z.enum(['applying', 'applied', 'outcome', 'failed']),
	detail: z.string().max(4_000).nullable(),
	undo: z.array(undo).max(32),
	cancelled: z.boolean(),
});
const saved = z.record(z.string(), record);
type SavedDrills = z.infer<typeof saved>;

export function drillStore(stateDir: string, log: Logger) {
	const file = stateFile<SavedDrills>({
		dir: stateDir,
		name: 'drills.json',
		schema: saved,
		empty: () => ({}),
		log,
	});
	return {
		read: (): Promise<Record<string, DrillRecord>> => file.read(),
		save: (records: () => Iterable<[string, DrillRecord]>) =>
			file.write(() => Object.fromEntries(records())),
	};
}
