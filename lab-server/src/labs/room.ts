/**
 * Room for one more running lab on this host: the host's health (host-health.ts) and a free /24
 * of the subnet pool. Stopped labs take disk and keep their subnet; when either runs out, the
 * longest-stopped of them are removed first (`evict`) — a running lab is never taken.
 */
import type Docker from 'dockerode';
import { HttpError } from '../http/errors';
import type { Lab } from './lab';
import { longestStoppedFirst } from './lifetime';
import { freeSubnetIndex } from './placement';
import type { SubnetPool } from './subnets';

export interface RoomContext {
	docker: Docker;
	pool: SubnetPool;
	labs: () => Lab[];
	isBusy: (labId: string) => boolean;
	/** Removes a stopped lab for room. */
	evict: (lab: Lab) => Promise<void>;
	/** What is low on the host now; nothing starts while anything is. */
	hostProblems?: () => Promise<{ code: string; message: string }[]>;
}

/** Resolves when the host is healthy; low on disk, stopped labs go first; else 503. */
export async function roomOnHost(ctx: RoomContext): Promise<void> {
	for (;;) {
		const [problem] = (await ctx.hostProblems?.()) ?? [];
		if (!problem) return;
		const oldest = nextToEvict(ctx);
		if (problem.code !== 'host-low-on-disk' || !oldest) {
			throw new HttpError(503, problem.code, problem.message);
		}
		await ctx.evict(oldest);
	}
}

/**
 * The first free /24 of the pool — not used by any Docker network, any lab or `reserved` (labs
 * starting now) — added to `reserved` (the caller lets go of it once its lab is registered or
 * gone); when none is free, stopped labs give theirs up; else 503. Labs starting together each
 * get their own: the choice is checked again after Docker's answer, and reserved at once.
 */
export async function freeSubnet(ctx: RoomContext, reserved: Set<number>): Promise<number> {
	for (;;) {
		const taken = () => new Set([...reserved, ...ctx.labs().map((lab) => lab.addresses.index)]);
		try {
			const index = await freeSubnetIndex(ctx.docker, ctx.pool, taken());
			// Another lab may have reserved it while Docker answered: look again.
			if (taken().has(index)) continue;
			reserved.add(index);
			return index;
		} catch (error) {
			const oldest = nextToEvict(ctx);
			if (!oldest) throw error;
			await ctx.evict(oldest);
		}
	}
}

function nextToEvict(ctx: RoomContext): Lab | undefined {
	return longestStoppedFirst(ctx.labs()).find((lab) => !ctx.isBusy(lab.id));
}
