/**
 * Who holds how many labs: per browser session (`MAX_LABS_PER_CLIENT`) and, when configured,
 * per address (`MAX_LABS_PER_IP`), labs still starting included — parallel requests must not
 * slip past a cap because none of them has finished booting yet.
 */
import { HttpError } from '../http/errors';
import type { Lab } from './lab';

export class LabOwnership {
	/** Labs starting now, by owning session. */
	#starting = new Map<string, { ip: string | null }[]>();
	#limits: { perClient: number; perIp: number };

	constructor(limits: { perClient: number; perIp: number }) {
		this.#limits = limits;
	}

	/** Labs starting now, over everyone. */
	get starting(): number {
		let count = 0;
		for (const list of this.#starting.values()) count += list.length;
		return count;
	}

	/** 429 when the session, or (with `MAX_LABS_PER_IP`) the address, holds its share already. */
	check(running: readonly Lab[], sessionHash: string, ip: string | null): void {
		const mine =
			running.filter((lab) => lab.ownerHash === sessionHash).length +
			(this.#starting.get(sessionHash)?.length ?? 0);
		if (mine >= this.#limits.perClient) {
			throw new HttpError(
				429,
				'too-many-labs',
				`У вас уже есть стендов: ${mine}. Завершите один из них, прежде чем запускать новый.`,
			);
		}
		if (this.#limits.perIp > 0 && ip !== null) {
			const fromIp =
				running.filter((lab) => lab.clientIp === ip).length +
				[...this.#starting.values()].flat().filter((s) => s.ip === ip).length;
			if (fromIp >= this.#limits.perIp) {
				throw new HttpError(
					429,
					'too-many-labs-per-address',
					`С вашего адреса уже запущено стендов: ${fromIp}, больше нельзя. Завершите один из них.`,
				);
			}
		}
	}

	/** Counts a lab as starting for `sessionHash` until the returned function is called. */
	starts(sessionHash: string, ip: string | null): () => void {
		const entry = { ip };
		this.#starting.set(sessionHash, [...(this.#starting.get(sessionHash) ?? []), entry]);
		return () => {
			const left = (this.#starting.get(sessionHash) ?? []).filter((s) => s !== entry);
			if (left.length) this.#starting.set(sessionHash, left);
			else this.#starting.delete(sessionHash);
		};
	}
}
