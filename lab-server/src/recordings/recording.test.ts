import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock';
import { parseCast } from '../../testing/asciicast';
import { OutputDecoder } from './asciicast';
import { MARKER_RESERVE, STOPPED_MARKER } from './recording';
import { FILES_PER_LAB, RecordingStore } from './store';

let stateDir: string;
let clock: ManualClock;
beforeEach(async () => {
	stateDir = await mkdtemp(path.join(tmpdir(), 'klab-rec-'));
	clock = new ManualClock(1_700_000_000_000);
});
/** Every store a test made: their open files are closed after it (Node 26 fails a test run on a
 * FileHandle left to the garbage collector). */
let stores: RecordingStore[] = [];
afterEach(async () => {
	await Promise.all(stores.map((s) => s.removeLabs(['lab0000001', 'lab0000002'])));
	stores = [];
	await rm(stateDir, { recursive: true, force: true });
});

const key = { labId: 'lab0000001', node: 'hap1', term: 'main' };
const store = (fileBytes = 1 << 20, labBytes = 8 << 20) => {
	const s = new RecordingStore({
		stateDir,
		clock,
		log: pino({ level: 'silent' }),
		fileBytes,
		labBytes,
	});
	stores.push(s);
	return s;
};
const castOf = async (s: RecordingStore, k = key) =>
	parseCast(await readFile((await s.file(k))!.path, 'utf8'));

describe('terminal recordings', () => {
	it('writes a header, output, resizes and markers as asciicast v2 lines', async () => {
		const s = store();
		const rec = (await s.open(key, 80, 24))!;
		clock.advance(1500);
		rec.output(Buffer.from('hello\r\n'));
		rec.resize(80, 24); // the same size: nothing
		rec.resize(100, 30);
		s.mark(key.labId, 'Шаг 1. "Установка"\n\x1b[31m');
		const cast = await castOf(s);
		expect(cast.header).toMatchObject({
			version: 2,
			width: 80,
			height: 24,
			timestamp: 1_700_000_000,
		});
		expect(cast.events).toEqual([
			[1.5, 'o', 'hello\r\n'],
			[1.5, 'r', '100x30'],
			// Quotes, a newline and an escape stay inside the one JSON string of the marker.
			[1.5, 'm', 'Шаг 1. "Установка"\n\x1b[31m'],
		]);
	});

	it('puts a UTF-8 character split across two batches back together', () => {
		const decoder = new OutputDecoder();
		const bytes = Buffer.from('ёж', 'utf8');
		expect(decoder.decode(bytes.subarray(0, 1))).toBe('');
		expect(decoder.decode(bytes.subarray(1, 3))).toBe('ё');
		expect(decoder.decode(bytes.subarray(3))).toBe('ж');
	});

	it('stops at its cap with one marker, drops the rest and stays under the cap', async () => {
		const cap = 4096;
		const s = store(cap);
		const rec = (await s.open(key, 80, 24))!;
		for (let i = 0; i < 1000; i++) rec.output(Buffer.from('y\n'.repeat(50)));
		s.mark(key.labId, 'after the cap');
		await rec.flushed();
		const size = (await s.file(key))!.bytes;
		expect(size).toBeLessThanOrEqual(cap);
		expect(size).toBeGreaterThan(cap - MARKER_RESERVE - 200);
		const cast = await castOf(s);
		const markers = cast.events.filter(([, code]) => code === 'm').map(([, , label]) => label);
		expect(markers).toEqual([STOPPED_MARKER]);
		expect(cast.events.at(-1)?.[2]).toBe(STOPPED_MARKER);
	});

	it('shares the lab budget between terminals, so new names cannot grow it', async () => {
		const s = store(1 << 20, 8192);
		const names = ['a', 'b', 'c', 'd'];
		for (const term of names) {
			const rec = (await s.open({ ...key, term }, 80, 24))!;
			rec.output(Buffer.from('x'.repeat(3000)));
			await s.close({ ...key, term }, rec);
		}
		const total = (await s.list(key.labId)).reduce((sum, r) => sum + r.bytes, 0);
		// Each header is written before the budget is asked; the events stay within it.
		expect(total).toBeLessThanOrEqual(8192 + names.length * (200 + MARKER_RESERVE));
		const last = await castOf(s, { ...key, term: 'd' });
		expect(last.events.map(([, , data]) => data)).toEqual([STOPPED_MARKER]);
	});

	it("starts no recording past the lab's files or budget", async () => {
		const s = store(1 << 20, 8 << 20);
		for (let i = 0; i < FILES_PER_LAB; i++) {
			const term = `t${i}`;
			await s.close({ ...key, term }, (await s.open({ ...key, term }, 80, 24))!);
		}
		expect(await s.open({ ...key, term: 'one-more' }, 80, 24)).toBeUndefined();
		expect(await s.open({ ...key, term: 't0' }, 80, 24)).toBeDefined();
		const other = { ...key, labId: 'lab0000002' };
		const full = store(1 << 20, 300);
		const first = (await full.open(other, 80, 24))!;
		first.output(Buffer.from('x'.repeat(200)));
		expect(await full.open({ ...other, term: 'second' }, 80, 24)).toBeUndefined();
	});

	it('continues a reopened file with its time going on, and cuts a line a crash left half', async () => {
		const first = store();
		const rec = (await first.open(key, 80, 24))!;
		rec.output(Buffer.from('before\r\n'));
		await first.close(key, rec);
		const file = path.join(stateDir, 'recordings', key.labId, 'hap1-main.cast');
		await writeFile(file, (await readFile(file, 'utf8')) + '[3.0, "o", "half', { flag: 'w' });
		clock.advance(60_000);
		const again = store();
		const reopened = (await again.open(key, 120, 40))!;
		reopened.resize(120, 40);
		reopened.output(Buffer.from('after\r\n'));
		const cast = await castOf(again);
		expect(cast.header.timestamp).toBe(1_700_000_000);
		expect(cast.events).toEqual([
			[0, 'o', 'before\r\n'],
			[60, 'r', '120x40'],
			[60, 'o', 'after\r\n'],
		]);
	});

	it('lists recordings and removes a lab, and refuses names that are not a terminal', async () => {
		const s = store();
		const rec = (await s.open(key, 80, 24))!;
		rec.output(Buffer.from('x'));
		expect(await s.list(key.labId)).toEqual([
			{
				node: 'hap1',
				term: 'main',
				bytes: expect.any(Number),
				startedAt: '2023-11-14T22:13:20.000Z',
			},
		]);
		expect(await s.file({ ...key, term: '../../x' })).toBeUndefined();
		expect(await s.file({ ...key, node: '../hap1' })).toBeUndefined();
		await s.removeLab(key.labId);
		expect(await readdir(path.join(stateDir, 'recordings'))).toEqual([]);
		rec.output(Buffer.from('after removal: dropped, no throw'));
	});
});
