import { MAX_RETRIES, retryDelayMs, sleep } from '../../nodes/DifyWorkflow/transport/retry';

describe('retryDelayMs', () => {
	it('retries reads on 429, 502, 503, 504 and dropped or refused connections', () => {
		for (const status of [429, 502, 503, 504]) expect(retryDelayMs('read', 0, { status })).toBeGreaterThan(0);
		for (const code of ['ECONNRESET', 'ECONNREFUSED', 'UND_ERR_SOCKET']) expect(retryDelayMs('read', 0, { code })).toBeGreaterThan(0);
		for (const status of [400, 401, 404, 500]) expect(retryDelayMs('read', 0, { status })).toBeUndefined();
	});

	it('retries a run only where Dify cannot have started it', () => {
		expect(retryDelayMs('start', 0, { status: 429 })).toBeGreaterThan(0);
		expect(retryDelayMs('start', 0, { code: 'ECONNREFUSED' })).toBeGreaterThan(0);
		for (const status of [500, 502, 503, 504]) expect(retryDelayMs('start', 0, { status })).toBeUndefined();
		expect(retryDelayMs('start', 0, { code: 'ECONNRESET' })).toBeUndefined();
		expect(retryDelayMs('none', 0, { status: 429 })).toBeUndefined();
	});

	it('backs off exponentially, and stops after the last retry', () => {
		const delays = [0, 1, 2].map((attempt) => retryDelayMs('read', attempt, { status: 503 })!);
		expect(delays[0]).toBeGreaterThanOrEqual(400);
		expect(delays[0]).toBeLessThanOrEqual(600);
		expect(delays[2]).toBeGreaterThanOrEqual(1600);
		expect(retryDelayMs('read', MAX_RETRIES, { status: 503 })).toBeUndefined();
	});

	it('honours Retry-After in seconds or as a date, up to a minute', () => {
		const now = Date.parse('2026-11-21T12:00:00Z');
		expect(retryDelayMs('read', 0, { status: 429, retryAfter: '7' }, now)).toBe(7000);
		expect(retryDelayMs('read', 0, { status: 429, retryAfter: 'Sat, 21 Nov 2026 12:00:30 GMT' }, now)).toBe(30_000);
		expect(retryDelayMs('read', 0, { status: 429, retryAfter: '120' }, now)).toBeUndefined();
	});
});

describe('sleep', () => {
	it('ends early when the execution is stopped', async () => {
		const controller = new AbortController();
		const waiting = sleep(60_000, controller.signal);
		controller.abort(new Error('stopped'));
		await expect(waiting).rejects.toThrow('stopped');
	});
});
