/** Smallest, middle and largest of a set of measurements. */
export interface Spread {
	min: number;
	median: number;
	max: number;
	count: number;
}

export function spread(values: number[]): Spread {
	if (values.length === 0) return { min: NaN, median: NaN, max: NaN, count: 0 };
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
	return { min: sorted[0], median, max: sorted[sorted.length - 1], count: sorted.length };
}

/** Element by element: pair i of `a` against pair i of `b`, never one median against another. */
export function pairwise(a: number[], b: number[], combine: (x: number, y: number) => number): number[] {
	if (a.length !== b.length) throw new Error(`Cannot pair ${a.length} measurements with ${b.length}`);
	return a.map((x, i) => combine(x, b[i]));
}

/** Three significant digits, without switching to exponent notation for ordinary figures. */
export function formatNumber(value: number): string {
	if (!Number.isFinite(value)) return String(value);
	const magnitude = Math.abs(value);
	if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
	if (magnitude >= 10) return value.toFixed(1);
	if (magnitude >= 1) return value.toFixed(2);
	return value.toPrecision(3);
}

export function formatSpread(s: Spread): string {
	if (s.count === 0) return '–';
	if (s.count === 1) return formatNumber(s.median);
	return `${formatNumber(s.min)} / ${formatNumber(s.median)} / ${formatNumber(s.max)}`;
}

export const MB = 1024 * 1024;
