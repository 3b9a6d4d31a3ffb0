import type { IDataObject } from 'n8n-workflow';

import { captureOutput } from '../reliability/capture';
import type { DifyStandin, StandinOptions } from '../standin/server';
import { startDifyStandin } from '../standin/server';
import type { StreamChunk } from '../engine/run-workflow';
import { runDifyNode } from './dify-node';
import { runParameters, watchParameters } from './node-parameters';
import { rawRun } from './raw-stream';

/**
 * Dify 1.14 – 1.16 against the stand-in: Watch Run, Human Input round trips, paused results,
 * re-attaching a dropped stream, and the stream behaviours 1.15 and 1.16 added, each next to
 * what 1.13 does where it differs.
 */

const output = captureOutput();
const standins: DifyStandin[] = [];
let standin: DifyStandin;

async function standinWith(options: StandinOptions): Promise<DifyStandin> {
	const started = await startDifyStandin(options);
	standins.push(started);
	return started;
}

beforeAll(async () => {
	standin = await standinWith({});
});
afterAll(async () => {
	await Promise.all(standins.map(async (s) => await s.close()));
});
beforeEach(() => standin.reset());

function node(parameters: IDataObject, extra: { target?: DifyStandin; onChunk?: (chunk: StreamChunk) => void; items?: IDataObject[]; binaries?: never } = {}) {
	const target = extra.target ?? standin;
	return runDifyNode({
		parameters: parameters as never,
		baseUrl: target.url,
		apiKey: target.apiKey,
		onChunk: extra.onChunk,
		items: extra.items,
	});
}


const formParameters = (operation: 'getForm' | 'submitForm', formToken: string, more: IDataObject = {}) => ({
	resource: 'humanInput',
	operation,
	formToken,
	user: 'reviewer-7',
	...more,
});

describe('paused runs', () => {
	it('streaming and blocking give the same paused item, with the forms to answer', async () => {
		const streamed = await node(runParameters({ topic: '富士山', scenario: 'paused' }));
		const blocking = await node(runParameters({ topic: '富士山', scenario: 'paused' }, { responseMode: 'blocking' }));
		for (const result of [streamed, blocking]) {
			expect(result.error).toBeUndefined();
			const json = result.items[0].json;
			expect(json).toMatchObject({ status: 'paused', outputs: {}, paused_nodes: ['1782800000040'], finished_at: null });
			const [form] = json.human_input_forms as IDataObject[];
			expect(form).toMatchObject({ node_id: '1782800000040', node_title: 'Review', approval_channels: ['console'] });
			expect(form.form_token).toMatch(/^[A-Za-z0-9]{22}$/);
			expect(Object.keys(form)).toEqual(expect.arrayContaining(['form_id', 'form_content', 'inputs', 'actions', 'expiration_time']));
		}
	});

	it('a form delivered by e-mail only has no token and says who can answer it', async () => {
		const result = await node(runParameters({ topic: 'x', scenario: 'paused', delivery: 'email' }));
		const [form] = result.items[0].json.human_input_forms as IDataObject[];
		expect(form.form_token).toBeNull();
		expect(form.note).toMatch(/e-mail link or the Dify console/);
	});

	it('1.13: the same paused item from workflow_paused, without a token; blocking has no reasons', async () => {
		const older = await standinWith({ version: '1.13' });
		const streamed = await node(runParameters({ topic: 'x', scenario: 'paused' }), { target: older });
		expect(streamed.items[0].json).toMatchObject({ status: 'paused', paused_nodes: ['1782800000040'] });
		expect((streamed.items[0].json.human_input_forms as IDataObject[])[0].note).toBeDefined();
		const blocking = await node(runParameters({ topic: 'x', scenario: 'paused' }, { responseMode: 'blocking' }), { target: older });
		expect(blocking.items[0].json).toMatchObject({ status: 'paused', paused_nodes: [], human_input_forms: [] });
	});
});

describe('Human Input round trip', () => {
	it('Run → paused → Get Form → Submit Form → Watch Run gives the outputs with the submitted values', async () => {
		const paused = await node(runParameters({ topic: '富士山', scenario: 'paused' }));
		const { workflow_run_id: runId, human_input_forms: forms } = paused.items[0].json as { workflow_run_id: string; human_input_forms: IDataObject[] };
		const token = String(forms[0].form_token);

		const form = await node(formParameters('getForm', token));
		expect(form.items[0].json).toMatchObject({ user_actions: [{ id: 'approve' }, { id: 'reject' }], inputs: [{ output_variable_name: 'feedback' }] });

		const refused = await node(formParameters('submitForm', token, { action: 'approve', formInputs: '{}' }));
		expect(refused.error?.message).toBe('Missing required inputs: feedback');
		expect(refused.error?.description).toMatch(/form stays open/);

		const submitted = await node(formParameters('submitForm', token, { action: 'approve', formInputs: '{"feedback": "Looks right"}' }));
		expect(submitted.items[0].json).toEqual({ form_token: token, action: 'approve' });
		const posted = standin.requests.filter((request) => request.method === 'POST' && request.path.startsWith('/v1/form/'));
		expect(posted.at(-1)?.json).toEqual({ inputs: { feedback: 'Looks right' }, action: 'approve', user: 'reviewer-7' });

		const watched = await node(watchParameters(runId));
		expect(watched.error).toBeUndefined();
		expect(watched.items[0].json).toMatchObject({
			workflow_run_id: runId,
			status: 'succeeded',
			outputs: { decision: 'approve', feedback: 'Looks right', topic: '富士山' },
		});

		const again = await node(formParameters('submitForm', token, { action: 'approve', formInputs: '{"feedback": "x"}' }));
		expect(again.error?.httpCode).toBe('412');
		expect(again.error?.description).toMatch(/already answered/);
	});

	it('an unknown or expired token says what happened; 1.13 has no form endpoint', async () => {
		const unknown = await node(formParameters('getForm', 'AAAAAAAAAAAAAAAAAAAAAA'));
		expect([unknown.error?.httpCode, unknown.error?.message]).toEqual(['404', 'Form not found']);
		expect(unknown.error?.description).toMatch(/form_token/);

		const paused = await node(runParameters({ topic: 'x', scenario: 'paused', form_ttl: 0.2 }));
		const token = String((paused.items[0].json.human_input_forms as IDataObject[])[0].form_token);
		await new Promise((resolve) => setTimeout(resolve, 1250));
		const expired = await node(formParameters('submitForm', token, { action: 'approve', formInputs: '{"feedback": "late"}' }));
		expect(expired.error?.httpCode).toBe('412');
		expect(expired.error?.description).toMatch(/time limit passed/);

		const bad = await node(formParameters('getForm', '../workflows/run'));
		expect(bad.error?.message).toMatch(/is not a form token/);
		expect(standin.requests.some((request) => request.path.includes('..'))).toBe(false);
	});
});

describe('Watch Run', () => {
	it('a finished run gives its final result at once, the same as Run gave; the run id Dify puts in task_id is not taken for one', async () => {
		const ran = await node(runParameters({ topic: '富士山' }));
		const watched = await node(watchParameters(String(ran.items[0].json.workflow_run_id)));
		const { elapsed_time: _a, ...expected } = ran.items[0].json;
		const { elapsed_time: _b, ...got } = watched.items[0].json;
		expect(got).toEqual({ ...expected, task_id: null });
	});

	it('a paused run with a state snapshot gives the paused result; events output replays the run so far', async () => {
		const paused = await node(runParameters({ topic: 'x', scenario: 'paused' }));
		const runId = String(paused.items[0].json.workflow_run_id);
		const watched = await node(watchParameters(runId, { options: { includeStateSnapshot: true } }));
		expect(watched.items[0].json).toMatchObject({ status: 'paused', paused_nodes: ['1782800000040'] });
		const events = await node(watchParameters(runId, { output: 'events', options: { includeStateSnapshot: true } }));
		expect(events.items.map((item) => item.json.event)).toEqual([
			'workflow_started', 'node_started', 'node_finished', 'node_started', 'human_input_required', 'workflow_paused',
		]);
		const query = standin.requests.at(-1)?.query;
		expect(query).toEqual({ user: 'user-42', include_state_snapshot: 'true' });
	});

	it('continue on pause: the node reads through a pause and ends the stream itself at workflow_finished', async () => {
		const paused = await node(runParameters({ topic: 'x', scenario: 'paused' }));
		const runId = String(paused.items[0].json.workflow_run_id);
		const token = String((paused.items[0].json.human_input_forms as IDataObject[])[0].form_token);
		const watching = node(watchParameters(runId, { output: 'events', options: { includeStateSnapshot: true, continueOnPause: true } }));
		// Answered once the watch holds the paused run (its snapshot sent), however long a loaded machine takes.
		const watch = () => standin.requests.find((request) => request.path === `/v1/workflow/${runId}/events`);
		for (let tries = 0; (watch()?.eventsSent ?? 0) < 6 && tries < 1000; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
		await node(formParameters('submitForm', token, { action: 'reject', formInputs: '{"feedback": "No"}' }));
		const watched = await watching;
		expect(watched.error).toBeUndefined();
		const names = watched.items.map((item) => item.json.event);
		expect(names).toContain('workflow_paused');
		expect(names.at(-1)).toBe('workflow_finished');
		expect(watched.items.at(-1)?.json.data).toMatchObject({ outputs: { decision: 'reject', feedback: 'No' } });
	});

	it('another user, or the task ID, is a 404 that says Watch Run needs the same user; 1.13 has no endpoint', async () => {
		const ran = await node(runParameters({ topic: 'x' }));
		const other = await node(watchParameters(String(ran.items[0].json.workflow_run_id), { user: 'someone-else' }));
		expect(other.error?.httpCode).toBe('404');
		expect(other.error?.description).toMatch(/same User the run was started with/);
		const older = await standinWith({ version: '1.13' });
		const old = await node(watchParameters(String(ran.items[0].json.workflow_run_id)), { target: older });
		expect(old.error?.message).toBe('Dify 1.13.3 has no events endpoint: Watch Run needs Dify 1.14 or newer');
		expect(old.error?.description).toMatch(/follow the run with Workflow → Get Run/);
		expect(old.error?.description).not.toMatch(/Base URL/);
	});
});

describe('re-attach', () => {
	it('a cut stream is re-attached: the final result is right, and a warning is logged', async () => {
		const result = await node(runParameters({ topic: '富士山', scenario: 'cut' }));
		expect(result.error).toBeUndefined();
		expect(result.items[0].json).toMatchObject({ status: 'succeeded', outputs: { answer: expect.stringContaining('富士山') } });
		const reattach = standin.requests.filter((request) => request.path.endsWith('/events'));
		expect(reattach).toHaveLength(1);
		expect(reattach[0].query).toEqual({ user: 'user-42', include_state_snapshot: 'true' });
		expect(output.logged(/re-attached to run/)).not.toHaveLength(0);
	});

	it('events output: no event twice, and a "reattached" item marks the place', async () => {
		const result = await node(runParameters({ topic: 'x', scenario: 'cut' }, { output: 'events' }));
		expect(result.error).toBeUndefined();
		const events = result.items.map((item) => item.json);
		const marker = events.findIndex((event) => event.event === 'reattached');
		expect(marker).toBeGreaterThan(0);
		expect(events[marker].data).toMatchObject({ after_events: marker, note: expect.stringMatching(/not replayed/) });
		const keys = events
			.filter((event) => event.event !== 'text_chunk' && event.event !== 'reattached')
			.map((event) => `${String(event.event)}:${String((event.data as IDataObject).id)}`);
		expect(new Set(keys).size).toBe(keys.length);
		expect(events.at(-1)?.event).toBe('workflow_finished');
	});

	it('1.13 (no events endpoint): the clear "connection broke" error; a cut run in Watch Run is re-attached too', async () => {
		const older = await standinWith({ version: '1.13' });
		const old = await node(runParameters({ topic: 'x', scenario: 'cut' }), { target: older });
		expect(old.error?.message).toMatch(/broke in the middle of the event stream$/);
	});
});

describe('Dify 1.15+ stream behaviours', () => {
	it('reasoning goes live only with Stream Reasoning Too, in both outputs, and only for an LLM node that Stream Text Of names', async () => {
		const sent = await rawRun(standin.url, standin.apiKey, { topic: 'x', scenario: 'reasoning' });
		const answer = sent.filter((event) => event.event === 'text_chunk').map((event) => (event.data as { text: string }).text).join('');
		const llmNode = String((sent.find((event) => event.event === 'reasoning_chunk')?.data as IDataObject).node_id);
		const thinking = '標高を確認する。三七七六メートル。';
		const live = async (output: string, options: IDataObject) => {
			const chunks: StreamChunk[] = [];
			const result = await node(runParameters({ topic: 'x', scenario: 'reasoning' }, { output, options }), { onChunk: (chunk) => chunks.push(chunk) });
			expect(result.error).toBeUndefined();
			return chunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content).join('');
		};
		for (const output of ['final', 'events']) {
			expect(await live(output, {})).toBe(answer);
			expect(await live(output, { streamReasoning: false, streamVariables: `${llmNode}.text` })).toBe(answer);
			expect(await live(output, { streamReasoning: true })).toBe(`${thinking}${answer}`);
			expect(await live(output, { streamReasoning: true, streamVariables: `${llmNode}.text` })).toBe(`${thinking}${answer}`);
			// A bare variable name names no node: its text goes, nobody's reasoning does.
			expect(await live(output, { streamReasoning: true, streamVariables: 'text' })).toBe(answer);
			expect(await live(output, { streamReasoning: true, streamVariables: 'other_node.answer' })).toBe('');
		}
	});

	it('the early-failure pair is the failed-run error with Dify\'s message', async () => {
		const result = await node(runParameters({ topic: 42 }, { options: { validateInputs: false } }));
		expect(result.error?.message).toBe("The Dify workflow run failed: (type 'text-input') topic in input form must be a string");
	});

	it('rate_limit_error in the stream gets the rate-limit advice; the run is not retried', async () => {
		const result = await node(runParameters({ topic: 'x', scenario: 'rate-limit' }));
		expect(result.error?.message).toMatch(/^Dify reported an error during the run: Rate limit reached/);
		expect(result.error?.description).toMatch(/rate limit/);
		expect(result.error?.httpCode).toBe('429');
		expect(standin.requests.filter((request) => request.path === '/v1/workflows/run')).toHaveLength(1);
	});

	it('reasoning_chunk passes through in events output; Stream Text Of forwards it only when asked', async () => {
		const events = await node(runParameters({ topic: 'x', scenario: 'reasoning' }, { output: 'events' }));
		expect(events.items.filter((item) => item.json.event === 'reasoning_chunk')).toHaveLength(3);
		const text = async (options: IDataObject) => {
			const chunks: StreamChunk[] = [];
			await node(runParameters({ topic: 'x', scenario: 'reasoning' }, { options }), { onChunk: (chunk) => chunks.push(chunk) });
			return chunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content).join('');
		};
		const sent = await rawRun(standin.url, standin.apiKey, { topic: 'x', scenario: 'reasoning' });
		const answer = sent.filter((event) => event.event === 'text_chunk').map((event) => (event.data as { text: string }).text).join('');
		expect(await text({})).toBe(answer);
		expect(await text({ streamReasoning: true })).toBe(`標高を確認する。三七七六メートル。${answer}`);
	});

	it('Trace Session ID is sent as trace_session_id and checked before the request', async () => {
		await node(runParameters({ topic: 'x' }, { options: { traceSessionId: ' ticket-4711 ' } }));
		expect(standin.requests.at(-1)?.json).toMatchObject({ trace_session_id: 'ticket-4711' });
		const tooLong = await node(runParameters({ topic: 'x' }, { options: { traceSessionId: 'x'.repeat(201) } }));
		expect(tooLong.error?.message).toMatch(/Trace Session ID option is longer than 200 characters/);
		expect(standin.requests.filter((request) => request.path === '/v1/workflows/run')).toHaveLength(1);
	});

	it('403 workflow_version_execution_not_allowed explains the sandbox plan', async () => {
		const sandbox = await standinWith({ sandboxPlan: true });
		const result = await node(runParameters({ topic: 'x' }, { options: { workflowId: '1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d' } }), {
			target: sandbox,
		});
		expect(result.error?.httpCode).toBe('403');
		expect(result.error?.description).toMatch(/sandbox plan cannot run a chosen workflow version/);
	});
});
