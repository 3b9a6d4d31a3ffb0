import type { BinaryHelperFunctions, IDataObject } from 'n8n-workflow';

import { finalItem } from '../../DifyWorkflow/helpers/outputFiles';
import { parseOutputs } from '../../DifyWorkflow/helpers/runResult';
import type { DifyTransport } from '../../DifyWorkflow/transport/request';
import type { DifyLogEntry, DifyRunDetail, DifyRunResult, OperationItem } from '../../DifyWorkflow/types';
import type { TriggerEvent, TriggerSettings } from './settings';
import type { RunOrigin } from './state';

/** The run's fields that both a log row and run detail give. */
export interface RunSummary {
	id: string;
	workflow_id: string | null;
	status: string;
	error: string | null;
	elapsed_time: number | null;
	total_tokens: number | null;
	total_steps: number | null;
	created_at: number;
	finished_at: number | null;
}

const ACCOUNT_RUN_NOTE =
	"A workspace account started this run in Dify (an installed app), not an end user: Dify re-attaches only end users to a run, so its forms cannot be read or answered through the API. Answer them in Dify.";

const UNREACHABLE_NOTE =
	"Dify did not re-attach the run's end user to it (a web-app visitor is not always found by session ID), so its forms could not be read through the API. Answer them in Dify.";

export function summaryOfRow(row: DifyLogEntry): RunSummary {
	const run = row.workflow_run;
	return {
		id: run.id,
		workflow_id: null,
		status: run.status,
		error: run.error ?? null,
		elapsed_time: run.elapsed_time ?? null,
		total_tokens: run.total_tokens ?? null,
		total_steps: run.total_steps ?? null,
		created_at: run.created_at ?? row.created_at,
		finished_at: run.finished_at ?? null,
	};
}

export function summaryOfDetail(detail: DifyRunDetail & { id: string }): RunSummary {
	return {
		id: detail.id,
		workflow_id: detail.workflow_id ?? null,
		status: detail.status,
		error: detail.error ?? null,
		elapsed_time: detail.elapsed_time ?? null,
		total_tokens: detail.total_tokens ?? null,
		total_steps: detail.total_steps ?? null,
		created_at: detail.created_at,
		finished_at: detail.finished_at ?? null,
	};
}

/** Run detail, or undefined when Dify no longer has the run (404, or 1.11's all-null answer). */
export async function readDetail(transport: DifyTransport, runId: string): Promise<(DifyRunDetail & { id: string }) | undefined> {
	const detail = await transport
		.json<DifyRunDetail>(0, { method: 'GET', path: `/workflows/run/${runId}` })
		.catch(async (error: unknown) => ((error as { httpCode?: string }).httpCode === '404' ? undefined : await Promise.reject(error)));
	return typeof detail?.id === 'string' ? (detail as DifyRunDetail & { id: string }) : undefined;
}

/** The end user a run belongs to, for Watch Run and Submit Form; null for a run an account started. */
export function endUserOf(origin: RunOrigin): string | null {
	return origin.created_by_end_user?.session_id ?? null;
}

/**
 * One event's item: the run's fields in the Run operation's shape, what the event is, and where
 * the run came from (its log row).
 */
function itemJson(event: TriggerEvent, summary: RunSummary, origin: RunOrigin, taskId: string | null): IDataObject {
	return {
		trigger_event: event,
		workflow_run_id: summary.id,
		task_id: taskId,
		workflow_id: summary.workflow_id,
		status: summary.status,
		error: summary.error,
		elapsed_time: summary.elapsed_time,
		total_tokens: summary.total_tokens,
		total_steps: summary.total_steps,
		created_at: summary.created_at,
		finished_at: summary.finished_at,
		user: endUserOf(origin),
		created_from: origin.created_from,
		triggered_from: origin.triggered_from,
		created_by_role: origin.created_by_role,
		created_by_end_user: origin.created_by_end_user as IDataObject | null,
		created_by_account: origin.created_by_account as IDataObject | null,
		workflow_version: origin.workflow_version,
		log_id: origin.log_id,
	};
}

export interface ItemContext {
	transport: DifyTransport;
	helpers: Pick<BinaryHelperFunctions, 'prepareBinaryData'>;
	settings: TriggerSettings;
}

/**
 * The item of a run's start or end. With Include Inputs and Outputs (or Download Output Files)
 * run detail adds the inputs (Dify's JSON text, parsed) and the outputs (a JSON string in 1.11).
 */
export async function runItem(
	context: ItemContext,
	summary: RunSummary,
	origin: RunOrigin,
	detail?: DifyRunDetail & { id: string },
): Promise<OperationItem> {
	const { transport, settings } = context;
	if (!settings.details) return { json: itemJson(settings.event, summary, origin, null) };
	const full = detail ?? (await readDetail(transport, summary.id));
	const json = itemJson(settings.event, full ? summaryOfDetail(full) : summary, origin, null);
	json.inputs = full && full.inputs !== null ? parseOutputs(full.inputs) : null;
	json.outputs = full ? parseOutputs(full.outputs) : {};
	if (!settings.download) return { json };
	return await finalItem(context, 0, transport, json as unknown as DifyRunResult, settings.download);
}

/** The item of a run's pause: the Run operation's paused item, forms and tokens included, plus where the run came from. */
export function pausedItem(
	context: ItemContext,
	summary: RunSummary,
	origin: RunOrigin,
	paused: DifyRunResult | 'account' | 'unreachable',
): OperationItem {
	const json = itemJson(context.settings.event, summary, origin, null);
	if (typeof paused === 'string') {
		return {
			json: { ...json, outputs: {}, paused_nodes: [], human_input_forms: [], note: paused === 'account' ? ACCOUNT_RUN_NOTE : UNREACHABLE_NOTE },
		};
	}
	return {
		json: {
			...json,
			task_id: paused.task_id,
			workflow_id: paused.workflow_id ?? summary.workflow_id,
			status: 'paused',
			outputs: {},
			elapsed_time: paused.elapsed_time ?? summary.elapsed_time,
			total_tokens: paused.total_tokens ?? summary.total_tokens,
			total_steps: paused.total_steps ?? summary.total_steps,
			paused_nodes: paused.paused_nodes ?? [],
			human_input_forms: (paused.human_input_forms ?? []) as unknown as IDataObject[],
		},
	};
}
