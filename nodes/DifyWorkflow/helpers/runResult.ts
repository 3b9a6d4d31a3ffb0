import type {
	DifyBlockingRunResponse,
	DifyPauseReason,
	DifyRunData,
	DifyRunResult,
	DifyStreamErrorEvent,
	DifyWorkflowPausedData,
} from '../types';
import { EventNameSet } from '../transport/sse';
import { withN8nForm } from './n8nFormFields';

/** The `final` output of a run from Dify's blocking answer; a paused run (1.14+) names its forms. */
export function resultFromBlocking(response: DifyBlockingRunResponse): DifyRunResult {
	const result = resultFromRunData(response.data, response.workflow_run_id, response.task_id);
	const data = response.data;
	return result.status === 'paused' ? withPause(result, data?.paused_nodes, data?.reasons) : result;
}

const NO_TOKEN_NOTE =
	'This form has no form_token: the Human Input node delivers it by e-mail only, so only the e-mail link or the Dify console can answer it. Turn on WebApp delivery on the node to answer it with Submit Form.';

/**
 * A paused result, with the nodes it waits at and the forms that can resume it, as Dify sent them
 * plus each form as n8n form fields; a form without a token says who can answer it.
 */
function withPause(result: DifyRunResult, pausedNodes: unknown, reasons: unknown): DifyRunResult {
	const forms = (Array.isArray(reasons) ? reasons : []).filter(
		(reason): reason is DifyPauseReason => reason !== null && typeof reason === 'object',
	);
	return {
		...result,
		outputs: {},
		paused_nodes: Array.isArray(pausedNodes) ? pausedNodes.map(String) : [],
		human_input_forms: forms.map((form) => withN8nForm(form.form_token ? form : { ...form, form_token: null, note: NO_TOKEN_NOTE })),
	};
}

function resultFromRunData(data: Partial<DifyRunData>, workflowRunId: string | null, taskId: string | null): DifyRunResult {
	return {
		workflow_run_id: workflowRunId ?? data.id ?? null,
		task_id: taskId,
		workflow_id: data.workflow_id ?? null,
		// A terminal event without a status is not a success the node can vouch for.
		status: data.status ?? 'failed',
		outputs: parseOutputs(data.outputs),
		error: data.error ?? null,
		elapsed_time: data.elapsed_time ?? null,
		total_tokens: data.total_tokens ?? null,
		total_steps: data.total_steps ?? null,
		created_at: data.created_at ?? null,
		finished_at: data.finished_at ?? null,
	};
}

/** Outputs are an object, but `null` in odd cases and a JSON string in Dify 1.11's run detail. */
export function parseOutputs(outputs: unknown): Record<string, unknown> {
	if (typeof outputs === 'string') {
		try {
			const parsed = JSON.parse(outputs) as unknown;
			return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
				? (parsed as Record<string, unknown>)
				: { value: parsed };
		} catch {
			return { value: outputs };
		}
	}
	return outputs && typeof outputs === 'object' && !Array.isArray(outputs)
		? (outputs as Record<string, unknown>)
		: {};
}

/** How a stream ended, once it has. */
export type StreamOutcome =
	| { kind: 'finished'; result: DifyRunResult }
	| { kind: 'error'; event: DifyStreamErrorEvent; run: Partial<DifyRunResult> };

interface Envelope {
	workflow_run_id?: string | null;
	task_id?: string | null;
	data?: { workflow_id?: string; created_at?: number } & Record<string, unknown>;
}

/** An event's `data`, or an empty object when a malformed event lacks it. */
function dataOf<T>(event: Envelope): Partial<T> {
	return (event.data && typeof event.data === 'object' ? event.data : {}) as Partial<T>;
}

/**
 * The events RunAggregator reads, besides a stream's first frame. A stream read for its final
 * result alone can drop every other frame unread (StreamCall.only).
 */
export const AGGREGATED_EVENTS = new EventNameSet(['workflow_started', 'workflow_finished', 'workflow_paused', 'error']);

/**
 * Folds a run's events into its final result. It keeps only the run's ids and the terminal event,
 * so memory stays flat however many events stream by, and it parses only the frames it needs
 * (the first, `workflow_started` and the terminal one): text chunks are never parsed here.
 */
export class RunAggregator {
	private workflowRunId: string | null = null;
	private taskId: string | null = null;
	private workflowId: string | null = null;
	private createdAt: number | null = null;
	private seen = 0;
	private ended: StreamOutcome | undefined;

	/**
	 * With `continueOnPause`, workflow_paused does not end the run: only workflow_finished or error
	 * does. `runId` is the run's id when it is known before any event (a watch).
	 */
	constructor(
		private readonly continueOnPause = false,
		runId?: string,
	) {
		this.workflowRunId = runId ?? null;
	}

	/**
	 * Takes one frame, by name, with a way to parse it; returns true when the frame ended the run.
	 * `parse` is called at most once, and only for the frames the result depends on. It takes the
	 * frame as an argument so that one function serves a whole stream: no closure per event.
	 */
	accept<F>(name: string, frame: F, parse: (frame: F) => Record<string, unknown>): boolean {
		this.seen++;
		if (this.ended) return true;
		switch (name) {
			case 'workflow_finished': {
				const event = parse(frame) as Envelope;
				this.remember(event);
				this.ended = {
					kind: 'finished',
					result: resultFromRunData(dataOf<DifyRunData>(event), this.workflowRunId, this.taskId),
				};
				return true;
			}
			case 'workflow_paused': {
				const event = parse(frame) as Envelope;
				this.remember(event);
				const data = dataOf<DifyWorkflowPausedData>(event);
				// Watching across pauses: the node, not Dify, ends the stream at workflow_finished.
				if (this.continueOnPause) return false;
				this.ended = {
					kind: 'finished',
					result: withPause({
						workflow_run_id: data.workflow_run_id ?? this.workflowRunId,
						task_id: this.taskId,
						workflow_id: this.workflowId,
						status: 'paused',
						outputs: parseOutputs(data.outputs),
						error: null,
						elapsed_time: data.elapsed_time ?? null,
						total_tokens: data.total_tokens ?? null,
						total_steps: data.total_steps ?? null,
						created_at: this.createdAt ?? data.created_at ?? null,
						finished_at: null,
					}, data.paused_nodes, data.reasons),
				};
				return true;
			}
			case 'error': {
				const event = parse(frame) as unknown as DifyStreamErrorEvent;
				this.remember(event as Envelope);
				this.ended = { kind: 'error', event, run: this.knownRun() };
				return true;
			}
			case 'workflow_started':
				this.remember(parse(frame) as Envelope);
				return false;
			default:
				// The first frame names the run even when workflow_started never comes.
				if (this.seen === 1) this.remember(parse(frame) as Envelope);
				return false;
		}
	}

	/** How the run ended, or undefined when the stream closed before a terminal event. */
	outcome(): StreamOutcome | undefined {
		return this.ended;
	}

	/** The run's fields known so far: for the message of a stream that ended early. */
	knownRun(): Partial<DifyRunResult> {
		const run: Partial<DifyRunResult> = {};
		if (this.workflowRunId) run.workflow_run_id = this.workflowRunId;
		if (this.taskId) run.task_id = this.taskId;
		if (this.workflowId) run.workflow_id = this.workflowId;
		return run;
	}

	private remember(event: Envelope): void {
		if (typeof event.workflow_run_id === 'string') this.workflowRunId = event.workflow_run_id;
		// The task id the run's own events gave is kept: on the events endpoint Dify puts the run id
		// where it does not know the task (a finished run's frame, a snapshot with no live event yet),
		// and a stop sent to that id stops nothing.
		const taskId = event.task_id;
		if (this.taskId === null && typeof taskId === 'string' && taskId !== this.workflowRunId) this.taskId = taskId;
		const data = event.data;
		if (data && typeof data === 'object') {
			if (typeof data.workflow_id === 'string') this.workflowId = data.workflow_id;
			if (this.createdAt === null && typeof data.created_at === 'number') this.createdAt = data.created_at;
		}
	}
}
