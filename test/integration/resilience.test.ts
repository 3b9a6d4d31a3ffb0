import type { IDataObject } from 'n8n-workflow';

import { runDifyNode } from './dify-node';
import { standinPerFile } from './standin-per-file';

const standin = standinPerFile();

const node = (parameters: IDataObject, extra: { items?: IDataObject[]; signal?: AbortSignal } = {}) =>
	runDifyNode({
		parameters: parameters as never,
		baseUrl: standin().url,
		apiKey: standin().apiKey,
		items: extra.items,
		signal: extra.signal,
	});

const runParameters = (inputs: string, options: IDataObject = {}, responseMode = 'streaming') => ({
	resource: 'workflow',
	operation: 'run',
	inputs,
	user: 'u',
	responseMode,
	output: 'final',
	options,
});

const calls = (suffix: string) => standin().requests.filter((r) => r.path.endsWith(suffix));
const rateLimited = { status: 429, json: { code: 'rate_limit_error', message: 'Slow down', status: 429 } };

describe('retries', () => {
	it('a read retries 429 (honouring Retry-After), 502 and 503, then succeeds', async () => {
		standin().failNext({ path: '/v1/info' }, { ...rateLimited, headers: { 'retry-after': '0' } });
		standin().failNext({ path: '/v1/info' }, { status: 502, html: '<title>502 Bad Gateway</title>' });
		standin().failNext({ path: '/v1/info' }, { status: 503, text: 'unavailable' });
		const result = await node({ resource: 'app', operation: 'getInfo' });
		expect(result.error).toBeUndefined();
		expect(result.items[0].json.mode).toBe('workflow');
		expect(calls('/info')).toHaveLength(4);
	});

	it('a read gives up after three retries with the last error', async () => {
		standin().failNext({ path: '/v1/info' }, { ...rateLimited, headers: { 'retry-after': '0' } }, 4);
		const result = await node({ resource: 'app', operation: 'getInfo' });
		expect(result.error?.message).toBe('Slow down');
		expect(result.error?.httpCode).toBe('429');
		expect(calls('/info')).toHaveLength(4);
	});

	it('a read does not wait for a Retry-After beyond a minute: the error comes at once', async () => {
		standin().failNext({ path: '/v1/info' }, { ...rateLimited, headers: { 'retry-after': '3600' } });
		const result = await node({ resource: 'app', operation: 'getInfo' });
		expect(result.error?.description).toMatch(/wait 3600 s/);
		expect(calls('/info')).toHaveLength(1);
	});

	it.each(['streaming', 'blocking'])('a %s run retries a 429, which Dify answers before any run starts', async (mode) => {
		standin().failNext({ path: '/v1/workflows/run' }, { ...rateLimited, headers: { 'retry-after': '0' } });
		const result = await node(runParameters('{"topic": "x"}', {}, mode));
		expect(result.items[0]?.json.status).toBe('succeeded');
		expect(calls('/workflows/run')).toHaveLength(2);
	});

	it.each([502, 503, 500])('a run is not retried after HTTP %i: Dify may have started it', async (status) => {
		standin().failNext({ path: '/v1/workflows/run' }, { status, text: 'upstream trouble' });
		const result = await node(runParameters('{"topic": "x"}'));
		expect(result.error?.httpCode).toBe(String(status));
		expect(calls('/workflows/run')).toHaveLength(1);
	});

	it('a run is not retried once the stream has begun (it is re-attached instead)', async () => {
		const result = await node(runParameters('{"topic": "x", "scenario": "drop"}', { reattach: false }));
		expect(result.error).toBeDefined();
		expect(calls('/workflows/run')).toHaveLength(1);
		const reattached = await node(runParameters('{"topic": "x", "scenario": "drop"}'));
		expect(reattached.items[0]?.json.status).toBe('succeeded');
		expect(calls('/workflows/run')).toHaveLength(2);
		expect(calls('/events')).toHaveLength(1);
	});
});

describe('cancel', () => {
	it('stopping the n8n execution closes the stream and asks Dify to stop the task', async () => {
		const controller = new AbortController();
		const running = node(runParameters('{"topic": "x", "scenario": "wait-stop", "delay_ms": 20}'), {
			signal: controller.signal,
		});
		let taskId: string | undefined;
		for (let i = 0; i < 300 && !taskId; i++) {
			await new Promise((resolve) => setTimeout(resolve, 10));
			taskId = [...standin().runs.values()][0]?.taskId;
		}
		expect(taskId).toBeDefined();
		// Let a few events arrive first, as in a real run.
		await new Promise((resolve) => setTimeout(resolve, 100));
		controller.abort();
		const result = await running;
		expect(result.error?.message).toBe('The execution was stopped while waiting for Dify');
		expect(standin().stoppedTasks).toEqual([taskId]);
		for (let i = 0; i < 50 && standin().openStreams() > 0; i++) await new Promise((r) => setTimeout(r, 20));
		expect(standin().openStreams()).toBe(0);
	});

	it('stopping the execution ends a blocking call at once, not when Dify answers', async () => {
		const controller = new AbortController();
		// 14 events 150 ms apart: Dify answers only after about two seconds.
		const running = node(runParameters('{"topic": "x", "scenario": "slow", "delay_ms": 150}', {}, 'blocking'), {
			signal: controller.signal,
		});
		for (let i = 0; i < 300 && standin().runs.size === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
		controller.abort();
		const result = await running;
		expect(result.error?.message).toBe('The execution was stopped while waiting for Dify');
		// The node left while the run was still going: the request was aborted, not awaited.
		expect([...standin().runs.values()][0]?.status).toBe('running');
	});
});

describe('concurrency', () => {
	/** Runs 6 slow items and samples how many streams the stand-in has open at once. */
	async function runSix(concurrency: number) {
		let most = 0;
		const sampler = setInterval(() => (most = Math.max(most, standin().openStreams())), 5);
		try {
			const result = await node(
				runParameters('={{ { "topic": $json.topic, "scenario": "slow", "delay_ms": 15 } }}', { concurrency }),
				{ items: ['a', 'b', 'c', 'd', 'e', 'f'].map((topic) => ({ topic })) },
			);
			return { result, most };
		} finally {
			clearInterval(sampler);
		}
	}

	it('runs up to K items at once and keeps the results in input order', async () => {
		const { result, most } = await runSix(3);
		expect(result.error).toBeUndefined();
		expect(most).toBeGreaterThan(1);
		expect(most).toBeLessThanOrEqual(3);
		expect(result.items.map((item) => item.pairedItem)).toEqual([0, 1, 2, 3, 4, 5].map((item) => ({ item })));
		expect(result.items.map((item) => (item.json.outputs as IDataObject).answer)).toEqual(
			['a', 'b', 'c', 'd', 'e', 'f'].map((topic) => expect.stringContaining(topic)),
		);
	});

	it('runs one item at a time by default', async () => {
		const { most } = await runSix(1);
		expect(most).toBe(1);
	});

	it('refuses a Concurrency out of range before any request', async () => {
		const result = await node(runParameters('{"topic": "x"}', { concurrency: 0 }));
		expect(result.error?.message).toMatch(/Concurrency option must be a whole number from 1 to 50/);
		expect(calls('/workflows/run')).toHaveLength(0);
	});
});
