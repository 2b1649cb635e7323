/**
 * The lab server, assembled: HTTP API + site + terminal WebSockets over one `http.Server`, with
 * the lab manager adopting what a previous server left running. `start()` listens; `stop()` is
 * what SIGTERM does: stop accepting, close terminal sockets with 4013 (clients reconnect and
 * resume), save every terminal's scrollback, and leave the labs running.
 */
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './lib/clock';
import { terminalLinkRoot, type Config } from './config/config';
import { connectDocker } from './docker/engine';
import { requestGuard } from './http/guard';
import { health } from './http/health';
import { hostHealth } from './docker/host-health';
import { supportsStorageQuota } from './docker/storage-quota';
import { watchNodeLimits } from './labs/node-limits';
import { browserSessions, loadSessionKey } from './http/sessions';
import { Admission } from './labs/admission';
import { labRoutes } from './http/lab-routes';
import { createRequestHandler, route } from './http/router';
import { listen } from './http/listen';
import { workshopRoutes } from './http/workshop-routes';
import { LabManager } from './labs/manager';
import { CloseCode } from './api/protocol';
import { isLabNode } from './api';
import { keyedThrottle } from './lib/throttle';
import { staticSite } from './http/static-site';
import { TerminalRegistry } from './terminals/registry';
import type { TerminalOptions } from './terminals/options';
import { attachTerminalServer } from './terminals/socket';
import { watchChecks, type CheckWatcher } from './checks/watcher';
import { drillService } from './drills/service';
import { WorkshopManager } from './workshops/manager';
import { InstructorSessions } from './workshops/instructor-sessions';
import { instructorRoutes } from './http/instructor-routes';
import { cpuLoad } from './lib/cpu-load';
import { WarmLabs } from './labs/warm-labs';
import { WarmPools, type WarmPool } from './labs/warm-pool';
import { RecordingStore } from './recordings/store';
import { markRecordings, stepLabel } from './recordings/markers';
import { recordingRoutes } from './http/recording-routes';
import { TERMINAL_DEFAULTS } from './terminals/options';
import { agentRole, assertedInstructor } from './cluster/agent-role';
import type { ClusterConfig } from './cluster/cluster-config';

/** The warm pools' refill waits while the host's CPUs are busier than this share of all cores. */
const HOST_BUSY_SHARE = 0.8;

export interface LabServerOptions {
	config: Config;
	log: Logger;
	/** The node image tag to start labs from (images.ts, `ensureNodeImage`). */
	image: string;
	/** The built site; null serves the API only (tests, `npm run dev`). */
	siteDir: string | null;
	docker?: Docker;
	clock?: Clock;
	terminal?: Partial<TerminalOptions>;
	/** Whether the host is busy, for the warm pools' refill; default: its CPUs, from /proc/stat. */
	hostBusy?: () => boolean;
	/** The cluster's configuration (cluster/cluster-config.ts); absent: one machine, `ROLE=all`. */
	cluster?: ClusterConfig;
}

export interface LabServer {
	http: Server;
	labs: LabManager;
	/** The node limits watcher, once started (tests and benchmarks measure now with it). */
	readonly limits: ReturnType<typeof watchNodeLimits> | null;
	terminals: TerminalRegistry;
	/** The terminals' recordings; undefined with `RECORDINGS=0`. */
	recordings: RecordingStore | undefined;
	workshops: WorkshopManager;
	/** The public warm pool (`WARM_LABS`). */
	warm: WarmLabs;
	/** The refill of every pool; `close()` stops it (teardown before removing every lab). */
	pools: WarmPools;
	/** Adopts existing labs, then listens on the configured port (0 picks one). */
	start(): Promise<{ port: number }>;
	stop(): Promise<void>;
}

export function createLabServer(options: LabServerOptions): LabServer {
	const { config, log } = options;
	const clock = options.clock ?? systemClock;
	const docker = options.docker ?? connectDocker(config.dockerSocket);
	const stateDir = path.resolve(config.stateDir);
	/** A lab's command-finished events, at most four a second (a shell can print marks in a loop). */
	const commandEnds = keyedThrottle(clock, 250);
	const recordings = config.recordings
		? new RecordingStore({
				stateDir,
				clock,
				log,
				fileBytes: options.terminal?.ringBytes ?? TERMINAL_DEFAULTS.ringBytes,
				labBytes: config.recordingLabMb * 2 ** 20,
				firstMarker: (labId) => stepLabel(labs.get(labId)?.viewing),
			})
		: undefined;
	const terminals = new TerminalRegistry({
		docker,
		clock,
		log,
		stateDir,
		options: { graceMs: config.terminalGraceMs, ...options.terminal },
		...(recordings ? { recordings } : {}),
		// The checks look again as soon as a learner's command has finished (watcher.ts).
		onCommandFinished: (key, status) =>
			commandEnds(key.labId, () => {
				const lab = labs.get(key.labId);
				if (!lab || !isLabNode(key.node)) return;
				lab.events.emit('command', {
					node: key.node,
					status,
					at: new Date(clock.now()).toISOString(),
				});
			}),
	});
	const checks = new Map<string, CheckWatcher>();
	/** Learned in `start()`: whether Docker limits a node's writable layer itself. */
	let storageQuota = false;
	const host = hostHealth(docker, {
		minFreeDiskMb: config.hostMinFreeDiskMb,
		minFreeInotify: 2 * config.nodeInotifyInstances,
	});
	const drills = drillService(docker, log, stateDir);
	// Bound below: the lab manager and the workshops need each other.
	let workshops: WorkshopManager | null = null;
	const labs: LabManager = new LabManager({
		docker,
		config,
		clock,
		log,
		image: options.image,
		storageQuota: () => storageQuota,
		hostProblems: async () => (await host.current()).problems,
		isAttached: (labId) => terminals.anyAttached(labId),
		onTeardown: (labId, node) => terminals.drop(labId, node),
		onStop: async (lab) => {
			// The nodes stop as they were before the drill: a restart must not bring back its harm.
			if (drills.active(lab)) await drills.start(lab, 'restore').catch(() => undefined);
			await terminals.suspendLab(lab.id);
		},
		isPooled: (labId): boolean => warm.has(labId) || (workshops?.isPooled(labId) ?? false),
		// A workshop learner's recordings wait for the workshop's end (the instructor replays
		// them); the rest go with their lab.
		onEnded: async (lab, reason) => {
			const kept = lab.workshop !== null && reason !== 'deleted' && reason !== 'workshop-ended';
			if (!kept) await recordings?.removeLab(lab.id);
		},
		...(recordings ? { keptBytes: (labId: string) => recordings.bytes(labId) } : {}),
		onRegister: (lab) => {
			const watcher = watchChecks(docker, lab, log);
			checks.set(lab.id, watcher);
			drills.adopt(lab);
			const unmark = recordings ? markRecordings(lab, recordings) : () => undefined;
			return (why) => {
				unmark();
				watcher.stop();
				checks.delete(lab.id);
				if (why === 'closing') drills.release(lab);
				else drills.forget(lab);
			};
		},
	});
	// ROLE=agent (cluster/agent-role.ts): behind the agent key, with the hub's session and checks.
	const agent =
		options.cluster?.role === 'agent'
			? agentRole({
					config,
					cluster: options.cluster,
					docker,
					labs,
					workshops: () => workshops!,
					host,
					log,
				})
			: null;
	// Labs booted ahead: the public pool and every workshop's, refilled by one mechanism.
	const pools: WarmPools = new WarmPools({
		labs,
		config,
		clock,
		log,
		// A drained agent refills nothing: its labs are left to finish (cluster/agent-role.ts).
		pools: (): WarmPool[] => (agent?.draining ? [] : [...(workshops?.pools() ?? []), warm]),
		hostBusy: options.hostBusy ?? cpuLoad({ busyAbove: HOST_BUSY_SHARE }).busy,
	});
	const warm: WarmLabs = new WarmLabs({ size: config.warmLabs, labs, pools });
	const instructorSessions = new InstructorSessions({
		secret: config.instructorSecret,
		trustProxy: config.trustProxy,
		clock,
	});
	workshops = new WorkshopManager({
		labs,
		config,
		clock,
		log,
		checks: (labId) => checks.get(labId),
		pools,
		sessions: instructorSessions,
		onGone: async (workshop) => recordings?.removeLabs(workshop.learners.map((l) => l.labId)),
		// An agent's workshops are the hub's shards: their instructor is the one the hub let in.
		...(agent ? { asserted: assertedInstructor } : {}),
	});
	const sessions = agent?.sessions ?? browserSessions(loadSessionKey(stateDir));
	const admission = new Admission({
		clock,
		// A lab waiting in the public pool is room too: taking it starts nothing.
		hasRoom: () => labs.load < config.maxLabs || warm.ready.size > 0,
		createPerMinute: config.labCreatePerMinute,
	});
	const guard = agent?.guard ?? requestGuard(config);
	const routes = [
		route('GET', /^\/api\/health$/, async ({ res }) => health(res, docker, host)),
		...labRoutes({
			labs,
			docker,
			config,
			checks: (labId) => checks.get(labId),
			drills,
			sessions,
			admission,
			warm,
			help: workshops.help,
			...(agent ? { clientAddress: agent.clientAddress } : {}),
		}),
		...recordingRoutes({
			labs,
			recordings,
			authorizeInstructor: (req, labId) => workshops.access.authorizeRecordings(req, labId),
		}),
		...workshopRoutes({ labs, workshops, drills, config, log, sessions }),
		...(agent ? agent.routes : instructorRoutes({ sessions: instructorSessions, config })),
	];
	const handler = createRequestHandler({
		routes,
		guard,
		log,
		site: options.siteDir && !agent ? staticSite(options.siteDir, config) : null,
	});
	const http = createServer(agent ? agent.gate(handler) : handler);
	const sockets = attachTerminalServer(http, {
		labs,
		terminals,
		config,
		clock,
		log,
		guard,
		authorizeViewer: (req, labId) => workshops.access.authorizeViewer(req, labId),
		watch: (lab) => workshops.help.watch(lab),
	});
	agent?.gateUpgrades(http);

	let limits: ReturnType<typeof watchNodeLimits> | null = null;

	return {
		http,
		labs,
		get limits() {
			return limits;
		},
		terminals,
		recordings,
		workshops,
		warm,
		pools,
		async start() {
			await agent?.start();
			await drills.load();
			storageQuota =
				config.nodeDiskQuota === 'auto' && (await supportsStorageQuota(docker, options.image));
			log.info(
				{ storageQuota },
				storageQuota ? 'node disk quota: Docker storage-opt' : 'node disk quota: watched',
			);
			const linkRoot = terminalLinkRoot(config);
			if (linkRoot === null && config.terminalLinkDir === undefined) {
				log.warn(
					{ stateDir },
					'terminal links off: STATE_DIR is too long for their sockets; set TERMINAL_LINK_DIR (README «Терминалы»)',
				);
			} else log.info({ linkRoot }, linkRoot ? 'terminal links' : 'terminal links off');
			await labs.adopt();
			limits = watchNodeLimits({
				docker,
				log,
				storageQuota: () => storageQuota,
				diskMb: config.nodeDiskMb,
				inotifyInstances: config.nodeInotifyInstances,
				labs: () => labs.list().filter((lab) => lab.status === 'running'),
				halt: (lab, node, event) => labs.halt(lab, node, event),
			});
			await warm.restore();
			await workshops.restore();
			// Recordings of labs that ended while no server ran (and whose workshop, if any, ended).
			await recordings?.sweep((labId) => !!labs.get(labId) || workshops.hasLearner(labId));
			pools.refill();
			const port = await listen(http, config.port, config.host);
			log.info({ host: config.host, port }, 'lab server listening');
			return { port };
		},
		async stop() {
			agent?.stop();
			limits?.stop();
			const closed = new Promise<void>((resolve) => http.close(() => resolve()));
			sockets.closeAll(CloseCode.SERVER_RESTARTING, 'server restarting');
			await terminals.suspendAll();
			await pools.close();
			await workshops.close();
			await labs.close();
			http.closeAllConnections();
			await closed;
			log.info('lab server stopped; labs left running');
		},
	};
}
