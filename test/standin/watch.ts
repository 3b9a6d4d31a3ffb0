import type { ServerResponse } from 'node:http';

import type { RunStore, StoredRun } from './app';
import { pythonJsonDumps } from './json-python';
import type { PlaySettings } from './runner';
import { SseWriter } from './sse-writer';

/**
 * `GET /workflow/{workflow_run_id}/events` (dify-api.md §12.2): a finished run as one json.dumps
 * frame; a running or paused run as its live events from now on, after a replay from the stored
 * state when a snapshot is asked for.
 */

export interface WatchOptions {
	snapshot: boolean;
	continueOnPause: boolean;
	/** A fault: the connection breaks inside the event after this many. */
	cutAfterEvents?: number;
	/** Called for every event written to this client. */
	onSent?: () => void;
}

/** Whether the run has ended for good: the events endpoint then answers with one frame. */
export function runHasFinished(run: StoredRun): boolean {
	return run.status !== 'running' && run.status !== 'paused' && run.finishedAt !== null;
}

/** The single frame of a finished run: json.dumps spacing, task_id first, the run id as task id. */
export function finishedFrame(run: StoredRun, lineEnding: string): string {
	const json = pythonJsonDumps({
		event: 'workflow_finished',
		task_id: run.id,
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
			created_by: { id: run.endUserId, user: run.user },
			created_at: run.createdAt,
			finished_at: run.finishedAt,
			exceptions_count: run.exceptionsCount,
			files: [],
		},
	});
	return `data: ${json}${lineEnding}${lineEnding}`;
}

/** The replay of a snapshot: key order `event, task_id, workflow_run_id, data`, node details left out. */
function snapshotEvents(run: StoredRun, taskId: string): Array<{ name: string; json: string }> {
	const frame = (name: string, data: unknown) => ({
		name,
		json: JSON.stringify({ event: name, task_id: taskId, workflow_run_id: run.id, data }),
	});
	const blank = { inputs: null, process_data: null, outputs: null, error: null, execution_metadata: null, files: [] };
	const events = [
		frame('workflow_started', {
			id: run.id,
			workflow_id: run.workflowId,
			inputs: { ...run.inputs, 'sys.timestamp': run.createdAt },
			created_at: run.createdAt,
			reason: 'initial',
		}),
	];
	for (const node of run.nodeEvents.values()) {
		events.push(frame('node_started', { ...node.started, inputs: null }));
		if (node.finished) events.push(frame('node_finished', { ...node.finished, ...blank }));
	}
	if (run.status === 'paused' && run.pausedData) {
		for (const form of run.openForms) events.push(frame('human_input_required', form));
		events.push(frame('workflow_paused', run.pausedData));
	}
	return events;
}

/** How long Dify waits for a running run's next live event, whose task id the snapshot then carries. */
const SNAPSHOT_TASK_WAIT_MS = 200;

/** Streams a running or paused run to one more client until a terminal event, the idle limit, or the client leaves. */
export async function watchRun(
	res: ServerResponse,
	run: StoredRun,
	store: RunStore,
	settings: PlaySettings,
	options: WatchOptions,
): Promise<void> {
	res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
	const writer = new SseWriter(res, settings);
	void writer.ping();
	// continue_on_pause hands Dify an empty terminal set; with a snapshot, workflow_finished still ends it.
	const terminal = new Set(
		options.continueOnPause ? (options.snapshot ? ['workflow_finished'] : []) : ['workflow_finished', 'workflow_paused'],
	);
	let idle: NodeJS.Timeout | undefined;
	const pings = setInterval(() => void writer.ping(), settings.pingIntervalMs);
	let ended = false;
	let done: () => void = () => {};
	const closed = new Promise<void>((resolve) => (done = resolve));
	/** Live events that arrive while the snapshot is being built are sent after it, as Dify's relay buffers them. */
	let held: Array<{ json: string; name: string }> | undefined = options.snapshot ? [] : undefined;
	let heard: (() => void) | undefined;
	const finish = () => {
		if (ended) return;
		ended = true;
		clearInterval(pings);
		clearTimeout(idle);
		unwatch();
		void writer.end().finally(done);
	};
	const quiet = () => {
		clearTimeout(idle);
		idle = setTimeout(finish, settings.idleLimitMs);
	};
	let sent = 0;
	const send = (json: string, name: string) => {
		if (ended) return;
		if (sent++ === options.cutAfterEvents) {
			ended = true;
			clearInterval(pings);
			clearTimeout(idle);
			unwatch();
			void writer.breakInsideDataLine(json).finally(done);
			return;
		}
		void writer.event(json);
		options.onSent?.();
		quiet();
		if (terminal.has(name)) finish();
	};
	const unwatch = store.watch(run.id, (json, name) => {
		if (!held) return send(json, name);
		held.push({ json, name });
		heard?.();
	});
	res.once('close', () => {
		ended = true;
		clearInterval(pings);
		clearTimeout(idle);
		unwatch();
		done();
	});
	quiet();
	if (held) {
		// A paused run's replay carries its task id; a running run's the task id of the next live event
		// if one comes within 0.2 s, else the run id (Dify's _resolve_task_id).
		let taskId = run.status === 'paused' ? run.taskId : run.id;
		if (run.status === 'running') {
			if (held.length === 0) {
				await new Promise<void>((resolve) => {
					const timer = setTimeout(resolve, SNAPSHOT_TASK_WAIT_MS);
					heard = () => {
						clearTimeout(timer);
						resolve();
					};
				});
			}
			if (held.length > 0) taskId = run.taskId;
		}
		const live = held;
		// From here on, live events go straight out.
		held = undefined;
		heard = undefined;
		for (const event of snapshotEvents(run, taskId)) send(event.json, event.name);
		for (const event of live) send(event.json, event.name);
	}
	await closed;
}
