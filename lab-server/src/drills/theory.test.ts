import { describe, expect, it } from 'vitest';
import { expectedOutageMs, masterDownMs } from './theory';

describe('masterDownMs', () => {
	it('is 3 × advert_int + (256 − priority)/256 s: 6.61 s with the guide’s advert_int 2, priority 100', () => {
		expect(masterDownMs({ advertInt: 2, priority: 100 })).toBeCloseTo(6609.4, 1);
	});

	it('is the upper end of a frozen master’s outage', () => {
		const config = { advertInt: 2, priority: 100, fall: 2, interval: 1 };
		expect(expectedOutageMs('freeze-node', config).ms).toBe(Math.round(masterDownMs(config)));
	});
});
