import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MAX_LINK_ROOT } from '../docker/node-links';
import { serverIdFor } from '../labs/labels';
import { describeIssue } from './error-map';
import {
	boolean,
	days,
	decimal,
	integer,
	minutes,
	MINUTE_MS,
	oneOf,
	parsed,
	seconds,
	text,
	variable,
} from './variable';
import { MAX_FRAME_BYTES } from '../api/protocol';
import { parsePool, poolSize } from '../labs/subnets';

/**
 * The lab server's configuration, read from environment variables once at start-up by
 * `loadConfig`. Each field below is documented with its variable and default; a variable that is
 * unset or blank (as `docker compose` passes unset ones) takes the default.
 */
const variables = {
	/** Port for HTTP and WebSocket; 0 picks a free one. Env `PORT`, default `4321`. */
	port: variable('PORT', integer(0, 65_535, 4321)),
	/**
	 * Address to listen on. Env `HOST`, default `127.0.0.1` (put a TLS proxy in front, or set
	 * `0.0.0.0` for a classroom network).
	 */
	host: variable('HOST', text('127.0.0.1')),
	/** How long a new lab lives unless extended. Env `LAB_TTL_MINUTES`, default `120`. */
	labTtlMs: variable('LAB_TTL_MINUTES', minutes(1, 1_440, 120)),
	/**
	 * A lab is stopped when no terminal has been attached to it for this long (or, with
	 * `LAB_KEEP_DAYS=0`, removed). Env `LAB_IDLE_MINUTES`, default `20`.
	 */
	labIdleMs: variable('LAB_IDLE_MINUTES', minutes(1, 1_440, 20)),
	/**
	 * A stopped lab (idle, or its time ran out) keeps its nodes' files this long for its learner
	 * to come back to («Продолжить»); `0` removes labs instead of stopping them. Env
	 * `LAB_KEEP_DAYS`, default `7`.
	 */
	labKeepMs: variable('LAB_KEEP_DAYS', days(0, 365, 7)),
	/**
	 * Disk the stopped labs may take together (their nodes' writable layers); over it, the
	 * longest-stopped go first. Env `LAB_KEEP_DISK_MB`, default `10240`.
	 */
	labKeepDiskMb: variable('LAB_KEEP_DISK_MB', integer(0, 16_777_216, 10_240)),
	/**
	 * Cap on a lab's running time from its (re)start: extending never pushes expiry past it. Env
	 * `LAB_MAX_EXTEND_MINUTES`, default `240`; at least `LAB_TTL_MINUTES`.
	 */
	labMaxLifetimeMs: variable('LAB_MAX_EXTEND_MINUTES', minutes(1, 10_080, 240)),
	/**
	 * Labs running at once on this host. Env `MAX_LABS`, default `40`; at most the number of /24
	 * subnets in `LAB_SUBNET_POOL`.
	 */
	maxLabs: variable('MAX_LABS', integer(1, 1_000, 40)),
	/**
	 * Labs booted ahead for anyone («Запустить стенд» takes one at once instead of waiting for
	 * containers), refilled in the background within `MAX_LABS` while the host is not busy;
	 * `0` turns the pool off. Env `WARM_LABS`, default `2` (what two cores refill without
	 * slowing the labs in use). Pool labs count against `MAX_LABS`.
	 */
	warmLabs: variable('WARM_LABS', integer(0, 100, 2)),
	/**
	 * Labs one browser session (cookie) may hold at once. Counted per session, never per IP
	 * address: a classroom behind one NAT address must work. Env `MAX_LABS_PER_CLIENT`, default `2`.
	 */
	maxLabsPerClient: variable('MAX_LABS_PER_CLIENT', integer(1, 100, 2)),
	/**
	 * Labs one IP address may hold at once, against a script that ignores cookies; `0` is off,
	 * the default: a classroom behind one NAT address shares it. Env `MAX_LABS_PER_IP`.
	 */
	maxLabsPerIp: variable('MAX_LABS_PER_IP', integer(0, 10_000, 0)),
	/**
	 * New labs per minute over all learners (`POST /api/labs`), a token bucket that allows a
	 * burst of a quarter of it: a flood of creates waits in line instead of taking every slot.
	 * Env `LAB_CREATE_PER_MINUTE`, default `30`.
	 */
	labCreatePerMinute: variable('LAB_CREATE_PER_MINUTE', integer(1, 10_000, 30)),
	/**
	 * Private IPv4 range, /16 or larger, from which each lab takes a /24 (the first lab gets the
	 * guide's own 10.129.0.0/24). Env `LAB_SUBNET_POOL`, default `10.129.0.0/16`.
	 */
	labSubnetPool: variable('LAB_SUBNET_POOL', parsed(parsePool('10.129.0.0/16'), parsePool)),
	/**
	 * Origins allowed to open terminals besides the server's own (whose host:port equals the Host
	 * header), each exact, e.g. `https://lab.example.org`. Env `ALLOWED_ORIGINS`, comma-separated,
	 * default none.
	 */
	allowedOrigins: variable('ALLOWED_ORIGINS', parsed<readonly string[]>([], parseOrigins)),
	/**
	 * The origin learners open, when it is not localhost or an IP address (a classroom server's
	 * name, or the TLS proxy's), e.g. `https://lab.example.org`: its host joins the allowed Host
	 * headers (DNS rebinding is refused: any other name gets 403). Env `PUBLIC_ORIGIN`.
	 */
	publicOrigin: variable('PUBLIC_ORIGIN', parsed<string | undefined>(undefined, parseOrigin)),
	/**
	 * Who may frame the course (CSP `frame-ancestors`): `'self'` by default; an LMS that embeds it
	 * is added here, e.g. `'self' https://lms.example.org`. Env `FRAME_ANCESTORS`.
	 */
	frameAncestors: variable('FRAME_ANCESTORS', parsed("'self'", parseFrameAncestors)),
	/** Memory limit of each lab node container, MiB. Env `NODE_MEMORY_MB`, default `256`. */
	nodeMemoryMb: variable('NODE_MEMORY_MB', integer(64, 65_536, 256)),
	/**
	 * Process limit of each lab node container, against fork bombs. Env `NODE_PIDS_LIMIT`,
	 * default `512`.
	 */
	nodePidsLimit: variable('NODE_PIDS_LIMIT', integer(64, 65_536, 512)),
	/**
	 * CPU weight of each lab node container, Docker's `--cpu-shares` (1024 is a full share; Docker
	 * accepts 2..262144). Env `NODE_CPU_SHARES`, default `256`.
	 */
	nodeCpuShares: variable('NODE_CPU_SHARES', integer(2, 262_144, 256)),
	/**
	 * Hard CPU ceiling of each lab node container, in cores (Docker's `--cpus`): a fork bomb or a
	 * `yes` loop in one lab takes at most this much from everyone else. Env `NODE_CPUS`, default
	 * `0.5` (a lab at most one core of two; a node alone installs keepalived in about 10 s).
	 */
	nodeCpus: variable('NODE_CPUS', decimal(0.05, 64, 0.5)),
	/**
	 * Writable layer of each lab node, MiB (what the learner writes, packages included): a hard
	 * limit where Docker's storage supports one (overlay2 on XFS with pquota), else a watcher
	 * that stops a node over it. Env `NODE_DISK_MB`, default `512`.
	 */
	nodeDiskMb: variable('NODE_DISK_MB', integer(64, 1_048_576, 512)),
	/**
	 * How `NODE_DISK_MB` is held: `auto` uses Docker's own quota where its storage supports one
	 * and the watcher elsewhere; `watch` always the watcher. Env `NODE_DISK_QUOTA`, default `auto`.
	 */
	nodeDiskQuota: variable('NODE_DISK_QUOTA', oneOf(['auto', 'watch'] as const, 'auto')),
	/** Open files per process in a lab node (`ulimit -n`). Env `NODE_OPEN_FILES`, default `1024`. */
	nodeOpenFiles: variable('NODE_OPEN_FILES', integer(256, 65_536, 1024)),
	/**
	 * inotify instances one node may hold (systemd takes about 5, each `tail -f` one): a node over
	 * it is stopped. Env `NODE_INOTIFY_INSTANCES`, default `256`.
	 */
	nodeInotifyInstances: variable('NODE_INOTIFY_INSTANCES', integer(16, 65_536, 256)),
	/**
	 * Free disk in Docker's data root below which no new lab starts (503, with the reason). Env
	 * `HOST_MIN_FREE_DISK_MB`, default `2048`.
	 */
	hostMinFreeDiskMb: variable('HOST_MIN_FREE_DISK_MB', integer(0, 1_048_576, 2048)),
	/** Terminals open at once per lab, over both nodes. Env `TERMINALS_PER_LAB`, default `8`. */
	terminalsPerLab: variable('TERMINALS_PER_LAB', integer(1, 64, 8)),
	/**
	 * Sustained terminal input per lab, bytes per second; a lab over it has the terminal closed
	 * with 4008. Env `TERMINAL_INPUT_BYTES_PER_SECOND`, default `65536`.
	 */
	terminalInputBytesPerSecond: variable(
		'TERMINAL_INPUT_BYTES_PER_SECOND',
		integer(1, 1_073_741_824, 65_536),
	),
	/**
	 * Terminal input per lab allowed in one burst (a long paste), bytes. At least one full INPUT
	 * frame (65536), or a legal frame could never pass. Env `TERMINAL_INPUT_BURST`, default `262144`.
	 */
	terminalInputBurst: variable(
		'TERMINAL_INPUT_BURST',
		integer(MAX_FRAME_BYTES, 1_073_741_824, 262_144),
	),
	/**
	 * How long a disconnected terminal's shell is kept so a reload or reconnect resumes it. Env
	 * `TERMINAL_GRACE_SECONDS`, default `300`.
	 */
	terminalGraceMs: variable('TERMINAL_GRACE_SECONDS', seconds(0, 86_400, 300)),
	/**
	 * Whether every terminal is recorded (asciicast v2, output only: recordings/). Env
	 * `RECORDINGS`, `true` or `false`, default `true` (`false`: the bench's server without them).
	 */
	recordings: variable('RECORDINGS', boolean(true)),
	/**
	 * What one lab's recordings may take on disk together, MiB; each terminal's is capped at its
	 * ring's size (1 MiB) too. Env `RECORDING_LAB_MB`, default `8` (`TERMINALS_PER_LAB` × 1 MiB).
	 */
	recordingLabMb: variable('RECORDING_LAB_MB', integer(1, 1024, 8)),
	/**
	 * How long the instructor's ask for input rights («Попросить доступ к вводу») waits for the
	 * learner's answer before it lapses. Env `TAKEOVER_ASK_SECONDS`, default `120`.
	 */
	takeoverAskMs: variable('TAKEOVER_ASK_SECONDS', seconds(1, 3_600, 120)),
	/**
	 * How long a granted takeover lasts with no instructor's terminal view open (a closed tab, a
	 * lost connection) before it ends: long enough for a reload. Env
	 * `TAKEOVER_UNWATCHED_SECONDS`, default `20`.
	 */
	takeoverUnwatchedMs: variable('TAKEOVER_UNWATCHED_SECONDS', seconds(1, 3_600, 20)),
	/**
	 * Bearer secret for the instructor's workshop API; the workshop calls are refused while it is
	 * unset. Env `INSTRUCTOR_SECRET` (or a file named by `INSTRUCTOR_SECRET_FILE`, which wins), at
	 * least 16 characters, default unset.
	 */
	instructorSecret: variable('INSTRUCTOR_SECRET', parsed(undefined, parseSecret), {
		secret: true,
	}),
	/**
	 * Directory for state kept across restarts (labs, terminal scrollback). Env `STATE_DIR`,
	 * default `.lab-state` (relative to the working directory).
	 */
	stateDir: variable('STATE_DIR', text('.lab-state')),
	/**
	 * Where the nodes' terminal link directories are made (docker/node-links.ts): an absolute
	 * path, the same inside the server's container and on the Docker host (the engine resolves a
	 * bind's source on the host), at most 50 characters (a unix socket's path is short). `off`:
	 * new nodes have none, and terminals go through the exec's stdio (an engine on another
	 * host). Env `TERMINAL_LINK_DIR`, default `<STATE_DIR>/links`.
	 */
	terminalLinkDir: variable(
		'TERMINAL_LINK_DIR',
		parsed<string | null | undefined>(undefined, parseLinkDir),
	),
	/** Docker Engine API socket. Env `DOCKER_SOCKET`, default `/var/run/docker.sock`. */
	dockerSocket: variable('DOCKER_SOCKET', text('/var/run/docker.sock')),
	/**
	 * Debian mirror the first image build takes its debootstrap base from, when no Debian base
	 * image is present locally. Env `LAB_DEBIAN_MIRROR`, default `http://deb.debian.org/debian`.
	 */
	debianMirror: variable('LAB_DEBIAN_MIRROR', parsed('http://deb.debian.org/debian', parseHttpUrl)),
	/**
	 * Whether `npm start` serves the built site (`dist`) or the API only (`none`, as `npm run dev`
	 * does behind Astro's dev server). Env `LAB_SITE`, default `dist`.
	 */
	site: variable('LAB_SITE', oneOf(['dist', 'none'] as const, 'dist')),
	/** Pino log level. Env `LOG_LEVEL`, default `info`. */
	logLevel: variable(
		'LOG_LEVEL',
		oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
	),
	/**
	 * A TLS proxy is in front: cookies are marked `Secure`. Env `TRUST_PROXY`, `true` or
	 * `false`, default `false`.
	 */
	trustProxy: variable('TRUST_PROXY', boolean(false)),
};

type Variables = typeof variables;
export type Config = { readonly [K in keyof Variables]: z.output<Variables[K]['schema']> };

export class ConfigError extends Error {
	override readonly name = 'ConfigError';
	/** One line per bad variable, e.g. `PORT: expected an integer from 0 to 65535, got "abc"`. */
	readonly problems: readonly string[];

	constructor(problems: readonly string[]) {
		super(
			[
				'Invalid lab-server configuration (fix these environment variables):',
				...problems.map((problem) => `  ${problem}`),
			].join('\n'),
		);
		this.problems = problems;
	}
}

const configSchema = z
	.object(Object.fromEntries(Object.values(variables).map(({ env, schema }) => [env, schema])))
	.transform(
		(byEnv) =>
			Object.fromEntries(
				Object.entries(variables).map(([key, { env }]) => [key, byEnv[env]]),
			) as Config,
	)
	.superRefine((config, ctx) => {
		if (config.labMaxLifetimeMs < config.labTtlMs) {
			ctx.addIssue({
				code: 'custom',
				path: [variables.labMaxLifetimeMs.env],
				message: `expected at least LAB_TTL_MINUTES (${config.labTtlMs / MINUTE_MS})`,
			});
		}
		const subnets = poolSize(config.labSubnetPool);
		if (config.maxLabs > subnets) {
			ctx.addIssue({
				code: 'custom',
				path: [variables.maxLabs.env],
				message: `expected at most ${subnets}, the number of /24 subnets in LAB_SUBNET_POOL "${config.labSubnetPool.cidr}"`,
			});
		}
	});

/** Reads the configuration from `env` (usually `process.env`); throws `ConfigError` listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Config {
	const input: Record<string, string | undefined> = {};
	const unreadable: string[] = [];
	for (const { env: name, secret } of Object.values(variables)) {
		const raw = env[name];
		input[name] = raw === undefined || raw.trim() === '' ? undefined : raw;
		// A secret may come as a file (`<NAME>_FILE`, a Swarm or Compose secret), which wins.
		const file = secret ? env[`${name}_FILE`]?.trim() : undefined;
		if (file) {
			try {
				input[name] = readFileSync(file, 'utf8').trim() || undefined;
			} catch (error) {
				unreadable.push(
					`${name}_FILE: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
				);
			}
		}
	}
	if (unreadable.length > 0) throw new ConfigError(unreadable);
	const result = configSchema.safeParse(input);
	if (result.success) return result.data;
	// Quote what was given, except secrets: an error message ends up in logs.
	const quotable = { ...input };
	for (const { env: name, secret } of Object.values(variables)) {
		if (secret) delete quotable[name];
	}
	throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, quotable)));
}

function parseOrigins(raw: string): readonly string[] {
	const origins = raw
		.split(',')
		.map((part) => part.trim())
		.filter((part) => part !== '');
	for (const origin of origins) {
		const canonical = originOf(origin);
		if (canonical !== origin) {
			const hint = canonical === undefined ? '' : ` (did you mean "${canonical}"?)`;
			throw new Error(
				`expected comma-separated origins such as "https://lab.example.org": "${origin}" is not one${hint}`,
			);
		}
	}
	return origins;
}

function parseOrigin(raw: string): string {
	const origin = raw.trim();
	const canonical = originOf(origin);
	if (canonical !== origin) {
		const hint = canonical === undefined ? '' : ` (did you mean "${canonical}"?)`;
		throw new Error(`expected an origin such as "https://lab.example.org"${hint}`);
	}
	return origin;
}

/** CSP source expressions: `'self'`, `'none'`, origins or `https:`; nothing that ends the header. */
function parseFrameAncestors(raw: string): string {
	const sources = raw.trim().split(/\s+/);
	const valid = (s: string) =>
		s === "'self'" || s === "'none'" || /^https?:$/.test(s) || originOf(s) === s;
	const bad = sources.find((s) => !valid(s));
	if (bad !== undefined) {
		throw new Error(
			`expected CSP sources such as "'self' https://lms.example.org": "${bad}" is not one`,
		);
	}
	return sources.join(' ');
}

/** The origin a browser would send for `url` (lower-case host, no default port, no path). */
function originOf(url: string): string | undefined {
	try {
		const { protocol, origin } = new URL(url);
		return protocol === 'http:' || protocol === 'https:' ? origin : undefined;
	} catch {
		return undefined;
	}
}

function parseLinkDir(raw: string): string | null {
	const value = raw.trim();
	if (value === 'off') return null;
	if (!path.isAbsolute(value)) throw new Error('expected an absolute path, or "off"');
	if (value.length > MAX_LINK_ROOT) throw new Error(`expected at most ${MAX_LINK_ROOT} characters`);
	return path.resolve(value);
}

/**
 * This server's terminal link root, absolute: `<TERMINAL_LINK_DIR or STATE_DIR/links>/<server
 * id>`, so that servers sharing a directory (agents whose engines share a filesystem) never
 * sweep each other's. Null: none (`off`, or a default under a STATE_DIR too long for a socket's
 * path — the server says so when it starts).
 */
export function terminalLinkRoot(
	config: Pick<Config, 'terminalLinkDir' | 'stateDir'>,
): string | null {
	let base = config.terminalLinkDir;
	if (base === null) return null;
	if (base === undefined) {
		base = path.resolve(config.stateDir, 'links');
		if (base.length > MAX_LINK_ROOT) return null;
	}
	return path.join(base, serverIdFor(config.stateDir));
}

function parseHttpUrl(raw: string): string {
	const url = raw.trim();
	if (!/^https?:\/\/[^\s/]+/.test(url)) throw new Error(`expected an http:// or https:// URL`);
	return url.replace(/\/+$/, '');
}

function parseSecret(raw: string): string {
	if (raw.length < 16) {
		throw new Error(`expected at least 16 characters, got ${raw.length}`);
	}
	return raw;
}
