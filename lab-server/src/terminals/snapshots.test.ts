import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutputRing } from './output-ring';
import { KEPT_PER_LAB, loadSnapshot, saveSnapshot } from './snapshots';

let stateDir: string;
beforeEach(async () => {
	stateDir = await mkdtemp(path.join(tmpdir(), 'klab-snap-'));
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

const sizes = [
	{ from: 0, cols: 120, rows: 40 },
	{ from: 3, cols: 80, rows: 24 },
];

const ring = (text: string) => {
	const r = new OutputRing(1024);
	r.append(Buffer.from(text));
	return r;
};

describe('terminal snapshots', () => {
	it('gives back the ring and the holder offset it was saved with', async () => {
		const key = { labId: 'lab1', node: 'hap1', term: 'main' };
		await saveSnapshot(stateDir, key, ring('hello'), 4242, sizes);
		const loaded = await loadSnapshot(stateDir, key, 1024);
		expect(loaded?.holderEnd).toBe(4242);
		expect(loaded?.sizes).toEqual(sizes);
		expect(Buffer.from(loaded!.ring.since(0).data).toString()).toBe('hello');
	});

	it('keeps the ring but drops a size table that is out of range', async () => {
		const key = { labId: 'lab1', node: 'hap1', term: 'bad-sizes' };
		await saveSnapshot(stateDir, key, ring('kept'), 9, [{ from: 0, cols: 0, rows: 24 }]);
		const loaded = await loadSnapshot(stateDir, key, 1024);
		expect(loaded?.sizes).toEqual([]);
		expect(Buffer.from(loaded!.ring.since(0).data).toString()).toBe('kept');
	});

	it('reads a ring saved before sizes were kept', async () => {
		const key = { labId: 'lab1', node: 'hap1', term: 'v2' };
		const header = Buffer.alloc(24);
		header.write('KLRING2\0');
		header.writeBigUInt64BE(0n, 8);
		header.writeBigUInt64BE(77n, 16);
		await mkdir(path.join(stateDir, 'terminals/lab1'), { recursive: true });
		await writeFile(
			path.join(stateDir, 'terminals/lab1/hap1-v2.ring'),
			Buffer.concat([header, Buffer.from('older')]),
		);
		const loaded = await loadSnapshot(stateDir, key, 1024);
		expect([loaded?.holderEnd, loaded?.sizes]).toEqual([77, []]);
		expect(Buffer.from(loaded!.ring.since(0).data).toString()).toBe('older');
	});

	it('ignores a file of another format', async () => {
		const key = { labId: 'lab1', node: 'hap1', term: 'old' };
		await saveSnapshot(stateDir, key, ring('x'), 1, []);
		await writeFile(path.join(stateDir, 'terminals/lab1/hap1-old.ring'), 'KLRING1\0garbage');
		expect(await loadSnapshot(stateDir, key, 1024)).toBeUndefined();
	});

	it('keeps at most KEPT_PER_LAB per lab, the newest, whatever names a learner makes up', async () => {
		const dir = path.join(stateDir, 'terminals/lab1');
		for (let i = 0; i < KEPT_PER_LAB + 5; i++) {
			const key = { labId: 'lab1', node: 'hap1', term: `t${i}` };
			await saveSnapshot(stateDir, key, ring(`term ${i}`), i, []);
			// Distinct times, oldest first, whatever the file system's timestamp resolution.
			const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i));
			await utimes(path.join(dir, `hap1-t${i}.ring`), at, at);
		}
		const kept = await readdir(dir);
		expect(kept).toHaveLength(KEPT_PER_LAB);
		expect(kept).not.toContain('hap1-t0.ring');
		expect(kept).toContain(`hap1-t${KEPT_PER_LAB + 4}.ring`);
		// Another lab's are its own.
		await saveSnapshot(stateDir, { labId: 'lab2', node: 'hap1', term: 'main' }, ring('y'), 0, []);
		expect(await readdir(dir)).toHaveLength(KEPT_PER_LAB);
	});
});
