import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { serverIdFor } from '../labs/labels';
import { ConfigError, loadConfig, terminalLinkRoot, type Config } from './config';

/** The message `loadConfig` throws for `env`, or a failure if it does not throw a ConfigError. */
function problemsWith(env: Record<string, string | undefined>): string {
	try {
		loadConfig(env);
	} catch (error) {
		if (error instanceof ConfigError) return error.message;
		throw error;
	}
	throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
	it('has the documented defaults', () => {
		expect(loadConfig({})).toMatchInlineSnapshot(`
			{
			  "allowedOrigins": [],
			  "debianMirror": "http://deb.debian.org/debian",
			  "dockerSocket": "/var/run/docker.sock",
			  "frameAncestors": "'self'",
			  "host": "127.0.0.1",
			  "hostMinFreeDiskMb": 2048,
			  "instructorSecret": undefined,
			  "labCreatePerMinute": 30,
			  "labIdleMs": 1200000,
			  "labKeepDiskMb": 10240,
			  "labKeepMs": 604800000,
			  "labMaxLifetimeMs": 14400000,
			  "labSubnetPool": {
			    "cidr": "10.129.0.0/16",
			    "network": 176226304,
			    "prefixLength": 16,
			  },
			  "labTtlMs": 7200000,
			  "logLevel": "info",
			  "maxLabs": 40,
			  "maxLabsPerClient": 2,
			  "maxLabsPerIp": 0,
			  "nodeCpuShares": 256,
			  "nodeCpus": 0.5,
			  "nodeDiskMb": 512,
			  "nodeDiskQuota": "auto",
			  "nodeInotifyInstances": 256,
			  "nodeMemoryMb": 256,
			  "nodeOpenFiles": 1024,
			  "nodePidsLimit": 512,
			  "port": 4321,
			  "publicOrigin": undefined,
			  "recordingLabMb": 8,
			  "recordings": true,
			  "site": "dist",
			  "stateDir": ".lab-state",
			  "takeoverAskMs": 120000,
			  "takeoverUnwatchedMs": 20000,
			  "terminalGraceMs": 300000,
			  "terminalInputBurst": 262144,
			  "terminalInputBytesPerSecond": 65536,
			  "terminalLinkDir": undefined,
			  "terminalsPerLab": 8,
			  "trustProxy": false,
			  "warmLabs": 2,
			}
		`);
	});

	it('converts minutes and seconds to milliseconds', () => {
		const config = loadConfig({
			LAB_TTL_MINUTES: '30',
			LAB_IDLE_MINUTES: '5',
			LAB_MAX_EXTEND_MINUTES: '90',
			TERMINAL_GRACE_SECONDS: '0',
		});
		expect(config).toMatchObject({
			labTtlMs: 1_800_000,
			labIdleMs: 300_000,
			labMaxLifetimeMs: 5_400_000,
			terminalGraceMs: 0,
		});
	});

	it('reads every kind of value', () => {
		const config = loadConfig({
			PORT: '0',
			HOST: '0.0.0.0',
			MAX_LABS: '256',
			LAB_SUBNET_POOL: '172.16.0.0/12',
			ALLOWED_ORIGINS: ' https://lab.example.org , http://localhost:4321,',
			INSTRUCTOR_SECRET: 'correct horse battery',
			LOG_LEVEL: 'DEBUG',
			TRUST_PROXY: 'true',
		});
		expect(config).toMatchObject({
			port: 0,
			host: '0.0.0.0',
			maxLabs: 256,
			labSubnetPool: { cidr: '172.16.0.0/12', prefixLength: 12 },
			allowedOrigins: ['https://lab.example.org', 'http://localhost:4321'],
			instructorSecret: 'correct horse battery',
			logLevel: 'debug',
			trustProxy: true,
		});
		expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
		expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(true);
	});

	it('treats blank variables as unset, as docker compose passes them', () => {
		expect(loadConfig({ PORT: '', LAB_SUBNET_POOL: '  ', INSTRUCTOR_SECRET: '' })).toEqual(
			loadConfig({}),
		);
	});

	it('ignores variables it does not know', () => {
		expect(loadConfig({ PATH: '/usr/bin', HOME: '/root' })).toEqual(loadConfig({}));
	});

	it('has typed fields', () => {
		expectTypeOf<Config['port']>().toEqualTypeOf<number>();
		expectTypeOf<Config['logLevel']>().toEqualTypeOf<
			'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
		>();
		expectTypeOf<Config['instructorSecret']>().toEqualTypeOf<string | undefined>();
		expectTypeOf<Config['allowedOrigins']>().toEqualTypeOf<readonly string[]>();
	});
});

describe('loadConfig errors', () => {
	it('explains a bad integer', () => {
		expect(problemsWith({ PORT: 'abc' })).toMatchInlineSnapshot(`
			"Invalid lab-server configuration (fix these environment variables):
			  PORT: expected an integer from 0 to 65535, got "abc""
		`);
	});

	it.each([['-1'], ['65536'], ['80.5'], ['0x50'], ['1e3']])('refuses PORT=%s', (port) => {
		expect(problemsWith({ PORT: port })).toContain(
			`PORT: expected an integer from 0 to 65535, got "${port}"`,
		);
	});

	it('explains a bad pool, origin, level and flag', () => {
		expect(
			problemsWith({
				LAB_SUBNET_POOL: '10.129.7.0/16',
				ALLOWED_ORIGINS: 'https://ok.example.org,https://lab.example.org/',
				LOG_LEVEL: 'verbose',
				TRUST_PROXY: 'yes',
			}),
		).toMatchInlineSnapshot(`
			"Invalid lab-server configuration (fix these environment variables):
			  LAB_SUBNET_POOL: expected a network address (host bits clear) such as "10.129.0.0/16", got "10.129.7.0/16"
			  ALLOWED_ORIGINS: expected comma-separated origins such as "https://lab.example.org": "https://lab.example.org/" is not one (did you mean "https://lab.example.org"?), got "https://ok.example.org,https://lab.example.org/"
			  LOG_LEVEL: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "verbose"
			  TRUST_PROXY: expected "true" or "false", got "yes""
		`);
	});

	it.each([
		['LAB_SUBNET_POOL', '10.129.0.0/24', 'expected a /16 or larger (each lab takes a /24 of it)'],
		['LAB_SUBNET_POOL', '8.8.0.0/16', 'expected a private range inside'],
		['LAB_SUBNET_POOL', 'ten', 'expected an IPv4 CIDR such as "10.129.0.0/16"'],
		['ALLOWED_ORIGINS', 'lab.example.org', '"lab.example.org" is not one, got'],
		['ALLOWED_ORIGINS', 'ftp://files.example.org', '"ftp://files.example.org" is not one, got'],
		['ALLOWED_ORIGINS', 'https://Lab.example.org:443', 'did you mean "https://lab.example.org"?'],
		['TERMINAL_INPUT_BURST', '1024', 'expected an integer from 65536 to 1073741824'],
		['NODE_CPU_SHARES', '1', 'expected an integer from 2 to 262144'],
		['TERMINAL_LINK_DIR', 'links', 'expected an absolute path, or "off"'],
		['TERMINAL_LINK_DIR', `/${'x'.repeat(50)}`, 'expected at most 50 characters'],
	])('refuses %s=%s', (name, value, problem) => {
		const message = problemsWith({ [name]: value });
		expect(message).toContain(`  ${name}: `);
		expect(message).toContain(problem);
	});

	it('puts the terminal links in STATE_DIR unless told otherwise (or too long for a socket)', () => {
		const root = (env: Record<string, string>) => terminalLinkRoot(loadConfig(env));
		// Under a directory of this server's own (its id, as on its labs' labels).
		const id = serverIdFor('/srv/lab');
		expect(root({ STATE_DIR: '/srv/lab' })).toBe(`/srv/lab/links/${id}`);
		expect(root({ STATE_DIR: '/srv/lab', TERMINAL_LINK_DIR: '/var/lib/klab/links/' })).toBe(
			`/var/lib/klab/links/${id}`,
		);
		expect(root({ TERMINAL_LINK_DIR: 'off' })).toBeNull();
		expect(root({ STATE_DIR: `/${'s'.repeat(50)}` })).toBeNull();
	});

	it('never quotes the instructor secret', () => {
		expect(problemsWith({ INSTRUCTOR_SECRET: 'hunter2' })).toMatchInlineSnapshot(`
			"Invalid lab-server configuration (fix these environment variables):
			  INSTRUCTOR_SECRET: expected at least 16 characters, got 7"
		`);
	});

	it('reads a secret from its file (a Swarm secret), which wins, and says when it cannot', () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'klab-config-'));
		try {
			const file = path.join(dir, 'instructor_secret');
			writeFileSync(file, 'from-the-secret-file-0123\n');
			expect(
				loadConfig({ INSTRUCTOR_SECRET: 'from-the-environment-0123', INSTRUCTOR_SECRET_FILE: file })
					.instructorSecret,
			).toBe('from-the-secret-file-0123');
			writeFileSync(file, 'short\n');
			expect(problemsWith({ INSTRUCTOR_SECRET_FILE: file })).toContain(
				'INSTRUCTOR_SECRET: expected at least 16 characters, got 5',
			);
			expect(problemsWith({ INSTRUCTOR_SECRET_FILE: path.join(dir, 'none') })).toContain(
				`INSTRUCTOR_SECRET_FILE: cannot read "${path.join(dir, 'none')}" (ENOENT)`,
			);
			// Only secrets come from files: `<NAME>_FILE` of any other variable means nothing.
			expect(loadConfig({ PORT_FILE: file }).port).toBe(loadConfig({}).port);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('checks variables against each other', () => {
		expect(problemsWith({ LAB_TTL_MINUTES: '300', MAX_LABS: '300' })).toMatchInlineSnapshot(`
			"Invalid lab-server configuration (fix these environment variables):
			  LAB_MAX_EXTEND_MINUTES: expected at least LAB_TTL_MINUTES (300)
			  MAX_LABS: expected at most 256, the number of /24 subnets in LAB_SUBNET_POOL "10.129.0.0/16", got "300""
		`);
		expect(problemsWith({ MAX_LABS: '257' })).toContain('MAX_LABS: expected at most 256');
		expect(loadConfig({ MAX_LABS: '1000', LAB_SUBNET_POOL: '10.0.0.0/8' }).maxLabs).toBe(1000);
	});

	it('lists several bad variables at once, one per line, in a fixed order', () => {
		const error = (() => {
			try {
				loadConfig({
					TERMINALS_PER_LAB: '0',
					PORT: 'http',
					LAB_IDLE_MINUTES: 'soon',
					MAX_LABS: '',
				});
			} catch (error) {
				return error as ConfigError;
			}
		})();
		expect(error).toBeInstanceOf(ConfigError);
		expect(error?.name).toBe('ConfigError');
		expect(error?.problems).toHaveLength(3);
		expect(error?.message).toMatchInlineSnapshot(`
			"Invalid lab-server configuration (fix these environment variables):
			  PORT: expected an integer from 0 to 65535, got "http"
			  LAB_IDLE_MINUTES: expected an integer from 1 to 1440, got "soon"
			  TERMINALS_PER_LAB: expected an integer from 1 to 64, got "0""
		`);
	});
});
