/**
 * Drills as the API offers them: `GET /api/labs/:id/drills` (state, the theory for the learner's
 * own config, the last outage and drill event) and `POST /api/labs/:id/drills/:name`. The
 * downtime meter of a lab is started the first time its drills are looked at, so that it already
 * probes the VIP when the first failure happens, and it goes with the lab.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { execInNode } from '../docker/engine';
import { startDowntimeMeter, type DowntimeMeter } from './downtime-meter';
import { expectedOutageMs } from './theory';
import type { Outage } from '../api';
import {
	activeDrill,
	adoptDrill,
	cancelDrills,
	suspendDrills,
	configValue,
	drillState,
	startDrill,
	DRILLS,
	type DrillEvent,
	type FailureDrill,
} from './index';
import type { Lab } from '../labs/lab';
import type { DrillRecord } from './model';
import { drillStore } from './store';

interface LabRecord {
	meter: Promise<DowntimeMeter> | null;
	lastOutage: Outage | null;
	lastEvent: DrillEvent | null;
	unsubscribe: () => void;
}

export function drillService(docker: Docker, log: Logger, stateDir: string) {
	const records = new Map<string, LabRecord>();
	/** Labs with a drill record, for saving them all (drills/store.ts). */
	const labs = new Map<string, Lab>();
	const store = drillStore(stateDir, log);
	/** What the previous server saved, until each lab is adopted. */
	let saved: Record<string, DrillRecord> = {};

	const save = () =>
		store.save(function* () {
			for (const [id, lab] of labs) {
				const active = activeDrill(lab);
				if (active) yield [id, active] as [string, DrillRecord];
			}
		});

	/** Stops what runs for a lab in the background: its event listeners and its meter. */
	const stopWork = (lab: Lab) => {
		const entry = records.get(lab.id);
		if (!entry) return;
		entry.unsubscribe();
		void entry.meter?.then((m) => m.stop()).catch(() => undefined);
		records.delete(lab.id);
	};

	const record = (lab: Lab): LabRecord => {
		let entry = records.get(lab.id);
		if (entry) return entry;
		labs.set(lab.id, lab);
		const onOutage = (outage: Outage) => (entry!.lastOutage = outage);
		// Every step of a drill is an event: its record is saved as it stands then.
		const onDrill = (event: DrillEvent) => {
			entry!.lastEvent = event;
			void save();
		};
		lab.events.on('outage', onOutage);
		lab.events.on('drill', onDrill);
		entry = {
			meter: null,
			lastOutage: null,
			lastEvent: null,
			unsubscribe: () => {
				lab.events.off('outage', onOutage);
				lab.events.off('drill', onDrill);
			},
		};
		records.set(lab.id, entry);
		return entry;
	};

	const ensureMeter = (lab: Lab): Promise<DowntimeMeter> => {
		const entry = record(lab);
		entry.meter ??= startDowntimeMeter({ docker, log }, lab).catch((error: unknown) => {
			entry.meter = null;
			throw error;
		});
		return entry.meter;
	};

	return {
		/** What the failover step shows: drill state, theory per drill, the last results. */
		async view(lab: Lab) {
			ensureMeter(lab).catch((error: unknown) =>
				log.warn({ labId: lab.id, err: error }, 'downtime meter did not start'),
			);
			const conf = await execInNode(
				docker,
				lab.containers.hap1,
				['cat', '/etc/keepalived/keepalived.conf'],
				{
					timeoutMs: 5_000,
				},
			).catch(() => null);
			const text = conf?.exitCode === 0 ? conf.stdout : '';
			const values = {
				advertInt: configValue(text, 'advert_int') ?? 1,
				priority: configValue(text, 'priority') ?? 100,
				fall: configValue(text, 'fall') ?? 1,
				interval: configValue(text, 'interval') ?? 1,
			};
			const failures = DRILLS.filter((d): d is FailureDrill => d !== 'restore');
			const expected = Object.fromEntries(failures.map((d) => [d, expectedOutageMs(d, values)]));
			const entry = record(lab);
			return {
				state: drillState(lab),
				expected,
				lastOutage: entry.lastOutage,
				lastEvent: entry.lastEvent,
			};
		},

		/** Starts a drill (or `restore`); the meter is made sure to run first so the outage is seen. */
		async start(lab: Lab, name: string) {
			if (name !== 'restore') {
				await ensureMeter(lab).catch((error: unknown) =>
					log.warn(
						{ labId: lab.id, err: error },
						'downtime meter did not start; the drill runs without it',
					),
				);
			}
			try {
				return await startDrill({ docker, lab, log }, name);
			} finally {
				record(lab);
				await save();
			}
		},

		/** Reads what the previous server saved (before labs are adopted). */
		async load(): Promise<void> {
			saved = await store.read();
		},

		/** A lab taken back after a restart: its drill, if one was active, is active again. */
		adopt(lab: Lab): void {
			const drill = saved[lab.id];
			if (!drill) return;
			delete saved[lab.id];
			adoptDrill(lab, drill);
			record(lab);
			log.info({ labId: lab.id, drill: drill.drill }, 'active drill taken back');
		},

		/** Whether a drill is applied to the lab right now. */
		active(lab: Lab): boolean {
			return drillState(lab).active !== null;
		},

		/** The lab is ending: its meter's container goes with it; forget the rest. */
		forget(lab: Lab): void {
			cancelDrills(lab);
			labs.delete(lab.id);
			void save();
			stopWork(lab);
		},

		/** The server is stopping: background work ends, the active drill stays saved. */
		release(lab: Lab): void {
			suspendDrills(lab);
			stopWork(lab);
		},
	};
}

export type DrillService = ReturnType<typeof drillService>;
