/**
 * The configuration tests and benchmarks run a server with: a free port on loopback, no warm
 * pool (the labs a test counts are the ones it starts; a test of the pool sets `WARM_LABS`),
 * and `env` over that.
 */
import { loadConfig, type Config } from '../src/config/config';

export function testConfig(env: Record<string, string> = {}): Config {
	return loadConfig({ PORT: '0', HOST: '127.0.0.1', WARM_LABS: '0', ...env });
}
