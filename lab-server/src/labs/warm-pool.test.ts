import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock';
import { newLab, type Lab } from './lab';
import { labAddresses, parsePool } from './subnets';
import { WarmPools, type WarmPool, type WarmPoolsDeps } from './warm-pool';

/** Labs that boot when the test says so: `boot()` finishes the oldest start. */
function fakeLabs(maxLabs: number) {
	const labs = new Map<string, Lab>();
	const booting: { owner: string; finish: () => void; fail: () => void }[] = [];
	const ended: string[] = [];
	let next = 1;
	const api: WarmPoolsDeps['labs'] = {
		create: (owner) =>
			new Promise((resolve, reject) => {
				booting.push({
					owner: owner.sessionHash,
					finish: () => {
						const id = `lab${next++}`;
						const lab = newLab({
							id,
							addresses: labAddresses(parsePool('10.129.0.0/16'), next),
							tokenHash: 'a'.repeat(64),
							ownerHash: owner.sessionHash,
							clientIp: null,
							workshop: owner.workshop ?? null,
							createdAt: 0,
							expiresAt: 1,
							idleSince: 0,
							halted: {},
							containers: { hap1: 'c1', hap2: 'c2' },
						});
						labs.set(id, lab);
						resolve({ lab, token: `token-${id}` });
					},
					fail: () => reject(new Error('docker said no')),
				});
			}),
		end: async (lab) => {
			labs.delete(lab.id);
			ended.push(lab.id);
		},
		get: (labId) => labs.get(labId),
		get load() {
			return labs.size + booting.length;
		},
	};
	return {
		api,
		labs,
		booting,
		ended,
		async boot(count = 1) {
			for (let i = 0; i < count; i++) booting.shift()?.finish();
			// Let the pool's promise callbacks run.
			for (let i = 0; i < 10; i++) await Promise.resolve();
		},
		maxLabs,
	};
}

function pool(owner: string, wanted: number, over: Partial<WarmPool> = {}): WarmPool {
	return {
		owner,
		workshop: null,
		ready: new Map(),
		starting: 0,
		wanted: () => wanted,
		isOpen: () => true,
		yieldsToLoad: false,
		onReady: async () => {},
		...over,
	};
}

function setup(pools: WarmPool[], options: { maxLabs?: number; busy?: () => boolean } = {}) {
	const clock = new ManualClock(0);
	const labs = fakeLabs(options.maxLabs ?? 40);
	const warm = new WarmPools({
		labs: labs.api,
		config: { maxLabs: labs.maxLabs },
		clock,
		log: pino({ level: 'silent' }),
		pools: () => pools,
		hostBusy: options.busy ?? (() => false),
	});
	return { clock, labs, warm };
}

describe('warm pools', () => {
	it('fill every pool to what it wants, three labs booting at a time over all of them', async () => {
		const a = pool('warm', 2);
		const b = pool('workshop:w1', 3, { workshop: 'w1' });
		const { labs, warm } = setup([b, a]);
		warm.refill();
		expect(labs.booting.map((x) => x.owner)).toEqual(['workshop:w1', 'workshop:w1', 'workshop:w1']);
		await labs.boot(3);
		expect(b.ready.size).toBe(3);
		expect(b.starting).toBe(0);
		expect(labs.booting.map((x) => x.owner)).toEqual(['warm', 'warm']);
		await labs.boot(2);
		expect(a.ready.size).toBe(2);
		expect(labs.booting).toHaveLength(0);
		// A lab of the pool's own, from its owner, handed over with the token it booted with.
		expect([...b.ready.values()].every((token) => token.startsWith('token-'))).toBe(true);
	});

	it('never boot past MAX_LABS, and try again later', async () => {
		const a = pool('warm', 5);
		const { clock, labs, warm } = setup([a], { maxLabs: 2 });
		warm.refill();
		expect(labs.booting).toHaveLength(2);
		await labs.boot(2);
		expect(a.ready.size).toBe(2);
		// A lab goes: the retry finds room.
		labs.labs.delete([...labs.labs.keys()][0]!);
		clock.advance(10_000);
		expect(labs.booting).toHaveLength(1);
	});

	it('hand a ready lab over once, skip one that is gone, and refill when asked', async () => {
		const a = pool('warm', 2);
		const { labs, warm } = setup([a]);
		warm.refill();
		await labs.boot(2);
		const [first, second] = [...a.ready.keys()];
		labs.labs.delete(first!);
		const taken = warm.take(a);
		expect(taken?.lab.id).toBe(second);
		expect(taken?.token).toBe(`token-${second}`);
		expect(a.ready.size).toBe(0);
		expect(warm.take(a)).toBeNull();
		expect(labs.booting).toHaveLength(0);
		warm.refill();
		expect(labs.booting).toHaveLength(2);
	});

	it('let a pool that yields to load boot one lab at a time, wait while the host is busy, and not forever', async () => {
		let busy = true;
		const a = pool('warm', 2, { yieldsToLoad: true });
		const w = pool('workshop:w1', 1, { workshop: 'w1' });
		const { clock, labs, warm } = setup([w, a], { busy: () => busy });
		warm.refill();
		// The workshop's class is waiting: its lab boots at once; the public pool waits.
		expect(labs.booting.map((x) => x.owner)).toEqual(['workshop:w1']);
		await labs.boot();
		clock.advance(2_000);
		expect(labs.booting).toHaveLength(0);
		busy = false;
		clock.advance(2_000);
		// Nobody waits for it: one lab at a time.
		expect(labs.booting.map((x) => x.owner)).toEqual(['warm']);
		await labs.boot();
		expect(labs.booting.map((x) => x.owner)).toEqual(['warm']);
		await labs.boot();
		expect(a.ready.size).toBe(2);

		// Busy for good: after 30 s of waiting one boots anyway, then it waits again.
		busy = true;
		warm.take(a);
		warm.refill();
		expect(labs.booting).toHaveLength(0);
		clock.advance(28_000);
		expect(labs.booting).toHaveLength(0);
		clock.advance(4_000);
		expect(labs.booting).toHaveLength(1);
	});

	it('end a lab that finished booting for a pool that closed meanwhile, and retry a failed start', async () => {
		let open = true;
		const a = pool('workshop:w1', 1, { workshop: 'w1', isOpen: () => open });
		const { clock, labs, warm } = setup([a]);
		warm.refill();
		open = false;
		await labs.boot();
		expect(labs.ended).toEqual(['lab1']);
		expect(a.ready.size).toBe(0);

		open = true;
		labs.booting.shift()?.fail();
		for (let i = 0; i < 10; i++) await Promise.resolve();
		// A failed start is retried 10 s later, not at once (no loop against a broken Docker).
		warm.refill();
		expect(labs.booting).toHaveLength(0);
		clock.advance(9_000);
		expect(labs.booting).toHaveLength(0);
		clock.advance(1_000);
		expect(labs.booting).toHaveLength(1);
		await labs.boot();
		expect(a.ready.size).toBe(1);
	});

	it('stop refilling on close, and wait for the labs still booting', async () => {
		const a = pool('warm', 1);
		const { labs, warm } = setup([a]);
		warm.refill();
		let closed = false;
		const closing = warm.close().then(() => (closed = true));
		await Promise.resolve();
		expect(closed).toBe(false);
		await labs.boot();
		await closing;
		expect(a.ready.size).toBe(1);
		a.ready.clear();
		warm.refill();
		expect(labs.booting).toHaveLength(0);
	});
});
