import type { IDataObject } from 'n8n-workflow';

import { captureOutput } from '../reliability/capture';
import type { DifyStandin, RecordedRequest, StandinOptions } from '../standin/server';
import { startDifyStandin } from '../standin/server';
import { runDifyNode } from './dify-node';
import { runParameters, watchParameters } from './node-parameters';
import { sentEvents } from './raw-stream';

/**
 * A run the node follows across several streams (dify-api.md §12.2): Stop reaches Dify's task
 * whatever the events endpoint put in task_id, waits outlast Dify's idle close within the
 * Timeout, and a re-attached watch gives only events it has not given yet.
 */

const output = captureOutput();
const standins: DifyStandin[] = [];

async function standinWith(options: StandinOptions = {}): Promise<DifyStandin> {
	const started = await startDifyStandin(options);
	standins.push(started);
	return started;
}
afterAll(async () => {
	await Promise.all(standins.map(async (s) => await s.close()));
});

function node(standin: DifyStandin, parameters: IDataObject, signal?: AbortSignal) {
	return runDifyNode({ parameters: parameters as never, baseUrl: standin.url, apiKey: standin.apiKey, signal });
}


/** Waits for a condition that the stand-in's own records will meet; the bound is only a hang guard. */
async function until(condition: () => boolean, what: string, limitMs = 20_000): Promise<void> {
	const deadline = Date.now() + limitMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

const eventsRequests = (standin: DifyStandin): RecordedRequest[] => standin.requests.filter((request) => request.path.endsWith('/events'));

/** The one run the stand-in holds. */
function onlyRun(standin: DifyStandin) {
	const runs = [...standin.runs.values()];
	expect(runs).toHaveLength(1);
	return runs[0];
}

/** What identifies a node or run event among the run's events, for the "never twice" check. */
function identityOf(event: IDataObject): string {
	const data = (event.data ?? {}) as IDataObject;
	return `${String(event.event)}:${String(data.id ?? JSON.stringify(data))}`;
}

describe('Stop after a re-attach reaches the run’s task', () => {
	it('Run: re-attached while the run is quiet (the snapshot says the run id), a stop still stops the task the run’s stream named', async () => {
		const standin = await standinWith();
		const stopper = new AbortController();
		const running = node(standin, runParameters({ topic: 'x', scenario: 'cut', delay_ms: 30_000 }), stopper.signal);
		// The snapshot of a running run waits 0.2 s for a live event; none comes, so its frames carry the run id.
		await until(() => (eventsRequests(standin)[0]?.eventsSent ?? 0) >= 4, 'the re-attached stream to replay the run');
		const run = onlyRun(standin);
		expect(eventsRequests(standin)[0].query).toMatchObject({ include_state_snapshot: 'true' });
		await new Promise((resolve) => setTimeout(resolve, 200));
		stopper.abort();
		const result = await running;
		expect(result.error?.message).toBe('The execution was stopped while waiting for Dify');
		expect(standin.stoppedTasks).toEqual([run.taskId]);
		expect(run.taskId).not.toBe(run.id);
		await until(() => run.status === 'stopped', "Dify's task to end stopped");
	});

	it('Watch Run with the snapshot: the task is found from the run’s next live event, and that stop ends the run', async () => {
		// Paced, so that the run is still going when its first live event has named its task.
		const standin = await standinWith({ stepDelayMs: 150 });
		// A run started elsewhere, cut from its client, quiet for 2 s, then going on.
		const started = await sentEvents(standin.url, standin.apiKey, { topic: 'x', scenario: 'cut', delay_ms: 2_000 });
		expect(started.end).toBe('broken');
		const run = onlyRun(standin);
		const stopper = new AbortController();
		const watching = node(standin, watchParameters(run.id, { user: 'oracle', options: { includeStateSnapshot: true } }), stopper.signal);
		await until(() => (eventsRequests(standin)[0]?.eventsSent ?? 0) >= 4, 'the snapshot to be replayed');
		await new Promise((resolve) => setTimeout(resolve, 200));
		stopper.abort();
		const result = await watching;
		expect(result.error?.message).toBe('The execution was stopped while waiting for Dify');
		// The stop is sent only once a live event named the task: never to the run id.
		expect(standin.stoppedTasks).toEqual([run.taskId]);
		const discovery = eventsRequests(standin)[1];
		expect(discovery.query).toEqual({ user: 'oracle' });
		await until(() => run.status === 'stopped', "Dify's task to end stopped");
	});

	it('Watch Run: when no event names the task in time, nothing is sent to the run id and a warning says so', async () => {
		const standin = await standinWith();
		const paused = await node(standin, runParameters({ topic: 'x', scenario: 'paused' }));
		const runId = String(paused.items[0].json.workflow_run_id);
		const stopper = new AbortController();
		const watching = node(standin, watchParameters(runId, { options: { continueOnPause: true } }), stopper.signal);
		await until(() => eventsRequests(standin).length >= 1, 'the watch to begin');
		stopper.abort();
		await watching;
		expect(standin.stoppedTasks).toEqual([]);
		expect(output.logged(new RegExp(`Dify run ${runId} could not be stopped`))).not.toHaveLength(0);
	});

	it('Run re-attached after its run ended reports the task id its stream gave, not the run id', async () => {
		const standin = await standinWith();
		// The re-attach is told to come back in 2 s; the run ends meanwhile, so Dify answers with the
		// finished run's single frame, whose task_id is the run id.
		standin.failNext({ path: /\/events$/ }, { status: 503, headers: { 'Retry-After': '2' }, json: { code: 'unavailable', message: 'busy', status: 503 } });
		const result = await node(standin, runParameters({ topic: 'x', scenario: 'cut', delay_ms: 0 }));
		expect(result.error).toBeUndefined();
		const run = onlyRun(standin);
		expect(result.items[0].json).toMatchObject({ status: 'succeeded', workflow_run_id: run.id, task_id: run.taskId });
	});
});

describe('waits that outlast Dify’s idle close', () => {
	it('Watch Run with Continue On Pause waits through many idle closes for the answer, with each event once', async () => {
		const standin = await standinWith({ idleLimitMs: 300 });
		const paused = await node(standin, runParameters({ topic: 'x', scenario: 'paused' }));
		const runId = String(paused.items[0].json.workflow_run_id);
		const [form] = paused.items[0].json.human_input_forms as IDataObject[];
		const watching = node(
			standin,
			watchParameters(runId, { output: 'events', options: { continueOnPause: true, includeStateSnapshot: true, timeout: 60 } }),
		);
		// More quiet closes than a run may break in a row.
		await until(() => eventsRequests(standin).length >= 8, 'eight idle closes');
		await node(standin, {
			resource: 'humanInput',
			operation: 'submitForm',
			formToken: form.form_token,
			action: 'approve',
			formInputs: '{"feedback": "ok"}',
			user: 'reviewer-7',
		});
		const watched = await watching;
		expect(watched.error).toBeUndefined();
		const events = watched.items.map((item) => item.json);
		// The snapshot's replay once, then what the answer resumed, from its own workflow_started on.
		expect(events.slice(0, 7).map((event) => event.event)).toEqual([
			'workflow_started', 'node_started', 'node_finished', 'node_started', 'human_input_required', 'workflow_paused', 'workflow_started',
		]);
		expect(events[6].data).toMatchObject({ reason: 'resumption' });
		expect(events.filter((event) => event.event === 'workflow_paused')).toHaveLength(1);
		expect(events.filter((event) => event.event === 'human_input_required')).toHaveLength(1);
		expect(events.filter((event) => event.event === 'reattached')).toHaveLength(0);
		expect(events.at(-1)).toMatchObject({ event: 'workflow_finished', data: { status: 'succeeded' } });
		// Only the watch's own request asked for the history; the quiet closes were re-attached without it.
		const [first, ...rest] = eventsRequests(standin);
		expect(first.query).toMatchObject({ include_state_snapshot: 'true', continue_on_pause: 'true' });
		for (const request of rest) expect(request.query).toEqual({ user: 'user-42', continue_on_pause: 'true' });
	});

	it('the Timeout counts from the last event across the idle closes, then says so', async () => {
		const standin = await standinWith({ idleLimitMs: 300 });
		const paused = await node(standin, runParameters({ topic: 'x', scenario: 'paused' }));
		const runId = String(paused.items[0].json.workflow_run_id);
		const watched = await node(standin, watchParameters(runId, { options: { continueOnPause: true, timeout: 2 } }));
		expect(watched.error?.message).toBe('Dify sent no workflow event for 2 s, so the node stopped waiting');
		expect(eventsRequests(standin).length).toBeGreaterThanOrEqual(3);
	});

	it('a streaming Run goes on through a step that sends nothing for longer than Dify’s idle limit', async () => {
		const standin = await standinWith({ idleLimitMs: 300 });
		// Four seconds of silence: many more idle closes than a run may break in a row.
		const result = await node(standin, runParameters({ topic: '富士山', scenario: 'slow-step', delay_ms: 4_000 }, { options: { timeout: 60 } }));
		expect(result.error).toBeUndefined();
		expect(result.items[0].json).toMatchObject({ status: 'succeeded', outputs: { answer: expect.stringContaining('富士山') } });
		expect(eventsRequests(standin).length).toBeGreaterThanOrEqual(6);
		const runId = String(result.items[0].json.workflow_run_id);
		// Dify closing a quiet stream loses nothing: no warning about it.
		expect(output.logged(new RegExp(`re-attached to run ${runId} through its events endpoint`))).toHaveLength(0);

		standin.reset();
		const events = await node(standin, runParameters({ topic: '富士山', scenario: 'slow-step', delay_ms: 1_500 }, { output: 'events', options: { timeout: 60 } }));
		expect(events.error).toBeUndefined();
		const names = events.items.map((item) => item.json.event);
		expect(names.filter((name) => name === 'workflow_started')).toHaveLength(1);
		expect(names).not.toContain('reattached');
		expect(names.at(-1)).toBe('workflow_finished');
		const answer = events.items.filter((item) => item.json.event === 'text_chunk').map((item) => (item.json.data as IDataObject).text).join('');
		expect(answer).toBe((events.items.at(-1)?.json.data as { outputs: { answer: string } }).outputs.answer);
	});

	it('without re-attach, or on a Dify without the events endpoint, the closed stream is the error it was', async () => {
		const standin = await standinWith({ idleLimitMs: 300 });
		const off = await node(standin, runParameters({ topic: 'x', scenario: 'slow-step', delay_ms: 1_000 }, { options: { reattach: false } }));
		expect(off.error?.message).toBe('The event stream from Dify ended before the run finished');
	});
});

describe('a re-attached watch gives only events it has not given', () => {
	it('Watch Run without the snapshot, cut six times while the run goes on: no history, no event twice, the run’s end', async () => {
		const standin = await standinWith({ stepDelayMs: 40 });
		let runId = '';
		let watching: ReturnType<typeof node> | undefined;
		const started = sentEvents(standin.url, standin.apiKey, { topic: 'x', scenario: 'many', chunks: 60 }, {
			onEvent: (event) => {
				if (watching || typeof event.workflow_run_id !== 'string') return;
				runId = event.workflow_run_id;
				standin.failNext({ path: /\/events$/ }, { kind: 'cut-after-events', afterEvents: 2 }, 6);
				watching = node(standin, watchParameters(runId, { user: 'oracle', output: 'events', options: { timeout: 60 } }));
			},
		});
		expect((await started).end).toBe('terminal');
		const watched = await watching!;
		expect(watched.error).toBeUndefined();
		const events = watched.items.map((item) => item.json);
		expect(events.filter((event) => event.event === 'reattached').length).toBeGreaterThanOrEqual(1);
		const runEvents = events.filter((event) => event.event !== 'reattached');
		// Everything the watch gives was published after it began: not the run's start.
		expect(runEvents.map((event) => event.event)).not.toContain('workflow_started');
		const keys = runEvents.filter((event) => event.event !== 'text_chunk').map(identityOf);
		expect(new Set(keys).size).toBe(keys.length);
		// The chunks are numbered: none arrives twice, and they keep their order.
		const chunks = runEvents.filter((event) => event.event === 'text_chunk').map((event) => String((event.data as IDataObject).text));
		expect(new Set(chunks).size).toBe(chunks.length);
		expect(events.at(-1)).toMatchObject({ event: 'workflow_finished', workflow_run_id: runId, data: { status: 'succeeded' } });
		for (const request of eventsRequests(standin)) expect(request.query).toEqual({ user: 'oracle' });
		expect(eventsRequests(standin).length).toBeGreaterThanOrEqual(7);
	});
});
