import type { IDataObject } from 'n8n-workflow';

import type { DifyStandin, StandinOptions } from '../standin/server';
import { startDifyStandin } from '../standin/server';
import type { DifyNodeRun } from './dify-node';
import { everythingShown, runDifyNode } from './dify-node';
import { rawRun } from './raw-stream';

const RESULT_KEYS = [
	'created_at',
	'elapsed_time',
	'error',
	'finished_at',
	'outputs',
	'status',
	'task_id',
	'total_steps',
	'total_tokens',
	'workflow_id',
	'workflow_run_id',
].sort();

let standin: DifyStandin;
const extraStandins: DifyStandin[] = [];

async function standinWith(options: StandinOptions): Promise<DifyStandin> {
	const started = await startDifyStandin(options);
	extraStandins.push(started);
	return started;
}

beforeAll(async () => {
	standin = await startDifyStandin();
});
afterAll(async () => {
	await Promise.all([standin, ...extraStandins].map(async (s) => await s.close()));
});
beforeEach(() => standin.reset());

interface RunParameters {
	inputs?: unknown;
	user?: string;
	responseMode?: 'streaming' | 'blocking';
	output?: 'final' | 'events';
	options?: IDataObject;
}

function run(
	parameters: RunParameters,
	extra: { items?: IDataObject[]; continueOnFail?: boolean; target?: DifyStandin } = {},
): Promise<DifyNodeRun> {
	const target = extra.target ?? standin;
	return runDifyNode({
		parameters: {
			resource: 'workflow',
			operation: 'run',
			inputs: JSON.stringify({ topic: '富士山' }),
			user: 'user-42',
			responseMode: 'streaming',
			output: 'final',
			...parameters,
		} as never,
		baseUrl: target.url,
		apiKey: target.apiKey,
		items: extra.items,
		continueOnFail: extra.continueOnFail,
	});
}

const runRequests = (target: DifyStandin = standin) => target.requests.filter((r) => r.path.endsWith('/run'));

describe('Run, final output', () => {
	it('streams a run and returns one item with the final result', async () => {
		const result = await run({});
		expect(result.error).toBeUndefined();
		expect(result.items).toHaveLength(1);
		const json = result.items[0].json;
		expect(Object.keys(json).sort()).toEqual(RESULT_KEYS);
		expect(json.status).toBe('succeeded');
		expect((json.outputs as IDataObject).answer).toEqual(expect.stringContaining('富士山'));
		expect(result.items[0].pairedItem).toEqual({ item: 0 });
		expect(runRequests()[0].json).toEqual({ inputs: { topic: '富士山' }, user: 'user-42', response_mode: 'streaming' });
	});

	it('gives the same shape and values in blocking mode', async () => {
		const streamed = (await run({})).items[0].json;
		const blocking = await run({ responseMode: 'blocking' });
		expect(blocking.error).toBeUndefined();
		const json = blocking.items[0].json;
		expect(Object.keys(json).sort()).toEqual(RESULT_KEYS);
		expect(json.outputs).toEqual(streamed.outputs);
		expect(json.status).toBe('succeeded');
		expect(json.workflow_id).toBe(streamed.workflow_id);
		expect(runRequests().at(-1)!.json).toMatchObject({ response_mode: 'blocking' });
	});

	it('runs once per input item, in order, resolving expressions per item', async () => {
		const result = await run(
			{ inputs: '={{ { "topic": $json.topic } }}', user: '={{ $json.user }}' },
			{ items: [{ topic: 'Alps', user: 'a' }, { topic: 'Andes', user: 'b' }, { topic: 'Atlas', user: 'c' }] },
		);
		expect(result.items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(result.items.map((item) => (item.json.outputs as IDataObject).answer)).toEqual([
			expect.stringContaining('Alps'),
			expect.stringContaining('Andes'),
			expect.stringContaining('Atlas'),
		]);
		expect(runRequests().map((r) => (r.json as IDataObject).user)).toEqual(['a', 'b', 'c']);
	});

	it.each(['iteration', 'loop', 'tts', 'unknown-event'])('understands the %s scenario', async (scenario) => {
		const result = await run({ inputs: { topic: 'x', scenario } });
		expect(result.error).toBeUndefined();
		expect(result.items[0].json.status).toBe('succeeded');
	});

	it('returns a paused run (Human Input) with status paused', async () => {
		const result = await run({ inputs: { topic: 'x', scenario: 'paused' } });
		expect(result.error).toBeUndefined();
		expect(result.items[0].json).toMatchObject({ status: 'paused', finished_at: null });
	});

	it('reads CRLF-framed streams', async () => {
		const crlf = await standinWith({ lineEnding: '\r\n' });
		const result = await run({}, { target: crlf });
		expect(result.items[0].json.status).toBe('succeeded');
	});
});

describe('Run, events output', () => {
	it('emits one item per event, in the order and with the content the server sent', async () => {
		const sent = await rawRun(standin.url, standin.apiKey, { topic: '富士山' });
		const result = await run({ output: 'events' });
		expect(result.error).toBeUndefined();
		expect(result.items.map((item) => item.json.event)).toEqual(sent.map((event) => event.event));
		expect(result.items.every((item) => (item.pairedItem as { item: number }).item === 0)).toBe(true);
		const first = result.items[0].json;
		expect(first).toMatchObject({ event: 'workflow_started', data: expect.any(Object) });
		expect(typeof first.workflow_run_id).toBe('string');
		expect(typeof first.task_id).toBe('string');
		const text = result.items
			.filter((item) => item.json.event === 'text_chunk')
			.map((item) => (item.json.data as IDataObject).text)
			.join('');
		expect(text).toBe((result.items.at(-1)!.json.data as { outputs: IDataObject }).outputs.answer);
	});

	it('passes through events the node does not know', async () => {
		const result = await run({ output: 'events', inputs: { topic: 'x', scenario: 'unknown-event' } });
		expect(result.items.map((item) => item.json.event)).toContain('future_event');
	});

	it('passes TTS frames through as received (audio at the top level)', async () => {
		const result = await run({ output: 'events', inputs: { topic: 'x', scenario: 'tts' } });
		const tts = result.items.find((item) => item.json.event === 'tts_message');
		expect(tts?.json).toHaveProperty('audio');
	});

	it('counts 1,000 streamed chunks exactly', async () => {
		const result = await run({ output: 'events', inputs: { topic: 'x', scenario: 'many', chunks: 1000 } });
		expect(result.items.filter((item) => item.json.event === 'text_chunk')).toHaveLength(1000);
	});
});

describe('Run failures', () => {
	it('a failed run is an error of the item, with Dify\'s error text', async () => {
		const result = await run({ inputs: { topic: 'x', scenario: 'fail' } });
		expect(result.error?.message).toMatch(/^The Dify workflow run failed: .*division by zero/s);
		expect(result.items).toHaveLength(0);
	});

	it('under Continue On Fail, a failed run is an item with error and the run fields', async () => {
		const result = await run({ inputs: { topic: 'x', scenario: 'fail' } }, { continueOnFail: true });
		expect(result.error).toBeUndefined();
		expect(result.items).toHaveLength(1);
		expect(result.items[0].json).toMatchObject({
			status: 'failed',
			error: expect.stringMatching(/^The Dify workflow run failed/),
			workflow_run_id: expect.any(String),
		});
		expect(result.items[0].pairedItem).toEqual({ item: 0 });
	});

	it('with the error output, a failed run goes there with its fields under details', async () => {
		const result = await runDifyNode({
			parameters: {
				resource: 'workflow',
				operation: 'run',
				inputs: '={{ { "topic": "x", "scenario": $json.scenario } }}',
				user: 'u',
				responseMode: 'streaming',
				output: 'final',
			},
			baseUrl: standin.url,
			apiKey: standin.apiKey,
			items: [{ scenario: 'llm' }, { scenario: 'fail' }],
			errorOutput: true,
		});
		expect(result.items.map((item) => item.json.status)).toEqual(['succeeded']);
		expect(result.errorItems).toHaveLength(1);
		expect(result.errorItems[0].json).toMatchObject({
			error: expect.stringMatching(/^The Dify workflow run failed/),
			details: { status: 'failed', workflow_run_id: expect.any(String) },
		});
		expect(result.errorItems[0].pairedItem).toEqual({ item: 1 });
	});

	it('under Continue On Fail, the other items go on', async () => {
		const result = await run(
			{ inputs: '={{ { "topic": "x", "scenario": $json.scenario } }}' },
			{ continueOnFail: true, items: [{ scenario: 'llm' }, { scenario: 'fail' }, { scenario: 'llm' }] },
		);
		expect(result.items.map((item) => item.json.status)).toEqual(['succeeded', 'failed', 'succeeded']);
		expect(result.items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
	});

	it('stops reading at an error event although Dify 1.13 keeps the connection open', async () => {
		const started = Date.now();
		const result = await run({ inputs: { topic: 'x', scenario: 'error' }, options: { timeout: 20 } });
		expect(result.error?.message).toBe(
			'Dify reported an error during the run: Internal Server Error, please contact support.',
		);
		expect(result.error?.httpCode).toBe('500');
		// Far below the 20 s timeout: the node did not wait for the open socket to go silent.
		expect(Date.now() - started).toBeLessThan(15_000);
		// The node closes its side; the stand-in notices within a few event-loop turns.
		for (let i = 0; i < 50 && standin.openStreams() > 0; i++) await new Promise((r) => setTimeout(r, 20));
		expect(standin.openStreams()).toBe(0);
	});

	it('in events output under Continue On Fail, keeps the events that came and adds one error item', async () => {
		const sent = await rawRun(standin.url, standin.apiKey, { topic: 'x', scenario: 'error' });
		const result = await run({ output: 'events', inputs: { topic: 'x', scenario: 'error' } }, { continueOnFail: true });
		expect(result.items).toHaveLength(sent.length + 1);
		expect(result.items.slice(0, -1).map((item) => item.json.event)).toEqual(sent.map((event) => event.event));
		expect(result.items.at(-1)!.json.error).toMatch(/Dify reported an error/);
	});

	it('a stream that closes without a terminal event is an error that says so (1.13: nothing to re-attach to)', async () => {
		const older = await standinWith({ version: '1.13' });
		const result = await run({ inputs: { topic: 'x', scenario: 'truncated' } }, { target: older });
		expect(result.error?.message).toBe('The event stream from Dify ended before the run finished');
		expect(result.error?.description).toMatch(/Get Run/);
		expect(older.requests.at(-1)?.path).toMatch(/^\/v1\/workflow\/[0-9a-f-]+\/events$/);
	});

	it('1.16 appends a failed workflow_finished to a stream without a terminal event: the failed-run error', async () => {
		const result = await run({ inputs: { topic: 'x', scenario: 'truncated' } });
		expect(result.error?.message).toBe('The Dify workflow run failed: Workflow stream ended without a terminal event');
	});

	it('a connection dropped in the middle of a line is an error that says so (1.13: the events endpoint answers 404)', async () => {
		const older = await standinWith({ version: '1.13' });
		const result = await run({ inputs: { topic: 'x', scenario: 'drop' } }, { target: older });
		expect(result.error?.message).toMatch(/broke in the middle of the event stream$/);
	});

	it('with Re-Attach off, a dropped connection is the same error on 1.16', async () => {
		const result = await run({ inputs: { topic: 'x', scenario: 'drop' }, options: { reattach: false } });
		expect(result.error?.message).toMatch(/broke in the middle of the event stream$/);
		expect(standin.requests.filter((request) => request.path.endsWith('/events'))).toHaveLength(0);
	});

	it('a silent stream ends at the Timeout option, naming it', async () => {
		const result = await run({ inputs: { topic: 'x', scenario: 'silent' }, options: { timeout: 1 } });
		expect(result.error?.message).toBe('Dify sent no workflow event for 1 s, so the node stopped waiting');
		expect(result.error?.description).toMatch(/Timeout option/);
	});

	it('keep-alive pings do not count as progress', async () => {
		const pinging = await standinWith({ pingIntervalMs: 100 });
		const result = await run({ inputs: { topic: 'x', scenario: 'pings' }, options: { timeout: 1 } }, { target: pinging });
		expect(result.error?.message).toBe('Dify sent no workflow event for 1 s, so the node stopped waiting');
	});

	it('text chunks a final run drops unread still count as progress', async () => {
		// 14 events 150 ms apart: about two seconds in all, never a silent second.
		const result = await run({ inputs: { topic: 'x', scenario: 'slow', delay_ms: 150 }, options: { timeout: 1 } });
		expect(result.error).toBeUndefined();
		expect(result.items[0].json.status).toBe('succeeded');
	});

	it('a streaming pre-run failure of Dify 1.11 (HTTP 400) gives Dify\'s message', async () => {
		const legacy = await standinWith({ version: '1.11' });
		// Validation off, so Dify itself rejects the missing input, as it would for an unchecked one.
		const result = await run({ inputs: {}, options: { validateInputs: false } }, { target: legacy });
		expect(result.error?.message).toBe('topic is required in input form');
		expect(result.error?.httpCode).toBe('400');
		expect(result.error?.description).toMatch(/Inputs/);
	});

	it('never shows the API key, whatever fails', async () => {
		const outcomes = await Promise.all([
			run({ inputs: { topic: 'x', scenario: 'fail' } }),
			run({ inputs: { topic: 'x', scenario: 'error' } }),
			run({ inputs: { topic: 'x', scenario: 'truncated' } }, { continueOnFail: true }),
		]);
		for (const outcome of outcomes) expect(everythingShown(outcome)).not.toContain(standin.apiKey);
	});
});

describe('Run parameters', () => {
	it('runs a chosen published version', async () => {
		const older = '1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d';
		const result = await run({ options: { workflowId: older } });
		expect(result.items[0].json.workflow_id).toBe(older);
		expect(runRequests()[0].path).toBe(`/v1/workflows/${older}/run`);
	});

	it('an unknown version ID gives Dify\'s 404 with advice about the option', async () => {
		const result = await run({ options: { workflowId: '00000000-0000-4000-8000-000000000000' } });
		expect(result.error?.httpCode).toBe('404');
		expect(result.error?.description).toMatch(/Workflow ID option/);
	});

	it.each([
		[{ inputs: '{"topic": ' }, /^The Inputs parameter is not valid JSON/],
		[{ inputs: '[1, 2]' }, /^The Inputs parameter must be a JSON object, not an array/],
		[{ inputs: '"text"' }, /^The Inputs parameter must be a JSON object, not string/],
		[{ user: '  ' }, /^The User parameter is empty/],
		[{ options: { workflowId: 'v2' } }, /^The Workflow ID option is not a Dify ID/],
	])('refuses %p before any request', async (parameters, message) => {
		const result = await run(parameters as RunParameters);
		expect(result.error?.message).toMatch(message);
		expect(result.error?.name).toBe('NodeOperationError');
		expect(runRequests()).toHaveLength(0);
	});
});
