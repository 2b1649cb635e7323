/** All terminal sessions of the server, by lab / node / term. */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock';
import { TerminalLinks } from './links';
import { TERMINAL_DEFAULTS, type TerminalOptions } from './options';
import { TerminalSession } from './session';
import { loadSnapshot, removeLabSnapshots, type SessionKey } from './snapshots';
import type { Recording } from '../recordings/recording';
import type { RecordingStore } from '../recordings/store';

export class TerminalRegistry {
	#sessions = new Map<string, TerminalSession>();
	#starting = new Map<string, Promise<TerminalSession>>();
	/** The sockets the nodes' terminals dial back to (links.ts). */
	readonly links: TerminalLinks;

	constructor(
		private readonly deps: {
			docker: Docker;
			clock: Clock;
			log: Logger;
			stateDir: string;
			options?: Partial<TerminalOptions>;
			/** A shell's command ended (its mark in the output): see session.ts. */
			onCommandFinished?: (key: SessionKey, status: number | null) => void;
			/** Where terminals are recorded; none: not recorded (`RECORDINGS=0`). */
			recordings?: RecordingStore;
		},
	) {
		this.links = new TerminalLinks({ clock: deps.clock, log: deps.log });
	}

	/** Each session's recording, closed (its file kept) when the session goes. */
	#recordings = new WeakMap<TerminalSession, Recording>();

	/** The session for `key`, started (or re-attached after a restart) if there is none yet. */
	async open(key: SessionKey, containerId: string, cols: number, rows: number) {
		const id = keyOf(key);
		const existing = this.#sessions.get(id);
		if (existing) return existing;
		const starting = this.#starting.get(id);
		if (starting) return starting;
		const promise = this.#start(key, containerId, cols, rows).finally(() =>
			this.#starting.delete(id),
		);
		this.#starting.set(id, promise);
		return promise;
	}

	get(key: SessionKey): TerminalSession | undefined {
		return this.#sessions.get(keyOf(key));
	}

	/** Terminals of a lab, open or starting (starting ones count: a burst of HELLOs must not slip past). */
	countForLab(labId: string): number {
		let count = 0;
		for (const id of this.#starting.keys()) if (id.startsWith(`${labId}/`)) count++;
		for (const session of this.#sessions.values()) if (session.key.labId === labId) count++;
		return count;
	}

	anyAttached(labId: string): boolean {
		for (const session of this.#sessions.values()) {
			if (session.key.labId === labId && session.attached) return true;
		}
		return false;
	}

	forLab(labId: string, node?: string): TerminalSession[] {
		return [...this.#sessions.values()].filter(
			(s) => s.key.labId === labId && (node === undefined || s.key.node === node),
		);
	}

	/** Forgets a lab's or a node's sessions (their containers are going away) and their snapshots. */
	async drop(labId: string, node?: string): Promise<void> {
		await this.#suspend(labId, node);
		// A node reset keeps its container's name, so its link directory and socket.
		if (node === undefined) this.links.forgetLab(labId);
		await removeLabSnapshots(this.deps.stateDir, labId, node);
	}

	/**
	 * A lab stopping with its files kept: its sessions' rings saved for when it runs again (its
	 * shells end with its nodes; the next one starts after a line saying so).
	 */
	suspendLab(labId: string): Promise<void> {
		return this.#suspend(labId);
	}

	async #suspend(labId: string, node?: string): Promise<void> {
		for (const session of this.forLab(labId, node)) {
			await session.suspend();
			this.#sessions.delete(keyOf(session.key));
			await this.#closeRecording(session);
		}
	}

	/** Server stopping: every ring saved, every shell left running. */
	async suspendAll(): Promise<void> {
		await Promise.all(
			[...this.#sessions.values()].map(async (s) => {
				await s.suspend();
				await this.#closeRecording(s);
			}),
		);
		this.#sessions.clear();
		this.links.closeAll();
	}

	async #start(key: SessionKey, containerId: string, cols: number, rows: number) {
		const options = { ...TERMINAL_DEFAULTS, ...this.deps.options };
		const snapshot = await loadSnapshot(this.deps.stateDir, key, options.ringBytes);
		const saved = snapshot && {
			...snapshot,
			holderGone: (await nodeStartedAt(this.deps.docker, containerId)) > snapshot.savedAt,
		};
		const recording = await this.deps.recordings?.open(key, cols, rows);
		const session = new TerminalSession(
			key,
			{
				docker: this.deps.docker,
				containerId,
				links: this.links,
				clock: this.deps.clock,
				log: this.deps.log,
				options,
				stateDir: this.deps.stateDir,
				onGone: (s) => {
					if (this.#sessions.get(keyOf(s.key)) === s) this.#sessions.delete(keyOf(s.key));
					void this.#closeRecording(s);
				},
				...(this.deps.onCommandFinished ? { onCommandFinished: this.deps.onCommandFinished } : {}),
				...(recording ? { recording } : {}),
			},
			saved,
		);
		if (recording) this.#recordings.set(session, recording);
		await session.start(cols, rows).catch(async (error: unknown) => {
			await this.#closeRecording(session);
			throw error;
		});
		this.#sessions.set(keyOf(key), session);
		return session;
	}

	async #closeRecording(session: TerminalSession): Promise<void> {
		const recording = this.#recordings.get(session);
		this.#recordings.delete(session);
		if (recording) await this.deps.recordings?.close(session.key, recording);
	}
}

function keyOf(key: SessionKey): string {
	return `${key.labId}/${key.node}/${key.term}`;
}

/** When the node's container last started (epoch ms); 0 if Docker cannot say. */
async function nodeStartedAt(docker: Docker, containerId: string): Promise<number> {
	const info = await docker
		.getContainer(containerId)
		.inspect()
		.catch(() => null);
	return Date.parse(info?.State.StartedAt ?? '') || 0;
}
