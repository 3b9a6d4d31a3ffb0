import { randomBytes, randomUUID } from 'node:crypto';

import type {
	DifyBlockingRunResponse,
	DifyRunData,
	DifyWorkflowStatus,
} from '../../nodes/DifyWorkflow/types';
import type { DifyVersion, ScenarioName, StoredRun } from './app';
import { elapsedSince, nowSeconds } from './app';

/**
 * What a run does, as a lazy sequence of steps. The same sequence drives a streamed run (events
 * become SSE frames) and a blocking one (events only update the stored run), so both modes of a
 * scenario end in the same state. Sequences are generated on demand: a run of a million events
 * never exists in memory at once.
 */
export type Step =
	| { kind: 'event'; event: DifyEvent }
	/** A pre-serialised event that changes nothing in the stored run: the fast path for bulk text. */
	| { kind: 'encoded'; json: string }
	/**
	 * The events `${head}${n}${tail}` for n from `from` to `to`: pre-serialised, changing nothing in
	 * the stored run, and written without building a string per event. The fast path for huge runs.
	 */
	| { kind: 'numbered'; head: string; tail: string; from: number; to: number }
	| { kind: 'sleep'; ms: number }
	/** Keep the connection open without data (with or without keep-alive pings) until the client leaves. */
	| { kind: 'idle'; pings: boolean }
	/** Cut the connection inside this event's `data:` line. */
	| { kind: 'drop'; event: DifyEvent }
	/**
	 * Cut the client's connection inside this event's `data:` line while the run carries on, as a
	 * Dify worker does: the event and the steps after it are published to the run's watchers.
	 */
	| { kind: 'cut'; event: DifyEvent };

/** An event as it goes on the wire; key order is the order Dify serialises. */
export type DifyEvent = Record<string, unknown> & { event: string };

export const STOPPED_BY_USER = 'Stopped by user.';
const STREAM_ERROR_MESSAGE = 'Internal Server Error, please contact support.';
const RATE_LIMIT_MESSAGE = 'Rate limit reached for gpt-4o-mini in organization org-standin on tokens per min (TPM): Limit 200000.';
/** What 1.15+ appends when a stream ends without a terminal event, after an `error` event say. */
export const NO_TERMINAL_EVENT_MESSAGE = 'Workflow stream ended without a terminal event';
const TERMINAL = new Set(['workflow_finished', 'workflow_paused', 'error']);

interface NodeSpec {
	node_id: string;
	node_type: string;
	title: string;
}

const START: NodeSpec = { node_id: '1782800000001', node_type: 'start', title: '開始' };
const LLM: NodeSpec = { node_id: '1782800000002', node_type: 'llm', title: 'LLM' };
const END: NodeSpec = { node_id: '1782800000003', node_type: 'end', title: '終了' };
const CODE: NodeSpec = { node_id: '1782800000004', node_type: 'code', title: 'Divide' };
const ITERATION: NodeSpec = { node_id: '1782800000010', node_type: 'iteration', title: 'Iteration' };
const TRANSLATE: NodeSpec = { node_id: '1782800000011', node_type: 'llm', title: 'Translate' };
const LOOP: NodeSpec = { node_id: '1782800000020', node_type: 'loop', title: 'Loop' };
const FETCH: NodeSpec = { node_id: '1782800000021', node_type: 'http-request', title: 'Fetch' };
const AGENT: NodeSpec = { node_id: '1782800000022', node_type: 'agent', title: 'Summarise' };
const REVIEW: NodeSpec = { node_id: '1782800000040', node_type: 'human-input', title: 'Review' };

const LLM_USAGE = {
	prompt_tokens: 42,
	prompt_unit_price: 0.15,
	prompt_price_unit: 1e-6,
	prompt_price: 6.3e-6,
	completion_tokens: 28,
	completion_unit_price: 0.6,
	completion_price_unit: 1e-6,
	completion_price: 0.0000168,
	total_tokens: 70,
	total_price: 0.0000231,
	currency: 'USD',
	latency: 1.284,
};

const CODE_TRACEBACK =
	'Traceback (most recent call last):\n  File "/var/sandbox/sandbox-python/tmp/8f2c1a.py", line 12, in <module>\n' +
	'  File "<string>", line 3, in main\nZeroDivisionError: division by zero\nerror: exit status 255';

/** A node execution: the data its started and finished events share. */
interface NodeRun {
	id: string;
	spec: NodeSpec;
	createdAt: number;
	startedAtMs: number;
	iterationId: string | null;
	loopId: string | null;
	/** The iteration or loop index, for execution_metadata. */
	index?: number;
}

type NodeStatus = 'succeeded' | 'failed' | 'exception' | 'stopped' | 'retry';

interface NodeResult {
	inputs?: Record<string, unknown> | null;
	processData?: Record<string, unknown> | null;
	outputs?: Record<string, unknown> | null;
	status?: NodeStatus;
	error?: string | null;
	metadata?: Record<string, unknown> | null;
}

/** Builds the events of one run, with the envelope and field order of Dify 1.13. */
class RunEvents {
	private readonly nodes = new Map<string, NodeRun>();

	constructor(
		readonly run: StoredRun,
		/** The pre-run failure events of 1.15+ carry the run id as task id. */
		private readonly taskId = run.taskId,
	) {}

	private envelope(event: string, data: Record<string, unknown>): DifyEvent {
		return { event, workflow_run_id: this.run.id, task_id: this.taskId, data };
	}

	workflowStarted(inputs = this.run.inputs, reason: 'initial' | 'resumption' = 'initial'): DifyEvent {
		return this.envelope('workflow_started', {
			id: this.run.id,
			workflow_id: this.run.workflowId,
			inputs,
			created_at: reason === 'resumption' ? nowSeconds() : this.run.createdAt,
			reason,
		});
	}

	workflowFinished(
		status: DifyWorkflowStatus,
		outputs: Record<string, unknown> | null,
		totals: { tokens: number; steps: number; error?: string | null; exceptions?: number; synthetic?: boolean },
	): DifyEvent {
		const synthetic = totals.synthetic ?? false;
		const data: DifyRunData = {
			id: this.run.id,
			workflow_id: this.run.workflowId,
			status,
			outputs,
			error: totals.error ?? null,
			elapsed_time: synthetic ? 0 : elapsedSince(this.run.startedAtMs),
			total_tokens: totals.tokens,
			total_steps: totals.steps,
			created_by: synthetic ? {} : { id: this.run.endUserId, user: this.run.user },
			created_at: synthetic ? nowSeconds() : this.run.createdAt,
			finished_at: nowSeconds(),
			exceptions_count: totals.exceptions ?? 0,
			files: [],
		};
		return this.envelope('workflow_finished', data);
	}

	node(spec: NodeSpec, scope: { iterationId?: string; loopId?: string; index?: number } = {}): NodeRun {
		const node: NodeRun = {
			id: randomUUID(),
			spec,
			createdAt: nowSeconds(),
			startedAtMs: Date.now(),
			iterationId: scope.iterationId ?? null,
			loopId: scope.loopId ?? null,
			index: scope.index,
		};
		this.nodes.set(node.id, node);
		return node;
	}

	nodeRun(id: string): NodeRun | undefined {
		return this.nodes.get(id);
	}

	nodeStarted(node: NodeRun, agentStrategy: Record<string, unknown> | null = null): DifyEvent {
		return this.envelope('node_started', {
			id: node.id,
			...node.spec,
			index: 1,
			predecessor_node_id: null,
			inputs: null,
			inputs_truncated: false,
			created_at: node.createdAt,
			extras: {},
			iteration_id: node.iterationId,
			loop_id: node.loopId,
			agent_strategy: agentStrategy,
		});
	}

	private nodeOutcome(node: NodeRun, result: NodeResult): Record<string, unknown> {
		const scopeMetadata = node.iterationId
			? { iteration_id: node.iterationId, iteration_index: node.index }
			: node.loopId
				? { loop_id: node.loopId, loop_index: node.index }
				: {};
		const metadata =
			result.metadata === null || (result.metadata === undefined && !node.iterationId && !node.loopId)
				? null
				: { ...result.metadata, ...scopeMetadata };
		return {
			id: node.id,
			...node.spec,
			index: 1,
			predecessor_node_id: null,
			inputs: result.inputs === undefined ? {} : result.inputs,
			inputs_truncated: false,
			process_data: result.processData === undefined ? {} : result.processData,
			process_data_truncated: false,
			outputs: result.outputs === undefined ? {} : result.outputs,
			outputs_truncated: false,
			status: result.status ?? 'succeeded',
			error: result.error ?? null,
			elapsed_time: elapsedSince(node.startedAtMs),
			execution_metadata: metadata,
			created_at: node.createdAt,
			finished_at: nowSeconds(),
			files: [],
			iteration_id: node.iterationId,
			loop_id: node.loopId,
		};
	}

	nodeFinished(node: NodeRun, result: NodeResult = {}): DifyEvent {
		return this.envelope('node_finished', this.nodeOutcome(node, result));
	}

	nodeRetry(node: NodeRun, error: string, retryIndex: number): DifyEvent {
		const outcome = this.nodeOutcome(node, { status: 'retry', error, outputs: null, metadata: null });
		return this.envelope('node_retry', { ...outcome, retry_index: retryIndex });
	}

	textChunk(text: string, selector: string[]): DifyEvent {
		return this.envelope('text_chunk', { text, from_variable_selector: selector });
	}

	/** Container events (iteration_*, loop_*) use the node id as `id`: they have no execution id. */
	container(event: string, spec: NodeSpec, fields: Record<string, unknown>): DifyEvent {
		return this.envelope(event, { id: spec.node_id, ...spec, ...fields });
	}

	custom(event: string, data: Record<string, unknown>): DifyEvent {
		return this.envelope(event, data);
	}

	/** TTS frames put `audio` where other events put `data`. */
	tts(event: 'tts_message' | 'tts_message_end', audio: string): DifyEvent {
		return { event, workflow_run_id: this.run.id, task_id: this.taskId, audio };
	}

	/** The `error` frame: no task id, fields at the top level, `message` before `status` for this code. */
	streamError(): DifyEvent {
		return {
			event: 'error',
			workflow_run_id: this.run.id,
			code: 'internal_server_error',
			message: STREAM_ERROR_MESSAGE,
			status: 500,
		};
	}

	/** A model rate limit that reaches the stream: 1.16 names it, older versions call it a completion error. */
	rateLimitError(version: DifyVersion): DifyEvent {
		return version === '1.16'
			? { event: 'error', workflow_run_id: this.run.id, code: 'rate_limit_error', status: 429, message: RATE_LIMIT_MESSAGE }
			: { event: 'error', workflow_run_id: this.run.id, code: 'completion_request_error', message: RATE_LIMIT_MESSAGE, status: 400 };
	}
}

const event = (e: DifyEvent): Step => ({ kind: 'event', event: e });
const sleep = (ms: number): Step => ({ kind: 'sleep', ms });

function numberInput(run: StoredRun, name: string, fallback: number): number {
	const value = run.inputs[name];
	return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value) : fallback;
}

function topicOf(run: StoredRun): string {
	return typeof run.inputs.topic === 'string' ? run.inputs.topic : '';
}

/** The streamed answer of transcript (a) of dify-sse-examples.md, about whatever the topic is. */
function answerChunks(topic: string): string[] {
	return [`${topic}は`, '日本で最も', '高い山です。', '標高は3,776', 'メートルです🗻', ''];
}

function startNodeIo(run: StoredRun): NodeResult {
	const io = { ...run.inputs, 'sys.timestamp': run.createdAt };
	return { inputs: io, outputs: io, metadata: null };
}

function* startNode(f: RunEvents): Generator<Step> {
	const start = f.node(START);
	yield event(f.nodeStarted(start));
	yield event(f.nodeFinished(start, startNodeIo(f.run)));
}

function llmResult(topic: string, answer: string): NodeResult {
	return {
		processData: {
			model_mode: 'chat',
			prompts: [
				{ role: 'system', text: 'あなたは日本の地理に詳しいアシスタントです。', files: [] },
				{ role: 'user', text: `${topic}について一文で説明してください。`, files: [] },
			],
			usage: LLM_USAGE,
			finish_reason: 'stop',
			model_provider: 'langgenius/openai/openai',
			model_name: 'gpt-4o-mini',
		},
		outputs: { text: answer, reasoning_content: '', usage: LLM_USAGE, finish_reason: 'stop' },
		metadata: { total_tokens: 70, total_price: '0.0000231', currency: 'USD' },
	};
}

interface LlmHooks {
	/** Extra steps after the text chunk at this index. */
	afterChunk?: (index: number) => Iterable<Step>;
	/** Extra steps just before workflow_finished. */
	beforeFinish?: () => Iterable<Step>;
	/** The run's outputs, when they are more than the answer. */
	outputs?: (answer: string) => Record<string, unknown>;
	/** Extra steps between the LLM's node_started and its first text chunk. */
	beforeFirstChunk?: () => Iterable<Step>;
}

/** Files that runs of the `files` scenario output, served at /files/<id>/file-preview. */
export const OUTPUT_FILES: Record<string, { filename: string; mimeType: string; content: Buffer }> = {
	'7d0c1a52-0b6f-4f0e-9a53-1c2e3f4a5b01': {
		filename: 'report.txt',
		mimeType: 'text/plain',
		content: Buffer.from('Mount Fuji report: 3,776 m. 富士山\n', 'utf8'),
	},
	'7d0c1a52-0b6f-4f0e-9a53-1c2e3f4a5b02': {
		filename: 'chart.png',
		mimeType: 'image/png',
		content: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'),
	},
};

/** A file object as Dify puts it into outputs (dify-api.md §6), with a signed relative URL. */
function outputFile(id: string, tenantId: string): Record<string, unknown> {
	const file = OUTPUT_FILES[id];
	const extension = file.filename.slice(file.filename.lastIndexOf('.'));
	return {
		dify_model_identity: '__dify__file__',
		id: null,
		tenant_id: tenantId,
		type: file.mimeType.startsWith('image/') ? 'image' : 'document',
		transfer_method: 'tool_file',
		remote_url: null,
		related_id: id,
		filename: file.filename,
		extension,
		mime_type: file.mimeType,
		size: file.content.length,
		url: `/files/${id}/file-preview?timestamp=1782806400&nonce=abc123&sign=c2lnbmVk`,
	};
}

/** Transcript (a): start → LLM (streamed tokens) → end. */
function* llm(f: RunEvents, hooks: LlmHooks = {}): Generator<Step> {
	const topic = topicOf(f.run);
	const chunks = answerChunks(topic);
	const answer = chunks.join('');
	yield event(f.workflowStarted());
	yield* startNode(f);
	const model = f.node(LLM);
	yield event(f.nodeStarted(model));
	if (hooks.beforeFirstChunk) yield* hooks.beforeFirstChunk();
	for (const [index, text] of chunks.entries()) {
		yield event(f.textChunk(text, [LLM.node_id, 'text']));
		if (hooks.afterChunk) yield* hooks.afterChunk(index);
	}
	yield event(f.nodeFinished(model, llmResult(topic, answer)));
	const end = f.node(END);
	yield event(f.nodeStarted(end));
	yield event(f.nodeFinished(end, { inputs: { answer }, outputs: { answer }, metadata: null }));
	if (hooks.beforeFinish) yield* hooks.beforeFinish();
	yield event(f.workflowFinished('succeeded', hooks.outputs ? hooks.outputs(answer) : { answer }, { tokens: 70, steps: 3 }));
}

/** The first `chunkCount` steps of an LLM run's text, for scenarios that break off there. */
function* llmOpening(f: RunEvents, chunkCount: number): Generator<Step> {
	yield event(f.workflowStarted());
	yield* startNode(f);
	const model = f.node(LLM);
	yield event(f.nodeStarted(model));
	for (const text of answerChunks(topicOf(f.run)).slice(0, chunkCount)) {
		yield event(f.textChunk(text, [LLM.node_id, 'text']));
	}
}

/** Transcript (b): a Code node raises; the workflow fails, HTTP stays 200. */
function* fail(f: RunEvents): Generator<Step> {
	yield event(f.workflowStarted());
	yield* startNode(f);
	const code = f.node(CODE);
	yield event(f.nodeStarted(code));
	yield event(
		f.nodeFinished(code, {
			inputs: { topic: topicOf(f.run) },
			status: 'failed',
			error: CODE_TRACEBACK,
			metadata: null,
		}),
	);
	yield event(f.workflowFinished('failed', {}, { tokens: 0, steps: 2, error: CODE_TRACEBACK }));
}

/** Transcript (c): an Iteration over two items with an LLM inside. */
function* iteration(f: RunEvents): Generator<Step> {
	const items = ['りんご', 'みかん'];
	const translations = ['Apple', 'Mandarin orange'];
	const tokens = [32, 34];
	yield event(f.workflowStarted());
	yield* startNode(f);
	const startedAtMs = Date.now();
	const createdAt = nowSeconds();
	yield event(
		f.container('iteration_started', ITERATION, {
			created_at: createdAt,
			extras: {},
			metadata: { iteration_length: items.length },
			inputs: { iterator_selector: items },
			inputs_truncated: false,
		}),
	);
	const durations: Record<string, number> = {};
	for (const [index, item] of items.entries()) {
		const itemStartedAtMs = Date.now();
		yield event(f.container('iteration_next', ITERATION, { index, created_at: nowSeconds(), extras: {} }));
		const translate = f.node(TRANSLATE, { iterationId: ITERATION.node_id, index });
		yield event(f.nodeStarted(translate));
		yield event(
			f.nodeFinished(translate, {
				processData: {
					model_mode: 'chat',
					prompts: [{ role: 'user', text: `Translate to English: ${item}`, files: [] }],
					finish_reason: 'stop',
					model_provider: 'langgenius/openai/openai',
					model_name: 'gpt-4o-mini',
				},
				outputs: { text: translations[index], reasoning_content: '', finish_reason: 'stop' },
				metadata: { total_tokens: tokens[index], total_price: index === 0 ? '0.0000057' : '0.0000065', currency: 'USD' },
			}),
		);
		durations[String(index)] = elapsedSince(itemStartedAtMs);
	}
	yield event(
		f.container('iteration_completed', ITERATION, {
			outputs: { output: translations },
			outputs_truncated: false,
			created_at: createdAt,
			extras: {},
			inputs: { iterator_selector: items },
			inputs_truncated: false,
			status: 'succeeded',
			error: null,
			elapsed_time: elapsedSince(startedAtMs),
			total_tokens: 66,
			execution_metadata: { total_tokens: 66, total_price: '0.0000121', currency: 'USD', iteration_duration_map: durations },
			finished_at: nowSeconds(),
			steps: items.length,
		}),
	);
	yield event(f.textChunk(translations.map((text) => `- ${text}`).join('\n'), [ITERATION.node_id, 'output']));
	const end = f.node(END);
	yield event(f.nodeStarted(end));
	yield event(f.nodeFinished(end, { inputs: { translations }, outputs: { translations }, metadata: null }));
	yield event(f.workflowFinished('succeeded', { translations }, { tokens: 66, steps: 5 }));
}

/** A Loop of two rounds: an HTTP node that needs one retry, then an agent that logs its reasoning once. */
function* loop(f: RunEvents): Generator<Step> {
	const topic = topicOf(f.run);
	const rounds = 2;
	yield event(f.workflowStarted());
	yield* startNode(f);
	const startedAtMs = Date.now();
	const createdAt = nowSeconds();
	yield event(
		f.container('loop_started', LOOP, {
			created_at: createdAt,
			extras: {},
			metadata: { loop_length: rounds },
			inputs: {},
			inputs_truncated: false,
		}),
	);
	const durations: Record<string, number> = {};
	const variables: Record<string, Record<string, unknown>> = {};
	const notes: string[] = [];
	for (let index = 0; index < rounds; index++) {
		const roundStartedAtMs = Date.now();
		yield event(
			f.container('loop_next', LOOP, { index, pre_loop_output: {}, created_at: nowSeconds(), extras: {} }),
		);
		const fetch = f.node(FETCH, { loopId: LOOP.node_id, index });
		yield event(f.nodeStarted(fetch));
		if (index === 0) yield event(f.nodeRetry(fetch, 'Request timed out after 10.0 seconds', 1));
		yield event(
			f.nodeFinished(fetch, {
				inputs: { url: `https://example.com/search?q=${encodeURIComponent(topic)}&page=${index + 1}` },
				outputs: { status_code: 200, body: `{"page": ${index + 1}}`, headers: { 'content-type': 'application/json' }, files: [] },
				metadata: {},
			}),
		);
		const agent = f.node(AGENT, { loopId: LOOP.node_id, index });
		yield event(f.nodeStarted(agent, { name: 'function_calling', icon: null }));
		const note = `Round ${index + 1}: notes about ${topic}.`;
		notes.push(note);
		if (index === 0) {
			yield event(
				f.custom('agent_log', {
					node_execution_id: agent.id,
					id: randomUUID(),
					label: 'ROUND 1',
					parent_id: null,
					error: null,
					status: 'success',
					data: { output: note },
					metadata: { elapsed_time: 0.42, provider: 'langgenius/openai/openai', total_tokens: 24 },
					node_id: AGENT.node_id,
				}),
			);
		}
		yield event(
			f.nodeFinished(agent, {
				outputs: { text: note, files: [], json: [] },
				metadata: { total_tokens: 24, total_price: '0.0000072', currency: 'USD' },
			}),
		);
		durations[String(index)] = elapsedSince(roundStartedAtMs);
		variables[String(index)] = { round: index + 1 };
	}
	const answer = notes.join('\n');
	yield event(
		f.container('loop_completed', LOOP, {
			outputs: { notes },
			outputs_truncated: false,
			created_at: createdAt,
			extras: {},
			inputs: {},
			inputs_truncated: false,
			status: 'succeeded',
			error: null,
			elapsed_time: elapsedSince(startedAtMs),
			total_tokens: 48,
			execution_metadata: {
				total_tokens: 48,
				total_price: '0.0000144',
				currency: 'USD',
				loop_duration_map: durations,
				loop_variable_map: variables,
				completed_reason: 'loop_count_reached',
			},
			finished_at: nowSeconds(),
			steps: rounds,
		}),
	);
	yield event(f.textChunk(answer, [LOOP.node_id, 'notes']));
	const end = f.node(END);
	yield event(f.nodeStarted(end));
	yield event(f.nodeFinished(end, { inputs: { answer }, outputs: { answer }, metadata: null }));
	yield event(f.workflowFinished('succeeded', { answer }, { tokens: 48, steps: 3 + rounds * 2 }));
}

/** Transcript (d): an error outside any node after the first token; what follows depends on the version. */
function* streamError(f: RunEvents, version: DifyVersion): Generator<Step> {
	yield* llmOpening(f, 1);
	yield event(f.streamError());
	yield* afterStreamError(f, version);
}

/** What follows an `error` event: silence (1.13), a clean close (1.11), an appended failed run (1.15+). */
function* afterStreamError(f: RunEvents, version: DifyVersion): Generator<Step> {
	if (version === '1.13') {
		yield { kind: 'idle', pings: false };
	} else if (version === '1.16') {
		yield event(
			f.workflowFinished('failed', null, { tokens: 0, steps: 0, error: NO_TERMINAL_EVENT_MESSAGE, exceptions: 1, synthetic: true }),
		);
	}
}

/** The stream ends after two tokens; 1.15+ appends the failed workflow_finished it owes. */
function* truncated(f: RunEvents, version: DifyVersion): Generator<Step> {
	yield* llmOpening(f, 2);
	if (version === '1.16') {
		yield event(
			f.workflowFinished('failed', null, { tokens: 0, steps: 0, error: NO_TERMINAL_EVENT_MESSAGE, exceptions: 1, synthetic: true }),
		);
	}
}

/** A model rate limit reaches the stream after the first token (dify-api.md §12.6). */
function* rateLimited(f: RunEvents, version: DifyVersion): Generator<Step> {
	yield* llmOpening(f, 1);
	yield event(f.rateLimitError(version));
	yield* afterStreamError(f, version);
}

/**
 * 1.15+: an LLM whose reasoning format is `separated` streams its thinking as reasoning_chunk
 * deltas before the answer, and a final empty one after it. Older versions send the answer alone.
 */
function reasoning(f: RunEvents, version: DifyVersion): Iterable<Step> {
	if (version !== '1.16') return llm(f);
	const chunk = (text: string, final: boolean) =>
		event(f.custom('reasoning_chunk', { message_id: null, reasoning: text, node_id: LLM.node_id, is_final: final }));
	const last = answerChunks(topicOf(f.run)).length - 1;
	return llm(f, {
		afterChunk: (index) => (index === last ? [chunk('', true)] : []),
		beforeFirstChunk: () => [chunk('標高を確認する。', false), chunk('三七七六メートル。', false)],
	});
}

/**
 * The client's connection is cut inside the fifth event (the first text chunk) while the run goes
 * on: it pauses `delay_ms` (default 300), then finishes for whoever re-attached meanwhile.
 */
function* cutOff(f: RunEvents, steps: Iterable<Step>): Generator<Step> {
	const cutAfter = 5;
	const pauseMs = numberInput(f.run, 'delay_ms', 300);
	let events = 0;
	for (const step of steps) {
		if (step.kind === 'event' && ++events === cutAfter) {
			yield { kind: 'cut', event: step.event };
			yield sleep(pauseMs);
			continue;
		}
		yield step;
	}
}

/** A Human Input node pauses the run; the stream ends at workflow_paused. */
function* paused(f: RunEvents, version: DifyVersion): Generator<Step> {
	const startedAtMs = f.run.startedAtMs;
	yield event(f.workflowStarted());
	yield* startNode(f);
	const review = f.node(REVIEW);
	yield event(f.nodeStarted(review));
	const form = reviewForm(f.run, version);
	yield event(f.custom('human_input_required', form));
	const { display_in_ui: displayInUi, expiration_time: expirationTime, approval_channels: channels, ...common } = form;
	const reason =
		version === '1.16'
			? {
					TYPE: 'human_input_required',
					form_id: common.form_id,
					form_content: common.form_content,
					inputs: common.inputs,
					actions: common.actions,
					node_id: common.node_id,
					node_title: common.node_title,
					resolved_default_values: common.resolved_default_values,
					form_token: common.form_token,
					approval_channels: channels,
					expiration_time: expirationTime,
				}
			: {
					TYPE: 'human_input_required',
					form_id: common.form_id,
					form_content: common.form_content,
					inputs: common.inputs,
					actions: common.actions,
					display_in_ui: displayInUi,
					node_id: common.node_id,
					node_title: common.node_title,
					resolved_default_values: common.resolved_default_values,
					form_token: common.form_token,
				};
	yield event(
		f.custom('workflow_paused', {
			workflow_run_id: f.run.id,
			paused_nodes: [REVIEW.node_id],
			outputs: {},
			reasons: [reason],
			status: 'paused',
			created_at: nowSeconds(),
			elapsed_time: elapsedSince(startedAtMs),
			total_tokens: 0,
			total_steps: 2,
		}),
	);
}

const FORM_TOKEN_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A WebApp form token: 22 characters of [A-Za-z0-9]. */
function formToken(): string {
	const bytes = randomBytes(22);
	let token = '';
	for (const byte of bytes) token += FORM_TOKEN_LETTERS[byte % FORM_TOKEN_LETTERS.length];
	return token;
}

/**
 * The Review node's form, as human_input_required carries it. 1.14+ gives Service-API runs the
 * WebApp token (null with `delivery: "email"`); 1.15+ adds approval_channels.
 */
function reviewForm(run: StoredRun, version: DifyVersion): Record<string, unknown> {
	const emailOnly = run.inputs.delivery === 'email';
	const ttlSeconds = numberInput(run, 'form_ttl', 86_400);
	const form: Record<string, unknown> = {
		form_id: randomUUID(),
		node_id: REVIEW.node_id,
		node_title: REVIEW.title,
		...(run.reviewForm === 'full' ? fullReview(run) : {
			form_content: `## Review\n\nPlease check the draft about **${topicOf(run)}**.\n\n{{#$output.feedback#}}`,
			inputs: [{ type: 'paragraph', output_variable_name: 'feedback', default: null }],
		}),
		actions: [
			{ id: 'approve', title: 'Approve', button_style: 'primary' },
			{ id: 'reject', title: 'Reject', button_style: 'default' },
		],
		display_in_ui: !emailOnly,
		form_token: version === '1.16' && !emailOnly ? formToken() : null,
	};
	if (version === '1.16') form.approval_channels = emailOnly ? ['console', 'email'] : ['console'];
	form.resolved_default_values = run.reviewForm === 'full' ? { feedback: `Draft <v1> about ${topicOf(run)}` } : {};
	// Whole seconds, never before the TTL has passed: a form with a TTL of 1 s stays open 1 s at least.
	form.expiration_time = Math.ceil((Date.now() + ttlSeconds * 1000) / 1000);
	return form;
}

/**
 * The Review form with one input of each kind a person answers in 1.15+ (StandinOptions.reviewForm `full`):
 * a paragraph with a default from the run, a select and a document file.
 */
function fullReview(run: StoredRun): Record<string, unknown> {
	return {
		form_content: `## Review\n\nPlease check the draft about **${topicOf(run)}**.\n\n{{#$output.feedback#}}\n\nPriority: {{#$output.priority#}}`,
		inputs: [
			{ type: 'paragraph', output_variable_name: 'feedback', default: { type: 'variable', selector: ['1782800000030', 'text'], value: '' } },
			{ type: 'select', output_variable_name: 'priority', option_source: { type: 'constant', selector: [], value: ['High', 'Medium', 'Low'] } },
			{
				type: 'file',
				output_variable_name: 'evidence',
				allowed_file_types: ['document'],
				allowed_file_extensions: [],
				allowed_file_upload_methods: ['local_file', 'remote_url'],
			},
		],
	};
}

/** What the person answered on a form. */
export interface FormSubmission {
	inputs: Record<string, unknown>;
	actionId: string;
	actionTitle: string;
	renderedContent: string;
}

/**
 * The rest of a paused run once its form was answered, as the background worker publishes it
 * (dify-api.md §12.3, step 6): workflow_started with reason `resumption`, the Review node again
 * (same execution id) with the submitted values, then the End node and workflow_finished.
 */
export function resumeSteps(run: StoredRun, submission: FormSubmission): Iterable<Step> {
	const f = new RunEvents(run);
	const waiting = [...run.nodeEvents.entries()].find(([, node]) => node.started.node_id === REVIEW.node_id && !node.finished);
	return stoppable(resumed(f, submission, waiting?.[0]), f);
}

function* resumed(f: RunEvents, submission: FormSubmission, reviewExecutionId: string | undefined): Generator<Step> {
	yield event(f.workflowStarted(f.run.inputs, 'resumption'));
	const review = f.node(REVIEW);
	if (reviewExecutionId) review.id = reviewExecutionId;
	yield event(f.nodeStarted(review));
	const values = { ...submission.inputs, __action_id: submission.actionId, __action_value: submission.actionTitle, __rendered_content: submission.renderedContent };
	yield event(f.nodeFinished(review, { inputs: {}, outputs: values, metadata: null }));
	const feedback = typeof submission.inputs.feedback === 'string' ? submission.inputs.feedback : '';
	const answered = f.run.reviewForm === 'full' ? { priority: submission.inputs.priority, evidence: submission.inputs.evidence } : {};
	const outputs = { decision: submission.actionId, feedback, topic: topicOf(f.run), ...answered };
	const end = f.node(END);
	yield event(f.nodeStarted(end));
	yield event(f.nodeFinished(end, { inputs: outputs, outputs, metadata: null }));
	yield event(f.workflowFinished('succeeded', outputs, { tokens: 0, steps: 4 }));
}

const WAIT_STOP_LIMIT_MS = 30_000;

/** An LLM that keeps talking until stopped (the stop wrapper ends it), or succeeds after 30 s. */
function* waitForStop(f: RunEvents, delayMs: number): Generator<Step> {
	yield event(f.workflowStarted());
	const model = f.node(LLM);
	yield event(f.nodeStarted(model));
	const deadline = Date.now() + WAIT_STOP_LIMIT_MS;
	let text = '';
	for (let n = 1; Date.now() < deadline; n++) {
		yield sleep(delayMs);
		const chunk = `tick-${n} `;
		text += chunk;
		yield event(f.textChunk(chunk, [LLM.node_id, 'text']));
	}
	yield event(f.nodeFinished(model, { outputs: { text }, metadata: null }));
	yield event(f.workflowFinished('succeeded', { answer: text }, { tokens: 0, steps: 1 }));
}

/** `count` tiny text chunks, serialised from one template so that a million of them stay cheap. */
function* many(f: RunEvents, count: number): Generator<Step> {
	yield event(f.workflowStarted());
	const emptyText = '"text":""';
	const template = JSON.stringify(f.textChunk('', [LLM.node_id, 'text']));
	const at = template.indexOf(emptyText);
	const head = template.slice(0, at);
	const tail = template.slice(at + emptyText.length);
	yield { kind: 'numbered', head: `${head}"text":"tok-`, tail: ` "${tail}`, from: 1, to: count };
	yield event(f.workflowFinished('succeeded', { answer: manyAnswer(count) }, { tokens: count, steps: 1 }));
}

let lastManyAnswer = { count: 0, text: '' };

/** The text of `count` chunks of `many`; the last one is kept, as benchmarks repeat the same run. */
function manyAnswer(count: number): string {
	if (lastManyAnswer.count !== count) {
		const parts: string[] = [];
		for (let n = 1; n <= count; n++) parts.push(`tok-${n} `);
		lastManyAnswer = { count, text: parts.join('') };
	}
	return lastManyAnswer.text;
}

/**
 * The first token arrives; the connection dies inside the second one's `data:` line. From 1.13 on
 * the run itself goes on to the end (runner.ts), with no one listening.
 */
function* dropped(f: RunEvents): Generator<Step> {
	let events = 0;
	for (const step of llm(f)) {
		// workflow_started, the Start node's two events, the LLM's node_started, the first token: then the second.
		if (step.kind === 'event' && ++events === 6) yield { kind: 'drop', event: step.event };
		else yield step;
	}
}

/** Sleeps before every event: a run that takes its time without being silent. */
function* paced(steps: Iterable<Step>, delayMs: number): Generator<Step> {
	for (const step of steps) {
		if (step.kind === 'numbered') {
			for (let n = step.from; n <= step.to; n++) {
				yield sleep(delayMs);
				yield { kind: 'encoded', json: `${step.head}${n}${step.tail}` };
			}
			continue;
		}
		if (step.kind === 'event' || step.kind === 'encoded') yield sleep(delayMs);
		yield step;
	}
}

/** Fake MP3 bytes, different per chunk, in base64 as Dify sends them. */
function audioChunk(index: number): string {
	return Buffer.from(`ID3\u0004\u0000\u0000tts-frame-${index}`, 'latin1').toString('base64');
}

function scenarioSteps(f: RunEvents, scenario: ScenarioName, version: DifyVersion): Iterable<Step> {
	const run = f.run;
	switch (scenario) {
		case 'llm':
			return llm(f);
		case 'fail':
			return fail(f);
		case 'iteration':
			return iteration(f);
		case 'loop':
			return loop(f);
		case 'error':
			return streamError(f, version);
		case 'paused':
			return paused(f, version);
		case 'cut':
			return cutOff(f, llm(f));
		case 'reasoning':
			return reasoning(f, version);
		case 'slow-step':
			// A long model call that streams nothing: `delay_ms` (default 1000) between the LLM node's start and its answer.
			return llm(f, { beforeFirstChunk: () => [sleep(numberInput(run, 'delay_ms', 1000))] });
		case 'rate-limit':
			return rateLimited(f, version);
		case 'wait-stop':
			return waitForStop(f, numberInput(run, 'delay_ms', 50));
		case 'silent':
			return [{ kind: 'idle', pings: false }];
		case 'pings':
			return [{ kind: 'idle', pings: true }];
		case 'truncated':
			return truncated(f, version);
		case 'drop':
			return dropped(f);
		case 'unknown-event':
			return llm(f, {
				afterChunk: (index) => (index === 1 ? [event(f.custom('future_event', { x: 1 }))] : []),
			});
		case 'tts':
			return llm(f, {
				afterChunk: (index) => [event(f.tts('tts_message', audioChunk(index)))],
				beforeFinish: () => [event(f.tts('tts_message_end', ''))],
			});
		case 'many':
			return many(f, Math.floor(numberInput(run, 'chunks', 1000)));
		case 'slow':
			return paced(llm(f), numberInput(run, 'delay_ms', 200));
		case 'files': {
			const [report, chart] = Object.keys(OUTPUT_FILES);
			return llm(f, {
				outputs: (answer) => ({ answer, report: outputFile(report, 'tenant-1'), charts: [outputFile(chart, 'tenant-1')] }),
			});
		}
	}
}

/**
 * Ends a running workflow the way Dify does once the stop endpoint was called: the nodes still
 * running finish `stopped`, then workflow_finished `stopped` with "Stopped by user.".
 */
function* stoppable(steps: Iterable<Step>, f: RunEvents): Generator<Step> {
	const open: string[] = [];
	let started = false;
	let ended = false;
	let nodesStarted = 0;
	for (const step of steps) {
		if (f.run.stopRequested && started && !ended) {
			for (const id of open.reverse()) {
				const node = f.nodeRun(id);
				if (node) yield event(f.nodeFinished(node, { status: 'stopped', error: STOPPED_BY_USER, outputs: {}, metadata: null }));
			}
			yield event(f.workflowFinished('stopped', {}, { tokens: 0, steps: nodesStarted, error: STOPPED_BY_USER }));
			return;
		}
		if (step.kind === 'event') {
			const name = step.event.event;
			const id = (step.event.data as { id?: string } | undefined)?.id;
			if (name === 'workflow_started') started = true;
			else if (name === 'node_started' && id) {
				open.push(id);
				nodesStarted++;
			} else if (name === 'node_finished' && id && open.includes(id)) open.splice(open.indexOf(id), 1);
			else if (TERMINAL.has(name)) ended = true;
		}
		yield step;
	}
}

/** The steps of a run whose inputs were valid. */
export function runSteps(run: StoredRun, version: DifyVersion): Iterable<Step> {
	const f = new RunEvents(run);
	return stoppable(scenarioSteps(f, run.scenario, version), f);
}

/**
 * A streamed run whose inputs failed validation, after the leading ping (dify-api.md §5.5):
 * 1.13 falls silent; 1.15+ reports a synthetic failed run (task id = run id).
 * 1.11 never gets here: it answers HTTP 400 instead of streaming.
 */
export function invalidInputSteps(version: DifyVersion, message: string, run?: StoredRun): Iterable<Step> {
	if (version !== '1.16' || !run) return [{ kind: 'idle', pings: false }];
	const f = new RunEvents(run, run.id);
	return [
		event(f.workflowStarted({})),
		event(f.workflowFinished('failed', {}, { tokens: 0, steps: 0, error: message, exceptions: 1, synthetic: true })),
	];
}

/**
 * The blocking answer (dify-api.md §3.3) for a run that reached a final or paused state; 1.14+
 * adds the paused nodes and the pause reasons of a paused run (§12.5).
 */
export function blockingResponse(run: StoredRun, version: DifyVersion): DifyBlockingRunResponse {
	const pause =
		version === '1.16' && run.status === 'paused' && run.pausedData
			? { paused_nodes: run.pausedData.paused_nodes, reasons: run.pausedData.reasons }
			: {};
	return {
		task_id: run.taskId,
		workflow_run_id: run.id,
		data: {
			id: run.id,
			workflow_id: run.workflowId,
			status: run.status,
			outputs: run.outputs ?? {},
			error: run.error,
			elapsed_time: run.elapsedTime,
			total_tokens: run.totalTokens,
			total_steps: run.totalSteps,
			created_at: run.createdAt,
			finished_at: run.finishedAt,
			...pause,
		},
	};
}

/**
 * A run made outside the Service API (Dify's web app, a schedule, a webhook) that stays running
 * until it is ended with `endSteps`: the order in which runs end is then the test's to choose.
 */
export function heldSteps(run: StoredRun): Iterable<Step> {
	return [event(new RunEvents(run).workflowStarted())];
}

/** Ends a held run as its worker would: workflow_finished with the chosen status. */
export function endSteps(
	run: StoredRun,
	status: DifyWorkflowStatus,
	outputs: Record<string, unknown>,
	error: string | null,
): Iterable<Step> {
	return [event(new RunEvents(run).workflowFinished(status, outputs, { tokens: 0, steps: run.totalSteps + 1, error }))];
}

/** A held run reaches a Human Input node and pauses there, as the `paused` scenario does. */
export function pauseSteps(run: StoredRun, version: DifyVersion): Iterable<Step> {
	const f = new RunEvents(run);
	return stoppable(paused(f, version), f);
}
