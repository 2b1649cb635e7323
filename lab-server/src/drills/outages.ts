/**
 * The downtime meter's probes turned into outages (pure, unit-tested): what one probe line says,
 * and when a run of failed probes is one outage.
 */
import type { Outage } from '../api';

export interface Probe {
	seq: number;
	/** Epoch milliseconds, by the client's clock (the host's: containers share the kernel). */
	sentAt: number;
	/** When the answer (or the failure) came. */
	doneAt: number;
	ok: boolean;
	/** The answering node's name when `ok`. */
	node: string | null;
}

/** One probe's line from the meter (the answering node's body is learner text); learner-text.test.ts. */
export const PROBE_LINE =
	/^(\d+) (\d{10,16}) (\d{10,16}) (?:ok ?([A-Za-z0-9_.-]*)|fail \d+(?: .*)?)$/;

/**
 * `12 1795623263473 1795623263479 ok hap1` or `13 1795623263579 1795623264581 fail 28`; null for
 * anything else.
 */
export function parseProbeLine(line: string): Probe | null {
	const match = PROBE_LINE.exec(line.trim());
	if (!match) return null;
	const ok = match[4] !== undefined && match[4] !== '';
	return {
		seq: Number(match[1]),
		sentAt: Number(match[2]),
		doneAt: Number(match[3]),
		ok,
		node: ok ? match[4]! : null,
	};
}

/**
 * Turns probes, in any order, into outages. Probes are taken in `seq` order; one that never
 * reports (the loop was killed mid-probe) is skipped once `maxPending` later ones are waiting.
 * An outage ends only when `settleProbes` probes in a row are answered: a service that flickers
 * while it goes down (haproxy's old worker still accepting as it stops, say) or while two nodes
 * both claim the VIP is one outage, not several.
 */
export class OutageDetector {
	#next = 0;
	#pending = new Map<number, Probe>();
	/** The last answered probe while the service was up. */
	#lastOk: Probe | null = null;
	/** The first failure of the outage under way, if any. */
	#firstFail: Probe | null = null;
	/** Answered probes in a row since the last failure of the outage under way. */
	#streak: Probe[] = [];
	#failed = 0;
	#last: Probe | null = null;
	/** When the service came up (or back) and has answered every probe since. */
	#upSince: number | null = null;
	readonly #maxPending: number;
	readonly #settleProbes: number;

	/**
	 * `maxPending` 60: six seconds of probes, well past the longest a probe takes to fail (about
	 * 3 s, a connect nobody answers); `settleProbes` 3: the service is back once it has answered
	 * for about 300 ms.
	 */
	constructor(options: { maxPending?: number; settleProbes?: number } = {}) {
		this.#maxPending = options.maxPending ?? 60;
		this.#settleProbes = options.settleProbes ?? 3;
	}

	push(probe: Probe): Outage[] {
		if (probe.seq < this.#next) return [];
		this.#pending.set(probe.seq, probe);
		const outages: Outage[] = [];
		for (;;) {
			let next = this.#pending.get(this.#next);
			if (!next && this.#pending.size > this.#maxPending) {
				this.#next = Math.min(...this.#pending.keys());
				next = this.#pending.get(this.#next);
			}
			if (!next) break;
			this.#pending.delete(this.#next);
			this.#next++;
			const outage = this.#take(next);
			if (outage) outages.push(outage);
		}
		return outages;
	}

	/** The latest probe taken in sequence order. */
	get last(): Probe | null {
		return this.#last;
	}

	/**
	 * When (the `sentAt` of a probe, epoch ms) the service came up or back, if every probe taken
	 * since was answered and no outage is under way; null while it is down or settling.
	 */
	get upSince(): number | null {
		return this.#upSince;
	}

	/** A new probe loop numbers from 0 again; what was seen before still counts as `before`. */
	reset(): void {
		this.#next = 0;
		this.#pending.clear();
	}

	#take(probe: Probe): Outage | null {
		this.#last = probe;
		if (!probe.ok) {
			this.#upSince = null;
			if (this.#lastOk && !this.#firstFail) this.#firstFail = probe;
			if (this.#firstFail) this.#failed++;
			this.#streak = [];
			return null;
		}
		const first = this.#firstFail;
		if (!first) {
			this.#lastOk = probe;
			this.#upSince ??= probe.sentAt;
			return null;
		}
		this.#streak.push(probe);
		if (this.#streak.length < this.#settleProbes) return null;
		const back = this.#streak[0]!;
		const outage: Outage = {
			startedAt: new Date(first.sentAt).toISOString(),
			endedAt: new Date(back.doneAt).toISOString(),
			ms: back.doneAt - first.sentAt,
			before: this.#lastOk!.node!,
			after: back.node!,
			failedProbes: this.#failed,
		};
		this.#lastOk = probe;
		this.#upSince = back.sentAt;
		this.#firstFail = null;
		this.#streak = [];
		this.#failed = 0;
		return outage;
	}
}
