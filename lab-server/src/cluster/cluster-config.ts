/**
 * The cluster's part of the configuration (README «Роли: хаб и агенты»), read from the
 * environment once at start-up like config/config.ts and with its helpers, kept here so that one
 * machine's configuration stays exactly what it was. Each field is documented with its variable
 * and default; an unset or blank variable takes the default.
 */
import { z } from 'zod';
import { ConfigError } from '../config/config';
import { describeIssue } from '../config/error-map';
import { integer, oneOf, parsed, seconds } from '../config/variable';

const variables = z.object({
	/**
	 * What this process is: `all` is everything on one machine (what `npm start` always was);
	 * `agent` runs the labs of its own Docker engine and answers only requests that carry the
	 * agent key; `hub` serves the site and the public API and routes each lab's calls to the
	 * agent that runs it. Env `ROLE`, default `all`.
	 */
	ROLE: oneOf(['all', 'hub', 'agent'] as const, 'all'),
	/**
	 * The secret the hub and its agents share, at least 32 characters. Env `AGENT_KEY`, or
	 * `AGENT_KEY_FILE` (a Swarm secret such as `/run/secrets/agent_key`), which wins; required
	 * for `ROLE=hub` and `ROLE=agent`.
	 */
	AGENT_KEY: parsed<string | undefined>(undefined, (raw) => {
		const key = raw.trim();
		if (key.length < 32) throw new Error(`expected at least 32 characters, got ${key.length}`);
		return key;
	}),
	/** The file that holds the agent key (see `AGENT_KEY`). Env `AGENT_KEY_FILE`. */
	AGENT_KEY_FILE: parsed<string | undefined>(undefined, (raw) => raw.trim()),
	/**
	 * The agent's name, 3 to 64 of [a-z0-9]; its first three characters start the id of every
	 * lab it makes, which is how the hub routes a lab's calls with no lookup (deploy/stack.yml
	 * sets `{{.Node.ID}}`). Env `AGENT_ID`, required for `ROLE=agent`.
	 */
	AGENT_ID: parsed<string | undefined>(undefined, (raw) => {
		if (!/^[a-z0-9]{3,64}$/.test(raw.trim())) throw new Error('expected 3 to 64 of [a-z0-9]');
		return raw.trim();
	}),
	/**
	 * The hub's agents: base URLs, comma-separated, e.g. `http://10.0.0.2:4322,http://10.0.0.3:4322`.
	 * Env `HUB_AGENTS`; empty: the hub learns its agents only from their registration (`HUB_URL`).
	 */
	HUB_AGENTS: parsed<readonly string[]>([], parseAgentUrls),
	/**
	 * An agent's hub, where it registers itself every few seconds (so the hub needs no
	 * `HUB_AGENTS` list): e.g. `http://10.0.0.1:8080`. Env `HUB_URL`, default unset (no
	 * registration).
	 */
	HUB_URL: parsed<string | undefined>(undefined, parseOneUrl),
	/**
	 * How the hub reaches this agent, as it registers: default `http://<its Swarm node address>:<PORT>`.
	 * Env `AGENT_URL`.
	 */
	AGENT_URL: parsed<string | undefined>(undefined, parseOneUrl),
	/** How often the hub asks each agent for its capacity, ms. Env `AGENT_POLL_MS`, default `1000`. */
	AGENT_POLL_MS: integer(100, 60_000, 1000),
	/**
	 * An agent silent this long is gone: its labs answer 410, new labs go elsewhere. Env
	 * `AGENT_GONE_SECONDS`, default `5`.
	 */
	AGENT_GONE_SECONDS: seconds(1, 3_600, 5),
});

const schema = variables
	.superRefine((env, ctx) => {
		const problem = (path: string, message: string) =>
			ctx.addIssue({ code: 'custom', path: [path], message });
		// A field that failed its own parse is already reported (and holds no value to judge).
		if (!['all', 'hub', 'agent'].includes(env.ROLE)) return;
		if (env.ROLE !== 'all' && !env.AGENT_KEY && !env.AGENT_KEY_FILE) {
			problem('AGENT_KEY', `expected AGENT_KEY or AGENT_KEY_FILE with ROLE=${env.ROLE}`);
		}
		if (env.ROLE === 'agent' && !env.AGENT_ID) problem('AGENT_ID', 'required with ROLE=agent');
	})
	.transform((env) => ({
		role: env.ROLE,
		agentKey: env.AGENT_KEY,
		agentKeyFile: env.AGENT_KEY_FILE,
		agentId: env.AGENT_ID,
		hubAgents: env.HUB_AGENTS,
		hubUrl: env.HUB_URL,
		agentUrl: env.AGENT_URL,
		agentPollMs: env.AGENT_POLL_MS,
		agentGoneMs: env.AGENT_GONE_SECONDS,
	}));

export type ClusterConfig = z.output<typeof schema>;
export type Role = ClusterConfig['role'];

/** Reads the cluster's variables from `env`; throws `ConfigError` listing every bad one. */
export function loadClusterConfig(
	env: NodeJS.ProcessEnv | Record<string, string | undefined>,
): ClusterConfig {
	const input: Record<string, string | undefined> = {};
	for (const name of Object.keys(variables.shape)) {
		const raw = env[name];
		input[name] = raw === undefined || raw.trim() === '' ? undefined : raw;
	}
	const result = schema.safeParse(input);
	if (result.success) return result.data;
	const { AGENT_KEY: _secret, ...quotable } = input;
	throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, quotable)));
}

function parseAgentUrls(raw: string): readonly string[] {
	return raw
		.split(',')
		.map((part) => part.trim())
		.filter((part) => part !== '')
		.map((part) => {
			const url = URL.canParse(part) ? new URL(part) : null;
			if (!url || url.protocol !== 'http:' || url.pathname !== '/' || url.search || url.hash) {
				throw new Error('expected comma-separated http://host:port URLs, without paths');
			}
			return url.origin;
		});
}

function parseOneUrl(raw: string): string {
	const urls = raw.includes(',') ? [] : parseAgentUrls(raw);
	if (urls.length !== 1) throw new Error('expected one http://host:port URL, without a path');
	return urls[0]!;
}
