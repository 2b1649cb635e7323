import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock';
import type { Lab } from './lab';
import { LabReaper } from './reaping';

describe('LabReaper', () => {
	it('starts no round after stop(), even when stopped while a round is under way', async () => {
		const clock = new ManualClock(0);
		const lab = { id: 'l1', status: 'running', expiresAt: 1, lastActivity: 0 } as unknown as Lab;
		let ending: (() => void) | null = null;
		let rounds = 0;
		const reaper = new LabReaper({
			labs: {
				list: () => {
					rounds++;
					return [lab];
				},
				isBusy: () => false,
				exclusive: async (_lab, _what, run) => run(),
				stop: async () => undefined,
				end: () => new Promise<void>((resolve) => (ending = resolve)),
			},
			clock,
			config: { labIdleMs: 60_000, labKeepMs: 0, labKeepDiskMb: 0 },
			log: pino({ level: 'silent' }),
			isAttached: () => false,
		});
		reaper.start();
		clock.advance(15_000);
		expect(rounds).toBe(1);
		expect(ending).not.toBeNull();
		reaper.stop();
		ending!();
		await new Promise((resolve) => setImmediate(resolve));
		clock.advance(60_000);
		expect(rounds).toBe(1);
	});
});
