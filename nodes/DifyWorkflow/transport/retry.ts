/**
 * When a failed call may be made again. A read can be repeated freely; a run may be repeated only
 * where Dify cannot have started it, or the workflow would run twice.
 */
export type RetryPolicy = 'read' | 'start' | 'none';

export interface RetryableFailure {
	/** HTTP status, when Dify (or a proxy) answered. */
	status?: number;
	/** Network error code, when nothing answered. */
	code?: string;
	/** The Retry-After header: seconds, or an HTTP date. */
	retryAfter?: string;
}

export const MAX_RETRIES = 3;
const BASE_DELAY_MS = 500;
/** A longer Retry-After is not waited for: the error is shown at once instead of a silent stall. */
const MAX_RETRY_AFTER_MS = 60_000;

const READ_STATUSES = new Set([429, 502, 503, 504]);
const READ_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
// 429 is an answer before the run exists; a refused connection never reached Dify.
const START_STATUSES = new Set([429]);
const START_CODES = new Set(['ECONNREFUSED']);

function retryAfterMs(value: string | undefined, now: number): number | undefined {
	if (!value) return undefined;
	const seconds = Number(value);
	if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait before retry number `attempt + 1`, or undefined when the failure is final.
 * Dify's Retry-After wins over the exponential backoff (0.5 s, 1 s, 2 s, with a little jitter so
 * concurrent items do not retry in lockstep).
 */
export function retryDelayMs(
	policy: RetryPolicy,
	attempt: number,
	failure: RetryableFailure,
	now = Date.now(),
): number | undefined {
	if (policy === 'none' || attempt >= MAX_RETRIES) return undefined;
	const statuses = policy === 'read' ? READ_STATUSES : START_STATUSES;
	const codes = policy === 'read' ? READ_CODES : START_CODES;
	const retryable =
		(failure.status !== undefined && statuses.has(failure.status)) ||
		(failure.code !== undefined && codes.has(failure.code));
	if (!retryable) return undefined;
	const asked = retryAfterMs(failure.retryAfter, now);
	if (asked !== undefined) return asked <= MAX_RETRY_AFTER_MS ? asked : undefined;
	const backoff = BASE_DELAY_MS * 2 ** attempt;
	return Math.round(backoff * (0.8 + Math.random() * 0.4));
}

/** Waits, unless the execution is stopped meanwhile. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) {
			reject(signal.reason as Error);
			return;
		}
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		const onAbort = () => {
			clearTimeout(timer);
			reject(signal?.reason as Error);
		};
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}
