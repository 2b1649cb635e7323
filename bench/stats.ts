/**
 * Percentiles for the benchmarks: linear interpolation between the closest ranks (numpy's
 * default), so a p95 of 20 samples sits between the 19th and the 20th instead of snapping to
 * the maximum.
 */

export interface Summary {
	n: number;
	min: number;
	p50: number;
	p95: number;
	p99: number;
	max: number;
	mean: number;
}

/** The `p`-th percentile (0..100) of `samples`; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
	if (samples.length === 0) return Number.NaN;
	if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: "p" must be 0..100, got ${p}`);
	const sorted = [...samples].sort((a, b) => a - b);
	const rank = (p / 100) * (sorted.length - 1);
	const low = Math.floor(rank);
	const high = Math.ceil(rank);
	return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function summarize(samples: readonly number[]): Summary {
	const n = samples.length;
	return {
		n,
		min: n ? Math.min(...samples) : Number.NaN,
		p50: percentile(samples, 50),
		p95: percentile(samples, 95),
		p99: percentile(samples, 99),
		max: n ? Math.max(...samples) : Number.NaN,
		mean: n ? samples.reduce((sum, x) => sum + x, 0) / n : Number.NaN,
	};
}

/** Rounds for printing and JSON: 2 decimals below 10, 1 below 100, whole numbers above. */
export function round(value: number): number {
	if (!Number.isFinite(value)) return value;
	const digits = Math.abs(value) < 10 ? 100 : Math.abs(value) < 100 ? 10 : 1;
	return Math.round(value * digits) / digits;
}
