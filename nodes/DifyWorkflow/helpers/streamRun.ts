import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { streamErrorToError } from '../transport/errors';
import type { CallAdvice, DifyTransport, StreamCall, StreamResponse } from '../transport/request';
import { isBrokenStream } from '../transport/request';
import type { DifySseFrame, EventNameSet } from '../transport/sse';
import type { DifyBlockingRunResponse, DifyRunResult, OperationItem } from '../types';
import { ProgressClock } from '../transport/silence';
import { LiveText } from './liveText';
import { finalItem } from './outputFiles';
import { attachRunDetails } from './runFailure';
import type { StreamOutcome } from './runResult';
import { AGGREGATED_EVENTS, RunAggregator, resultFromBlocking } from './runResult';

/**
 * The one path that reads a run's event stream, for Run and Watch Run alike: aggregation into the
 * final result or one item per event, live text, Stop of the execution → stop of the run, failures
 * as errors of the item, and re-attaching a dropped stream through the events endpoint.
 */

export interface RunStreamRequest {
	itemIndex: number;
	/** The run's end user: re-attaching and stopping need the same one. */
	user: string;
	/** The run's id, when it is known before its first event (a watch). */
	runId?: string;
	output: 'final' | 'events';
	/** The longest silence of the run, across the first stream and every re-attached one. */
	timeoutMs: number;
	/** Opens the stream, with what the run's reading asks of every stream of it (RunStreamCall). */
	open: (stream: RunStreamCall) => Promise<StreamResponse>;
	/** Re-attach through `GET /workflow/{id}/events` when the stream breaks off or Dify closes it. */
	reattach: boolean;
	/**
	 * Re-attach with Dify's state snapshot, which replays what the run did while the node was away
	 * (and its whole history, which the item drops where it already holds it). Off for a watch that
	 * began without one: its items start where the watch began.
	 */
	snapshotOnReattach: boolean;
	/** workflow_paused does not end the run: the node reads on to workflow_finished. */
	continueOnPause?: boolean;
	/** Download Output Files, with its size limit. */
	download?: { maxBytes: number };
	/** Stream Text Of: the variables whose text_chunk text is forwarded; empty forwards all. */
	streamVariables?: string;
	/** Forward reasoning_chunk text too (Dify 1.15+). */
	streamReasoning?: boolean;
}

/**
 * What reading a run asks of each of its streams, for the operation's StreamCall: the events the
 * reader needs (the rest may be dropped unread), the run's progress clock, the advice on failure.
 */
export type RunStreamCall = Required<Pick<StreamCall, 'progress' | 'advice'>> & Pick<StreamCall, 'only'>;

/** What to do about a run's stream that fails: Run and Watch Run both have a Timeout option. */
const STREAM_ADVICE: CallAdvice = {
	silence:
		'Raise the Timeout option if a step of the workflow really runs longer without sending events; otherwise check the run in Dify (a run that fails before it starts may send nothing in Dify 1.13).',
	broken: 'The run may have gone on in Dify: check it with Get Run.',
};

/** The item in `events` output that says where the node re-attached to the run. */
export const REATTACHED_EVENT = 'reattached';

const REATTACH_NOTE =
	'Events Dify published while the node was disconnected are not replayed (text chunks among them); node events replayed from Dify\'s state snapshot carry no inputs or outputs. The final result always comes from workflow_finished.';

/**
 * Re-attachments in a row that brought nothing: a connection that keeps breaking, or closing at
 * once, is an error. A stream that carried an event, or that Dify held open and closed when it
 * grew quiet, does not count: a run may go quiet for as long as the Timeout allows.
 */
const MAX_FRUITLESS_REATTACHMENTS = 5;

/** A stream that ended sooner than this without an event was cut, not held open by Dify. */
const QUICK_CLOSE_MS = 250;

/** How long a stopped execution waits for the run's events to name its task, so that the stop reaches it. */
const TASK_DISCOVERY_MS = 5_000;

/** Snapshot frames of the events endpoint open with `task_id` (live frames with `workflow_run_id`). */
const REPLAY_PREFIXES = ['{"event":"', '{"event": "'];

/** Which replayed events the item list already holds: node executions, forms, pauses, the run's start. */
function identity(event: IDataObject): string | undefined {
	const data = (event.data ?? {}) as IDataObject;
	switch (event.event) {
		case 'workflow_started':
			return `workflow_started:${String(data.reason ?? 'initial')}`;
		case 'node_started':
		case 'node_finished':
			return `${event.event}:${String(data.id)}`;
		case 'human_input_required':
			return `human_input_required:${String(data.form_id)}`;
		case 'workflow_paused': {
			// A run may pause again at other forms: one pause is told from another by the forms it waits for.
			const reasons = Array.isArray(data.reasons) ? (data.reasons as IDataObject[]) : [];
			const forms = reasons.map((reason) => String(reason?.form_id ?? '')).filter(Boolean);
			const nodes = Array.isArray(data.paused_nodes) ? data.paused_nodes.map(String) : [];
			return `workflow_paused:${(forms.length > 0 ? forms : nodes).sort().join(',')}`;
		}
		default:
			return undefined;
	}
}

function isReplayFrame(frame: DifySseFrame): boolean {
	const data = frame.data;
	for (const prefix of REPLAY_PREFIXES) {
		if (!data.startsWith(prefix)) continue;
		const afterName = data.indexOf('"', prefix.length) + 1;
		return /^,\s?"task_id"/.test(data.slice(afterName, afterName + 12));
	}
	return false;
}

/** A run that ended failed or stopped is an error of its item. */
export function statusFailure(
	ctx: IExecuteFunctions,
	itemIndex: number,
	result: DifyRunResult,
	emitted?: IDataObject[],
): NodeOperationError | undefined {
	if (result.status !== 'failed' && result.status !== 'stopped') return undefined;
	const reason = result.error ?? 'no reason given';
	const error = new NodeOperationError(
		ctx.getNode(),
		result.status === 'failed' ? `The Dify workflow run failed: ${reason}` : `The Dify workflow run was stopped: ${reason}`,
		{
			itemIndex,
			description: `Workflow run ${result.workflow_run_id ?? '(unknown)'} ended with status ${result.status}. Its node-by-node trace is in the app's logs in Dify.`,
		},
	);
	return attachRunDetails(error, { run: result, emitted });
}

/** A run's final item from a blocking answer: a failed or stopped run is an error of the item. */
export async function blockingItem(
	ctx: IExecuteFunctions,
	transport: DifyTransport,
	itemIndex: number,
	response: DifyBlockingRunResponse,
	download?: { maxBytes: number },
): Promise<OperationItem[]> {
	const result = resultFromBlocking(response);
	const failure = statusFailure(ctx, itemIndex, result);
	if (failure) throw failure;
	return [await finalItem(ctx, itemIndex, transport, result, download)];
}

/**
 * A stopped n8n execution closes the stream at once, but Dify would go on running (and spending
 * tokens): ask it to stop the task too. Best effort, and bounded, since n8n is waiting to stop.
 * Dify stops by task id only; where the events read so far named none (a watch that saw only the
 * snapshot's stand-in id), the run's next live event names it.
 */
async function stopCancelledRun(
	ctx: IExecuteFunctions,
	transport: DifyTransport,
	itemIndex: number,
	run: Partial<DifyRunResult>,
	user: string,
): Promise<void> {
	const runId = run.workflow_run_id;
	// Nothing named the run yet: there is nothing to stop, or nothing to find it by.
	if (!run.task_id && !runId) return;
	const taskId = run.task_id ?? (await discoverTaskId(transport, itemIndex, runId as string, user));
	if (taskId === null) return;
	if (taskId === undefined) {
		ctx.logger.warn(
			`Dify Workflow: the execution was stopped, but Dify run ${runId ?? '(unknown)'} could not be stopped: Dify stops a run by its task id, which only the run's own events carry, and none arrived within ${TASK_DISCOVERY_MS / 1000} s. Stop it in Dify if it is still running.`,
			{ node: ctx.getNode().name, itemIndex },
		);
		return;
	}
	try {
		await transport.json(itemIndex, {
			method: 'POST',
			path: `/workflows/tasks/${taskId}/stop`,
			body: { user },
			timeoutMs: 5_000,
			ignoreCancel: true,
		});
	} catch {
		// The execution is being stopped either way; a failed stop request changes nothing for it.
	}
}

/**
 * Listens to a run's live events for the task id they carry: undefined when none comes in time,
 * null when the run has already ended (Dify then sends its one workflow_finished frame).
 */
async function discoverTaskId(transport: DifyTransport, itemIndex: number, runId: string, user: string): Promise<string | null | undefined> {
	const until = Date.now() + TASK_DISCOVERY_MS;
	try {
		const stream = await transport.stream(itemIndex, {
			method: 'GET',
			path: `/workflow/${runId}/events`,
			query: { user },
			timeoutMs: TASK_DISCOVERY_MS,
			ignoreCancel: true,
			retry: 'none',
		});
		if (stream.kind !== 'events') return undefined;
		for await (const batch of stream.frames) {
			for (const frame of batch) {
				const event = transport.event<{ event?: unknown; task_id?: unknown }>(itemIndex, frame);
				if (typeof event.task_id === 'string' && event.task_id !== runId) return event.task_id;
				if (event.event === 'workflow_finished') return null;
			}
			if (Date.now() >= until) return undefined;
		}
	} catch {
		// No events endpoint (Dify before 1.14), the run has ended, or nothing came: nothing to stop.
	}
	return undefined;
}

/**
 * Opens the run's events again after its stream ended early. With a state snapshot Dify replays
 * the run so far (and a paused run closes at once with workflow_paused, unless continuing on
 * pause). Undefined when this Dify has no events endpoint (before 1.14: 404 or 405).
 */
async function reattachStream(
	transport: DifyTransport,
	request: RunStreamRequest,
	runId: string,
	only: EventNameSet | undefined,
	progress: ProgressClock,
	afterBreak: boolean,
): Promise<StreamResponse | undefined> {
	const opened = transport.stream(request.itemIndex, {
		method: 'GET',
		path: `/workflow/${runId}/events`,
		query: {
			user: request.user,
			include_state_snapshot: request.snapshotOnReattach && afterBreak ? 'true' : undefined,
			continue_on_pause: request.continueOnPause ? 'true' : undefined,
		},
		timeoutMs: request.timeoutMs,
		only,
		progress,
		advice: STREAM_ADVICE,
	});
	return await opened.catch(async (error: unknown) => {
		const status = error instanceof NodeApiError ? error.httpCode : undefined;
		return status === '404' || status === '405' ? undefined : await Promise.reject(error);
	});
}

export async function consumeRunStream(
	ctx: IExecuteFunctions,
	transport: DifyTransport,
	request: RunStreamRequest,
): Promise<OperationItem[]> {
	const { itemIndex, user } = request;
	const keepEvents = request.output === 'events';
	const live = LiveText.create(ctx, itemIndex, {
		variables: request.streamVariables,
		reasoning: request.streamReasoning,
		redaction: transport.liveRedaction(),
		redact: (text) => transport.redact(text),
	});
	// Only the run's own events matter to a final result: text chunks are dropped unread.
	const only = keepEvents || live !== undefined ? undefined : AGGREGATED_EVENTS;
	const progress = new ProgressClock();
	const aggregator = new RunAggregator(request.continueOnPause, request.runId);
	let stream = await request.open({ only, progress, advice: STREAM_ADVICE }).catch(async (error: unknown) => {
		// A watch stopped before its stream opened still stops the run it watches.
		if (transport.cancelled && request.runId) await stopCancelledRun(ctx, transport, itemIndex, aggregator.knownRun(), user);
		return await Promise.reject(error);
	});
	if (stream.kind === 'json') {
		// A server or proxy that would not stream answered as if blocking: same result, no events.
		return await blockingItem(ctx, transport, itemIndex, stream.body as DifyBlockingRunResponse, request.download);
	}
	live?.begin();

	const emitted: IDataObject[] = [];
	const parse = (frame: DifySseFrame) => transport.event<IDataObject>(itemIndex, frame);
	/** What the item list holds of the events a snapshot may replay; kept once a stream was re-attached. */
	let listed: Set<string> | undefined;
	let fruitless = 0;
	/** Whether an event arrived since the item last marked a re-attachment. */
	let eventsSinceMark = true;
	try {
		/** Reads one stream to its end or its terminal event. */
		const read = async (frames: AsyncIterable<DifySseFrame[]>) => {
			reading: for await (const batch of frames) {
				for (const frame of batch) {
					const name = frame.name;
					const event = keepEvents || live?.carries(name) ? parse(frame) : undefined;
					if (keepEvents) {
						if (listed !== undefined) {
							const key = identity(event as IDataObject);
							if (key !== undefined) {
								if (listed.has(key) && isReplayFrame(frame)) continue;
								listed.add(key);
							}
						}
						emitted.push(event as IDataObject);
					}
					if (live !== undefined && event !== undefined) live.forward(name, event);
					if (aggregator.accept(name, frame, (unparsed) => event ?? parse(unparsed))) break reading;
				}
			}
		};
		for (;;) {
			const openedAt = Date.now();
			const before = progress.reading;
			// A broken connection may be re-attached; any other failure ends the item.
			const broke = await read(stream.frames).then(
				() => undefined,
				async (error: unknown) => (isBrokenStream(error) ? (error as Error) : await Promise.reject(error)),
			);
			if (aggregator.outcome()) break;
			const progressed = progress.reading !== before;
			if (progressed) eventsSinceMark = true;
			// Ends at once with nothing on them count; a stream Dify held open does not, however it ended.
			fruitless = progressed ? 0 : Date.now() - openedAt < QUICK_CLOSE_MS ? fruitless + 1 : fruitless;
			const run = aggregator.knownRun();
			if (!request.reattach || !run.workflow_run_id || transport.cancelled || fruitless >= MAX_FRUITLESS_REATTACHMENTS) {
				if (broke) throw broke;
				break;
			}
			// A clean end without a terminal event is Dify closing a stream that went quiet (300 s without an
			// event): nothing was missed, so no snapshot is replayed, and none of it is a new event either.
			const next = await reattachStream(transport, request, run.workflow_run_id, only, progress, broke !== undefined);
			if (!next || next.kind !== 'events') {
				if (broke) throw broke;
				break;
			}
			stream = next;
			const why = broke ? broke.message : 'Dify closed the event stream of a run that sent no event for a while';
			if (!broke || !eventsSinceMark) {
				ctx.logger.debug(`Dify Workflow: ${why}; re-attached to run ${run.workflow_run_id}`, { node: ctx.getNode().name, itemIndex });
				continue;
			}
			ctx.logger.warn(`Dify Workflow: ${why}; re-attached to run ${run.workflow_run_id} through its events endpoint`, {
				node: ctx.getNode().name,
				itemIndex,
			});
			eventsSinceMark = false;
			if (keepEvents) {
				listed ??= new Set(emitted.map(identity).filter((key): key is string => key !== undefined));
				const marks = emitted.filter((event) => event.event === REATTACHED_EVENT).length;
				emitted.push({
					event: REATTACHED_EVENT,
					workflow_run_id: run.workflow_run_id,
					task_id: run.task_id ?? null,
					data: { after_events: emitted.length - marks, reason: why, note: REATTACH_NOTE },
				});
			}
		}
	} catch (error) {
		if (transport.cancelled) await stopCancelledRun(ctx, transport, itemIndex, aggregator.knownRun(), user);
		live?.fail((error as Error).message);
		throw attachRunDetails(error as Error, { run: aggregator.knownRun(), emitted: keepEvents ? emitted : undefined });
	}
	const outcome = aggregator.outcome();
	const failure = outcomeFailure(ctx, itemIndex, outcome, aggregator, (text) => transport.redact(text), keepEvents ? emitted : undefined);
	if (failure) {
		live?.fail(failure.message);
		throw failure;
	}
	live?.end();
	if (keepEvents) return emitted.map((json) => ({ json }));
	return [await finalItem(ctx, itemIndex, transport, (outcome as { result: DifyRunResult }).result, request.download)];
}

/** How the stream ended, as an error of the item when it was not a usable result. */
function outcomeFailure(
	ctx: IExecuteFunctions,
	itemIndex: number,
	outcome: StreamOutcome | undefined,
	aggregator: RunAggregator,
	redact: (text: string) => string,
	emitted?: IDataObject[],
): NodeApiError | NodeOperationError | undefined {
	if (!outcome) {
		const run = aggregator.knownRun();
		const error = new NodeOperationError(ctx.getNode(), 'The event stream from Dify ended before the run finished', {
			itemIndex,
			description: `Dify closed the stream without a workflow_finished event. The run ${
				run.workflow_run_id ?? '(no ID received)'
			} may still be going on or may have failed in Dify: check it with Workflow → Get Run.`,
		});
		return attachRunDetails(error, { run, emitted });
	}
	if (outcome.kind === 'error') {
		return attachRunDetails(streamErrorToError(ctx.getNode(), { ...outcome.event, message: outcome.event.message && redact(outcome.event.message) }, itemIndex), {
			run: outcome.run,
			emitted,
		});
	}
	return statusFailure(ctx, itemIndex, outcome.result, emitted);
}
