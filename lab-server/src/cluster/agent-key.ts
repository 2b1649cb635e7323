/**
 * The secret the hub and its agents share (a Swarm secret in deploy/stack.yml): read once at
 * start, compared in constant time on every request an agent gets.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ClusterConfig } from './cluster-config';

/** `AGENT_KEY_FILE`'s content when set (a secret file wins over the variable), else `AGENT_KEY`. */
export function loadAgentKey(config: Pick<ClusterConfig, 'agentKey' | 'agentKeyFile'>): string {
	if (config.agentKeyFile) {
		let text: string;
		try {
			text = readFileSync(config.agentKeyFile, 'utf8').trim();
		} catch (error) {
			throw new Error(
				`Agent key file "${config.agentKeyFile}" is not readable (${(error as Error).message}): mount the secret or set AGENT_KEY`,
			);
		}
		if (text.length < 32) {
			throw new Error(
				`Agent key file "${config.agentKeyFile}" holds ${text.length} characters: expected at least 32`,
			);
		}
		return text;
	}
	if (!config.agentKey) throw new Error('AGENT_KEY or AGENT_KEY_FILE is required for this role');
	return config.agentKey;
}

/**
 * Whether a header carries the key. Both sides are hashed first, so the comparison takes the
 * same time whatever the given value's length.
 */
export function keyMatches(given: string | string[] | undefined, key: string): boolean {
	if (typeof given !== 'string') return false;
	const digest = (text: string) => createHash('sha256').update(text).digest();
	return timingSafeEqual(digest(given), digest(key));
}
