import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256(text: string): string {
	return createHash('sha256').update(text).digest('hex');
}

/** Whether two hex digests are equal, in constant time (false for different lengths). */
export function sameDigest(a: string, b: string): boolean {
	const x = Buffer.from(a, 'hex');
	const y = Buffer.from(b, 'hex');
	return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
