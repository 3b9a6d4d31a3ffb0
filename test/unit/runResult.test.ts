import { parseOutputs, resultFromBlocking, RunAggregator } from '../../nodes/DifyWorkflow/helpers/runResult';

type Event = Record<string, unknown> & { event: string };

const envelope = (event: string, data: Record<string, unknown>): Event => ({
	event,
	workflow_run_id: 'run-1',
	task_id: 'task-1',
	data,
});

const finishedData = {
	id: 'run-1',
	workflow_id: 'wf-1',
	status: 'succeeded',
	outputs: { answer: '富士山' },
	error: null,
	elapsed_time: 1.4,
	total_tokens: 70,
	total_steps: 3,
	created_by: { id: 'u', user: 'user-42' },
	created_at: 1782806400,
	finished_at: 1782806401,
	exceptions_count: 0,
	files: [],
};

/** Feeds events and records which ones the aggregator asked to parse. */
function feed(events: Event[]) {
	const aggregator = new RunAggregator();
	const parsed: string[] = [];
	let endedAt = -1;
	events.forEach((event, index) => {
		if (endedAt >= 0) return;
		const ended = aggregator.accept(event.event, event, () => {
			parsed.push(event.event);
			return event;
		});
		if (ended) endedAt = index;
	});
	return { aggregator, parsed, endedAt };
}

describe('RunAggregator', () => {
	it('folds a streamed run into the final result, parsing only what it needs', () => {
		const events = [
			envelope('workflow_started', { id: 'run-1', workflow_id: 'wf-1', created_at: 1782806400 }),
			envelope('node_started', { node_id: 'n1' }),
			...Array.from({ length: 50 }, (_, i) => envelope('text_chunk', { text: `t${i}` })),
			envelope('node_finished', { node_id: 'n1', status: 'succeeded' }),
			envelope('workflow_finished', finishedData),
		];
		const { aggregator, parsed, endedAt } = feed(events);
		expect(endedAt).toBe(events.length - 1);
		expect(parsed).toEqual(['workflow_started', 'workflow_finished']);
		expect(aggregator.outcome()).toEqual({
			kind: 'finished',
			result: {
				workflow_run_id: 'run-1',
				task_id: 'task-1',
				workflow_id: 'wf-1',
				status: 'succeeded',
				outputs: { answer: '富士山' },
				error: null,
				elapsed_time: 1.4,
				total_tokens: 70,
				total_steps: 3,
				created_at: 1782806400,
				finished_at: 1782806401,
			},
		});
	});

	it('gives the same shape as a blocking answer of the same run', () => {
		const streamed = feed([envelope('workflow_finished', finishedData)]).aggregator.outcome();
		const blocking = resultFromBlocking({
			task_id: 'task-1',
			workflow_run_id: 'run-1',
			data: { ...finishedData, status: 'succeeded' },
		} as never);
		expect(streamed).toEqual({ kind: 'finished', result: blocking });
	});

	it('ends at an error event and keeps the run ids seen before it', () => {
		const { aggregator, endedAt } = feed([
			envelope('workflow_started', { id: 'run-1', workflow_id: 'wf-1' }),
			envelope('text_chunk', { text: 'x' }),
			{ event: 'error', workflow_run_id: 'run-1', code: 'internal_server_error', message: 'boom', status: 500 },
			envelope('workflow_finished', finishedData),
		]);
		expect(endedAt).toBe(2);
		expect(aggregator.outcome()).toEqual({
			kind: 'error',
			event: { event: 'error', workflow_run_id: 'run-1', code: 'internal_server_error', message: 'boom', status: 500 },
			run: { workflow_run_id: 'run-1', task_id: 'task-1', workflow_id: 'wf-1' },
		});
	});

	it('treats workflow_paused as the end, with status paused and no finish time', () => {
		const { aggregator } = feed([
			envelope('workflow_started', { id: 'run-1', workflow_id: 'wf-1', created_at: 100 }),
			envelope('human_input_required', { form_id: 'f' }),
			envelope('workflow_paused', {
				workflow_run_id: 'run-1',
				paused_nodes: ['n'],
				outputs: {},
				reasons: [],
				status: 'paused',
				created_at: 101,
				elapsed_time: 0.5,
				total_tokens: 3,
				total_steps: 2,
			}),
		]);
		expect(aggregator.outcome()).toMatchObject({
			kind: 'finished',
			result: { status: 'paused', workflow_id: 'wf-1', created_at: 100, finished_at: null, outputs: {} },
		});
	});

	it('has no outcome when the stream ends early, but knows the run from the first frame', () => {
		const { aggregator } = feed([envelope('node_started', { node_id: 'n1' }), envelope('text_chunk', { text: 'a' })]);
		expect(aggregator.outcome()).toBeUndefined();
		expect(aggregator.knownRun()).toEqual({ workflow_run_id: 'run-1', task_id: 'task-1' });
	});

	it('passes unknown events by without failing', () => {
		const { aggregator } = feed([
			envelope('future_event', { x: 1 }),
			envelope('workflow_finished', finishedData),
		]);
		expect(aggregator.outcome()?.kind).toBe('finished');
	});

	it('does not call a terminal event without a status a success', () => {
		const { aggregator } = feed([{ event: 'workflow_finished', workflow_run_id: 'run-1', task_id: 'task-1' }]);
		expect(aggregator.outcome()).toMatchObject({ kind: 'finished', result: { status: 'failed', outputs: {} } });
	});
});

describe('parseOutputs', () => {
	it('accepts objects, JSON text (Dify 1.11 run detail) and null', () => {
		expect(parseOutputs({ a: 1 })).toEqual({ a: 1 });
		expect(parseOutputs('{"a": "\\u5bcc"}')).toEqual({ a: '富' });
		expect(parseOutputs(null)).toEqual({});
		expect(parseOutputs('not json')).toEqual({ value: 'not json' });
	});
});
