/**
 * The address plan. Docker refuses overlapping subnets, so every lab gets its own /24 from one
 * private pool; within it the hosts sit where the guide puts them (hap1 .11, hap2 .12, VIP .10),
 * so the first lab of the default pool has exactly the guide's addresses.
 */

/** A validated pool: the network address as a 32-bit number and its prefix length. */
export interface SubnetPool {
	readonly cidr: string;
	readonly network: number;
	readonly prefixLength: number;
}

export interface LabAddresses {
	/** Which /24 of the pool, from 0. */
	index: number;
	/** e.g. `10.129.0.0/24` */
	subnet: string;
	/** The first three octets with a trailing dot, e.g. `10.129.0.` */
	prefix: string;
	/** `.1`: Docker's end of the bridge. */
	gateway: string;
	hap1: string;
	hap2: string;
	/** The virtual IP keepalived moves between hap1 and hap2. */
	vip: string;
	/** A node for drills that talks to the VIP. */
	client: string;
	/** The «vrid-conflict» drill's neighbour: step 11's example, a keepalived at `.50`… */
	intruder: string;
	/** …whose own VIP is `.99` (content/steps/11-errors.mdx). */
	intruderVip: string;
}

/** Each lab takes a /24, and a pool must hold more than a handful of them. */
const LARGEST_PREFIX = 16;

const PRIVATE_RANGES = [
	{ network: ipv4ToNumber([10, 0, 0, 0]), prefixLength: 8 },
	{ network: ipv4ToNumber([172, 16, 0, 0]), prefixLength: 12 },
	{ network: ipv4ToNumber([192, 168, 0, 0]), prefixLength: 16 },
];

/**
 * Parses a pool such as `10.129.0.0/16`: an IPv4 CIDR of /16 or larger inside one private range
 * (RFC 1918), host bits clear. Throws a RangeError whose message says what was expected.
 */
export function parsePool(cidr: string): SubnetPool {
	const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
	const octets = match?.slice(1, 5).map(Number) ?? [];
	const prefixLength = Number(match?.[5]);
	if (!match || octets.some((octet) => octet > 255) || prefixLength > 32) {
		throw new RangeError('expected an IPv4 CIDR such as "10.129.0.0/16"');
	}
	const address = ipv4ToNumber(octets);
	const network = (address & mask(prefixLength)) >>> 0;
	const canonical = `${numberToIpv4(network)}/${prefixLength}`;
	if (network !== address) {
		throw new RangeError(`expected a network address (host bits clear) such as "${canonical}"`);
	}
	if (prefixLength > LARGEST_PREFIX) {
		throw new RangeError(`expected a /${LARGEST_PREFIX} or larger (each lab takes a /24 of it)`);
	}
	const inPrivateRange = PRIVATE_RANGES.some(
		(range) =>
			prefixLength >= range.prefixLength &&
			(network & mask(range.prefixLength)) >>> 0 === range.network,
	);
	if (!inPrivateRange) {
		throw new RangeError(
			'expected a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16',
		);
	}
	return { cidr: canonical, network, prefixLength };
}

/** How many /24 subnets (so labs) the pool holds. */
export function poolSize(pool: SubnetPool): number {
	return 2 ** (24 - pool.prefixLength);
}

export function labAddresses(pool: SubnetPool, index: number): LabAddresses {
	if (!Number.isInteger(index) || index < 0 || index >= poolSize(pool)) {
		throw new RangeError(
			`lab index ${index} is outside the pool "${pool.cidr}" (0..${poolSize(pool) - 1})`,
		);
	}
	const base = numberToIpv4(pool.network + index * 256);
	const prefix = base.slice(0, base.lastIndexOf('.') + 1);
	return {
		index,
		subnet: `${base}/24`,
		prefix,
		gateway: `${prefix}1`,
		hap1: `${prefix}11`,
		hap2: `${prefix}12`,
		vip: `${prefix}10`,
		client: `${prefix}20`,
		intruder: `${prefix}50`,
		intruderVip: `${prefix}99`,
	};
}

/** The lowest index not in `used`, or null when every /24 of the pool is taken. */
export function firstFreeIndex(pool: SubnetPool, used: ReadonlySet<number>): number | null {
	const size = poolSize(pool);
	for (let index = 0; index < size; index++) {
		if (!used.has(index)) return index;
	}
	return null;
}

/**
 * The pool indexes that other Docker networks occupy: any /24 of the pool that overlaps one of
 * `subnets` (Docker refuses overlapping subnets, whoever made the other network).
 */
export function occupiedIndexes(pool: SubnetPool, subnets: readonly string[]): Set<number> {
	const occupied = new Set<number>();
	const size = poolSize(pool);
	for (const cidr of subnets) {
		const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
		if (!match) continue;
		const length = Number(match[5]);
		const start = (ipv4ToNumber(match.slice(1, 5).map(Number)) & mask(length)) >>> 0;
		const end = start + 2 ** (32 - length);
		const first = Math.max(0, Math.floor((start - pool.network) / 256));
		const last = Math.min(size, Math.ceil((end - pool.network) / 256));
		for (let index = first; index < last; index++) occupied.add(index);
	}
	return occupied;
}

function ipv4ToNumber(octets: readonly number[]): number {
	return octets.reduce((value, octet) => value * 256 + octet, 0);
}

function numberToIpv4(value: number): string {
	return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** The netmask of a prefix length as an unsigned 32-bit number (0 for /0: `<< 32` is a no-op). */
function mask(prefixLength: number): number {
	return prefixLength === 0 ? 0 : (~0 << (32 - prefixLength)) >>> 0;
}
