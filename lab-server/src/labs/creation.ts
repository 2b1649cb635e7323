/**
 * New labs: the caps a lab must pass before it starts (`MAX_LABS`, the session's and the
 * address's share), room on the host and a free /24 (room.ts), the plan Docker provisions
 * (docker/provision.ts), and a pool's lab handed over to a learner (`claim`). Labs still starting
 * count against the caps as running ones do — from before the first await, so parallel requests
 * see each other — and are saved as `creating`, so a killed server's half labs go at the next
 * start. What is created is registered by the manager (manager.ts).
 */
import { terminalLinkRoot } from '../config/config';
import { BootYield, type Typing } from '../docker/boot-yield';
import type { BootPriority } from '../docker/nodes';
import { provisionLab, type LabPlan } from '../docker/provision';
import { HttpError } from '../http/errors';
import { sha256 } from '../lib/hash';
import { newId, newToken } from '../lib/ids';
import { labIdPrefix } from '../cluster/agent-id';
import type { Lab, LabFields } from './lab';
import { labLabels, type LabIdentity } from './labels';
import type { LabManagerDeps } from './manager';
import { LabOwnership } from './ownership';
import { nodeLimits } from './placement';
import { freeSubnet, roomOnHost, type RoomContext } from './room';
import { labAddresses } from './subnets';

/** Whom a new lab is for. */
export interface LabOwner {
	sessionHash: string;
	/** The client's address, for `MAX_LABS_PER_IP`; null when unknown. */
	ip?: string | null;
	workshop?: string;
	/** Booted for a pool (warm-pool.ts): no learner's caps apply. */
	pooled?: boolean;
}

export interface CreationContext extends Pick<
	LabManagerDeps,
	'docker' | 'config' | 'clock' | 'log' | 'image' | 'storageQuota'
> {
	/** This server's id on its labs' labels (labels.ts). */
	serverId: string;
	/** Keystrokes on this server: the public pool's boots give way to them. */
	typing: Typing;
	room: RoomContext;
	/** Labs running or starting (not stopped): what the caps count. */
	running: () => Lab[];
	/** Takes a provisioned lab in: the manager's from now on. */
	register: (fields: LabFields) => Lab;
	save: () => Promise<void>;
}

export class LabCreation {
	#reserved = new Set<number>();
	/** Labs being created: id → creation time (saved, so a killed server's half labs go). */
	#creating = new Map<string, number>();
	#owners: LabOwnership;
	#ctx: CreationContext;

	constructor(ctx: CreationContext) {
		this.#ctx = ctx;
		this.#owners = new LabOwnership({
			perClient: ctx.config.maxLabsPerClient,
			perIp: ctx.config.maxLabsPerIp,
		});
	}

	/** Labs running or starting (stopped ones take disk only), against `MAX_LABS`. */
	get load(): number {
		return this.#ctx.running().length + this.#owners.starting;
	}

	/** The labs being created now, id → creation time, for the saved state (store.ts). */
	creating(): Iterable<[string, number]> {
		return this.#creating.entries();
	}

	/** 429 when the session, or (with `MAX_LABS_PER_IP`) the address, holds its share already. */
	checkOwnerCaps(sessionHash: string, ip: string | null): void {
		this.#owners.check(this.#ctx.running(), sessionHash, ip);
	}

	/** Creates a lab for `owner` and registers it; resolves once both nodes have booted. */
	async create(owner: LabOwner): Promise<{ lab: Lab; token: string }> {
		const { config, clock, docker, log } = this.#ctx;
		if (this.load >= config.maxLabs) {
			throw new HttpError(
				503,
				'no-capacity',
				'Свободных стендов сейчас нет: все места заняты. Попробуйте через несколько минут.',
			);
		}
		const ip = owner.ip ?? null;
		if (!owner.pooled) this.checkOwnerCaps(owner.sessionHash, ip);
		// Counted as starting before the first await: parallel requests see each other.
		const started = this.#owners.starts(owner.sessionHash, ip);
		let index: number | null = null;
		let id: string | null = null;
		try {
			await roomOnHost(this.#ctx.room);
			index = await freeSubnet(this.#ctx.room, this.#reserved);
			const token = newToken();
			const identity: LabIdentity = {
				index,
				tokenHash: sha256(token),
				ownerHash: owner.sessionHash,
				createdAt: clock.now(),
				workshop: owner.workshop ?? null,
			};
			id = newId(labIdPrefix());
			this.#creating.set(id, identity.createdAt);
			await this.#ctx.save();
			const plan: LabPlan = {
				...this.plan(id, identity, owner.pooled ? 'background' : 'now'),
				// Nobody waits for the public pool's lab (a workshop's instructor does): its boot
				// gives way to the learners typing.
				yieldTo: owner.pooled && !owner.workshop ? new BootYield(this.#ctx.typing, clock) : null,
			};
			const provisioned = await provisionLab(docker, plan).catch((error: unknown) => {
				log.error({ labId: id, err: error }, 'lab start failed');
				throw new HttpError(
					500,
					'lab-start-failed',
					'Не удалось запустить стенд. Попробуйте ещё раз через минуту.',
					{ cause: error },
				);
			});
			this.#creating.delete(id);
			const lab = this.#ctx.register({
				id,
				addresses: plan.addresses,
				tokenHash: identity.tokenHash,
				ownerHash: identity.ownerHash,
				clientIp: ip,
				workshop: identity.workshop,
				createdAt: identity.createdAt,
				expiresAt: identity.createdAt + config.labTtlMs,
				idleSince: identity.createdAt,
				halted: {},
				containers: provisioned.containers,
			});
			await this.#ctx.save();
			log.info({ labId: id, subnet: plan.addresses.subnet, ms: provisioned.bootMs }, 'lab ready');
			return { lab, token };
		} finally {
			started();
			if (index !== null) this.#reserved.delete(index);
			if (id !== null && this.#creating.delete(id)) await this.#ctx.save();
		}
	}

	/**
	 * A pool's lab handed to a learner (warm-labs.ts): theirs from now on, opened by a token made
	 * now (nobody held one for it before), living a TTL from now. Returns the token.
	 */
	async claim(lab: Lab, owner: { sessionHash: string; ip: string | null }): Promise<string> {
		const { clock, config } = this.#ctx;
		const token = newToken();
		const now = clock.now();
		Object.assign(lab, {
			tokenHash: sha256(token),
			ownerHash: owner.sessionHash,
			clientIp: owner.ip,
			startedAt: now,
			expiresAt: now + config.labTtlMs,
			idleSince: now,
		});
		lab.events.emit('lab', { expiresAt: new Date(lab.expiresAt).toISOString() });
		await this.#ctx.save();
		return token;
	}

	/**
	 * What Docker builds for a lab (a new one, or a node of it reset). `boot`: a learner waits for
	 * the nodes (`now`), or they are for a warm pool.
	 */
	plan(labId: string, identity: LabIdentity, boot: BootPriority = 'now'): LabPlan {
		const { config, image } = this.#ctx;
		return {
			labId,
			addresses: labAddresses(config.labSubnetPool, identity.index),
			image,
			limits: nodeLimits(config, this.#ctx.storageQuota()),
			labels: labLabels(identity, this.#ctx.serverId),
			boot,
			linkRoot: terminalLinkRoot(config),
		};
	}
}
