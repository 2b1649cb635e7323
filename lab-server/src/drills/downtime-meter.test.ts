import { describe, expect, it } from 'vitest';
import { expectedOutageMs } from './theory';
import { OutageDetector, parseProbeLine, type Probe } from './outages';

const GUIDE = { advertInt: 2, priority: 100, fall: 2, interval: 1 };

function probes(start: number, pattern: string): Probe[] {
	// One character per probe, 100 ms apart: `1`/`2` answered by hap1/hap2, `x` failed.
	return [...pattern].map((c, i) => ({
		seq: start + i,
		sentAt: 1_000_000 + (start + i) * 100,
		doneAt: 1_000_000 + (start + i) * 100 + (c === 'x' ? 1_000 : 5),
		ok: c !== 'x',
		node: c === 'x' ? null : `hap${c}`,
	}));
}

describe('parseProbeLine', () => {
	it('reads answered and failed probes', () => {
		expect(parseProbeLine('12 1795623263473 1795623263479 ok hap1')).toEqual({
			seq: 12,
			sentAt: 1795623263473,
			doneAt: 1795623263479,
			ok: true,
			node: 'hap1',
		});
		expect(parseProbeLine('13 1795623263579 1795623264581 fail 28 \r')).toEqual({
			seq: 13,
			sentAt: 1795623263579,
			doneAt: 1795623264581,
			ok: false,
			node: null,
		});
	});

	it('treats an empty answer as a failure and refuses anything else', () => {
		expect(parseProbeLine('3 1795623263473 1795623263479 ok ')?.ok).toBe(false);
		for (const line of [
			'',
			'hello',
			'1 2 3 ok hap1',
			'1 1795623263473 1795623263479 maybe',
			'x 1795623263473 1795623263479 ok a',
		]) {
			expect(parseProbeLine(line), line).toBeNull();
		}
	});
});

describe('OutageDetector', () => {
	it('reports an outage from the first failure sent to the next answer received', () => {
		const detector = new OutageDetector();
		const outages = probes(0, '111xxxxx222').flatMap((p) => detector.push(p));
		expect(outages).toEqual([
			{
				startedAt: new Date(1_000_300).toISOString(),
				endedAt: new Date(1_000_805).toISOString(),
				ms: 505,
				before: 'hap1',
				after: 'hap2',
				failedProbes: 5,
			},
		]);
		expect(detector.last).toMatchObject({ seq: 10, node: 'hap2' });
	});

	it('puts probes that finish out of order back in order', () => {
		const detector = new OutageDetector();
		const all = probes(0, '11xxx111');
		// A failing probe waits for curl's timeout, so later probes report first.
		const order = [0, 1, 3, 5, 6, 7, 2, 4];
		const outages = order.flatMap((i) => detector.push(all[i]!));
		expect(outages).toHaveLength(1);
		expect(outages[0]).toMatchObject({ ms: 305, before: 'hap1', after: 'hap1', failedProbes: 3 });
	});

	it('does not count the time before anything ever answered', () => {
		const detector = new OutageDetector();
		expect(probes(0, 'xxxx11x111').flatMap((p) => detector.push(p))).toMatchObject([{ ms: 105 }]);
	});

	it('counts a flicker within an outage as part of it', () => {
		const detector = new OutageDetector();
		const outages = probes(0, '111xx1xx222').flatMap((p) => detector.push(p));
		expect(outages).toEqual([
			expect.objectContaining({ ms: 505, before: 'hap1', after: 'hap2', failedProbes: 4 }),
		]);
	});

	it('skips a probe that never reports once enough later ones wait', () => {
		const detector = new OutageDetector({ maxPending: 3 });
		const all = probes(0, '1x11111');
		const outages = [0, 2, 3, 4, 5, 6].flatMap((i) => detector.push(all[i]!));
		expect(outages).toEqual([]);
		expect(detector.last?.seq).toBe(6);
	});

	it('says since when the service has answered every probe, null while down or settling', () => {
		const detector = new OutageDetector();
		const all = probes(0, 'xx111x1122');
		const upSince = all.map((p) => (detector.push(p), detector.upSince));
		const at = (seq: number) => all[seq]!.sentAt;
		expect(upSince).toEqual([null, null, at(2), at(2), at(2), null, null, null, at(6), at(6)]);
	});

	it('starts numbering again after a reset, keeping who answered last', () => {
		const detector = new OutageDetector();
		probes(0, '11').forEach((p) => detector.push(p));
		detector.reset();
		const outages = probes(0, 'x222').flatMap((p) => detector.push(p));
		expect(outages).toMatchObject([{ before: 'hap1', after: 'hap2' }]);
	});
});

describe('expectedOutageMs', () => {
	it('gives fall × interval + skew for a stopped haproxy', () => {
		const expected = expectedOutageMs('stop-haproxy', GUIDE);
		expect(expected.ms).toBe(2609);
		expect(expected.range).toEqual([1609, 2609]);
		expect(expected.explanation).toMatchInlineSnapshot(
			`"Скрипт chk_haproxy проверяет haproxy раз в 1,0 с и должен упасть 2 раза подряд (до 2,0 с); тогда узел уходит в FAULT и шлёт объявление с приоритетом 0, и резервный узел становится MASTER через (256 − 100)/256 = 0,6 с. Итого около 2,6 с."`,
		);
	});

	it('gives the master-down interval for a frozen or cut-off master', () => {
		for (const drill of ['freeze-node', 'cut-network'] as const) {
			const expected = expectedOutageMs(drill, GUIDE);
			expect(expected.ms).toBe(6609);
			expect(expected.range).toEqual([4609, 6609]);
		}
		expect(expectedOutageMs('freeze-node', { ...GUIDE, advertInt: 1, priority: 200 }).ms).toBe(
			3219,
		);
	});

	it('expects no outage where the drill makes a split brain or a log line', () => {
		for (const drill of ['kill-keepalived', 'block-vrrp', 'vrid-conflict'] as const) {
			expect(expectedOutageMs(drill, GUIDE)).toMatchObject({ ms: 0, range: null });
		}
		expect(expectedOutageMs('kill-keepalived', GUIDE).explanation).toContain('split brain');
		expect(expectedOutageMs('restore', GUIDE).ms).toBeNull();
	});
});
