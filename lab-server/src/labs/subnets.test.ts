import { describe, expect, it } from 'vitest';
import { firstFreeIndex, labAddresses, parsePool, poolSize, occupiedIndexes } from './subnets';

describe('parsePool', () => {
	it('parses the default pool', () => {
		expect(parsePool('10.129.0.0/16')).toEqual({
			cidr: '10.129.0.0/16',
			network: 0x0a810000,
			prefixLength: 16,
		});
	});

	it.each(['10.0.0.0/8', '172.16.0.0/12', '172.31.0.0/16', '192.168.0.0/16', ' 10.200.0.0/14 '])(
		'accepts %s',
		(cidr) => {
			expect(parsePool(cidr).cidr).toBe(cidr.trim());
		},
	);

	it.each([
		['10.129.0.0', 'expected an IPv4 CIDR such as "10.129.0.0/16"'],
		['10.129.0/16', 'expected an IPv4 CIDR such as "10.129.0.0/16"'],
		['10.256.0.0/16', 'expected an IPv4 CIDR such as "10.129.0.0/16"'],
		['10.129.0.0/33', 'expected an IPv4 CIDR such as "10.129.0.0/16"'],
		['fd00::/8', 'expected an IPv4 CIDR such as "10.129.0.0/16"'],
		['10.129.5.0/16', 'expected a network address (host bits clear) such as "10.129.0.0/16"'],
		['10.129.0.0/24', 'expected a /16 or larger (each lab takes a /24 of it)'],
		['10.129.0.0/17', 'expected a /16 or larger (each lab takes a /24 of it)'],
		['8.8.0.0/16', 'expected a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16'],
		[
			'172.32.0.0/16',
			'expected a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16',
		],
		['172.0.0.0/8', 'expected a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16'],
		[
			'192.168.0.0/15',
			'expected a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16',
		],
		['192.169.0.0/15', 'expected a network address (host bits clear) such as "192.168.0.0/15"'],
		['0.0.0.0/0', 'expected a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16'],
	])('rejects %s', (cidr, message) => {
		expect(() => parsePool(cidr)).toThrow(new RangeError(message));
	});
});

describe('labAddresses', () => {
	const pool = parsePool('10.129.0.0/16');

	it("gives the first lab exactly the guide's addresses", () => {
		expect(labAddresses(pool, 0)).toEqual({
			index: 0,
			subnet: '10.129.0.0/24',
			prefix: '10.129.0.',
			gateway: '10.129.0.1',
			hap1: '10.129.0.11',
			hap2: '10.129.0.12',
			vip: '10.129.0.10',
			client: '10.129.0.20',
			intruder: '10.129.0.50',
			intruderVip: '10.129.0.99',
		});
	});

	it('gives later labs the next /24s', () => {
		expect(labAddresses(pool, 1)).toMatchObject({ subnet: '10.129.1.0/24', vip: '10.129.1.10' });
		expect(labAddresses(pool, 255)).toMatchObject({
			subnet: '10.129.255.0/24',
			hap2: '10.129.255.12',
		});
	});

	it('carries into the higher octets of a larger pool', () => {
		const big = parsePool('172.16.0.0/12');
		expect(labAddresses(big, 256 * 15 + 7)).toMatchObject({
			subnet: '172.31.7.0/24',
			hap1: '172.31.7.11',
		});
		expect(labAddresses(parsePool('192.168.0.0/16'), 200).gateway).toBe('192.168.200.1');
	});

	it('refuses an index outside the pool', () => {
		expect(() => labAddresses(pool, 256)).toThrow(
			'lab index 256 is outside the pool "10.129.0.0/16" (0..255)',
		);
		expect(() => labAddresses(pool, -1)).toThrow(RangeError);
		expect(() => labAddresses(pool, 1.5)).toThrow(RangeError);
	});
});

describe('poolSize and firstFreeIndex', () => {
	it('counts the /24s in a pool', () => {
		expect(poolSize(parsePool('10.129.0.0/16'))).toBe(256);
		expect(poolSize(parsePool('172.16.0.0/12'))).toBe(4096);
		expect(poolSize(parsePool('10.0.0.0/8'))).toBe(65_536);
	});

	it('finds the lowest free index, filling gaps first', () => {
		const pool = parsePool('10.129.0.0/16');
		expect(firstFreeIndex(pool, new Set())).toBe(0);
		expect(firstFreeIndex(pool, new Set([0, 1, 3]))).toBe(2);
		expect(firstFreeIndex(pool, new Set([1, 0]))).toBe(2);
	});

	it('returns null when the pool is full', () => {
		const pool = parsePool('10.129.0.0/16');
		const all = new Set(Array.from({ length: 256 }, (_, index) => index));
		expect(firstFreeIndex(pool, all)).toBeNull();
		all.delete(255);
		expect(firstFreeIndex(pool, all)).toBe(255);
	});
});

describe('occupiedIndexes', () => {
	const pool = parsePool('10.129.0.0/16');
	it('maps foreign /24s inside the pool to their indexes and ignores the rest', () => {
		expect([...occupiedIndexes(pool, ['10.129.3.0/24', '172.17.0.0/16', 'fd00::/64'])]).toEqual([
			3,
		]);
	});
	it('marks every /24 that a larger overlapping network covers', () => {
		expect([...occupiedIndexes(pool, ['10.129.4.0/23'])]).toEqual([4, 5]);
		expect(occupiedIndexes(pool, ['10.0.0.0/8']).size).toBe(256);
	});
});
