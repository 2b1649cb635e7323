import { once } from 'node:events';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock';
import {
	DIAL_MS,
	FLOOD_PAUSE_MS,
	FLOOD_PER_SECOND,
	MAX_UNVERIFIED,
	NONCE_MS,
	TerminalLinks,
} from './links';

const log = pino({ level: 'silent' });

function nonceFrame(nonce: string): Buffer {
	const head = Buffer.from([0x6e, 0, 0, 0, 0]);
	head.writeUInt32BE(nonce.length, 1);
	return Buffer.concat([head, Buffer.from(nonce, 'latin1')]);
}

/** Connects to the link; resolves once connected (or rejects: refused, no socket). */
async function connect(file: string): Promise<net.Socket> {
	const socket = net.connect(file);
	await once(socket, 'connect');
	return socket;
}

/** Whether the server closed `socket` (it sees 'close' after its end). */
function closedSoon(socket: net.Socket): Promise<boolean> {
	return new Promise((resolve) => {
		if (socket.destroyed) return resolve(true);
		socket.on('close', () => resolve(true));
		socket.on('error', () => undefined);
		socket.resume();
	});
}

describe('terminal links', () => {
	let dir: string;
	let file: string;
	let clock: ManualClock;
	let links: TerminalLinks;
	const open: net.Socket[] = [];

	beforeEach(async () => {
		dir = path.join(await mkdtemp(path.join(tmpdir(), 'klab-links-')), 'klab-lab0000000-hap1');
		await mkdir(dir);
		file = path.join(dir, 'link.sock');
		clock = new ManualClock(1_000_000);
		links = new TerminalLinks({ clock, log });
	});
	afterEach(async () => {
		for (const socket of open.splice(0)) socket.destroy();
		links.closeAll();
		await rm(path.dirname(dir), { recursive: true, force: true });
	});
	const dial = async () => {
		const socket = await connect(file);
		// The server closes the refused ones: a write after that fails, as it should.
		socket.on('error', () => undefined);
		open.push(socket);
		return socket;
	};

	it('hands over the connection that says the nonce, with what followed it, once', async () => {
		const expected = await links.expect(dir);
		expect((await stat(file)).mode & 0o777).toBe(0o666);
		const client = await dial();
		client.write(Buffer.concat([nonceFrame(expected.nonce), Buffer.from('after')]));
		const server = await expected.connection;
		server.resume();
		const [first] = (await once(server, 'data')) as [Buffer];
		expect(first.toString()).toBe('after');
		// The same nonce again is nobody's.
		const again = await dial();
		again.write(nonceFrame(expected.nonce));
		expect(await closedSoon(again)).toBe(true);
		expect(links.refused).toBe(1);
	});

	it('refuses a wrong nonce while one is pending, and still takes the right one', async () => {
		const expected = await links.expect(dir);
		const wrong = await dial();
		const guess = expected.nonce.replace(/^./, (c) => (c === '0' ? '1' : '0'));
		wrong.write(nonceFrame(guess));
		expect(await closedSoon(wrong)).toBe(true);
		const garbage = await dial();
		garbage.write(Buffer.alloc(4096, 0xff));
		expect(await closedSoon(garbage)).toBe(true);
		const upper = await dial();
		upper.write(nonceFrame(expected.nonce.toUpperCase().padEnd(32, 'G')));
		expect(await closedSoon(upper)).toBe(true);
		const right = await dial();
		right.write(nonceFrame(expected.nonce));
		await expect(expected.connection).resolves.toBeInstanceOf(net.Socket);
		expect(links.refused).toBe(3);
	});

	it('closes a connection that says nothing within NONCE_MS', async () => {
		await links.expect(dir);
		const silent = await dial();
		// Accepted: the server holds it as unverified.
		await new Promise((resolve) => setImmediate(resolve));
		const closed = closedSoon(silent);
		clock.advance(NONCE_MS);
		expect(await closed).toBe(true);
	});

	it(`keeps at most ${MAX_UNVERIFIED} unverified connections; more are closed at once`, async () => {
		const expected = await links.expect(dir);
		const waiting = await Promise.all(Array.from({ length: MAX_UNVERIFIED }, () => dial()));
		// Let the server accept them all before the next one.
		await new Promise((resolve) => setTimeout(resolve, 50));
		const extra = await dial();
		expect(await closedSoon(extra)).toBe(true);
		for (const socket of waiting) expect(socket.destroyed).toBe(false);
		// A waiting one with the right nonce still gets through.
		waiting[0]!.write(nonceFrame(expected.nonce));
		await expect(expected.connection).resolves.toBeInstanceOf(net.Socket);
	});

	it('closes a flooded socket for FLOOD_PAUSE_MS, then listens again', async () => {
		await links.expect(dir);
		for (let i = 0; i <= FLOOD_PER_SECOND; i++) {
			const socket = await dial().catch(() => null);
			socket?.write(nonceFrame('0'.repeat(32)));
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
		await expect(connect(file)).rejects.toThrow();
		clock.advance(FLOOD_PAUSE_MS);
		const expected = await waitForListening(() => links.expect(dir), file);
		const client = await dial();
		client.write(nonceFrame(expected.nonce));
		await expect(expected.connection).resolves.toBeInstanceOf(net.Socket);
	});

	it('a burst of attaches, each with its nonce, is no flood', async () => {
		for (let i = 0; i < FLOOD_PER_SECOND * 2; i++) {
			const expected = await links.expect(dir);
			const client = await dial();
			client.write(nonceFrame(expected.nonce));
			await expected.connection;
		}
		expect(links.refused).toBe(0);
	});

	it('gives up on an attach nobody dials back for within DIAL_MS', async () => {
		const expected = await links.expect(dir);
		clock.advance(DIAL_MS);
		await expect(expected.connection).rejects.toThrow(/did not dial back/);
	});

	it('a restarted server binds again over the socket file the last one left', async () => {
		links.closeAll();
		await writeFile(file, 'stale');
		links = new TerminalLinks({ clock, log });
		const expected = await links.expect(dir);
		const client = await dial();
		client.write(nonceFrame(expected.nonce));
		await expect(expected.connection).resolves.toBeInstanceOf(net.Socket);
	});

	it('a lab forgotten: its pending attaches fail, its socket is closed', async () => {
		const expected = await links.expect(dir);
		links.forgetLab('lab0000000');
		await expect(expected.connection).rejects.toThrow(/closed/);
		await expect(connect(file)).rejects.toThrow();
	});
});

/** `expect` once the socket accepts again (the pause's timer re-binds asynchronously). */
async function waitForListening<T>(make: () => Promise<T>, file: string): Promise<T> {
	for (let i = 0; i < 100; i++) {
		const ok = await connect(file).then(
			(s) => (s.destroy(), true),
			() => false,
		);
		if (ok) return make();
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
	throw new Error(`nothing listens at ${file}`);
}
