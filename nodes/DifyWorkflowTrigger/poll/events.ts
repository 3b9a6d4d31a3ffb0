import type { INode } from 'n8n-workflow';

import type { DifyLogEntry, OperationItem } from '../../DifyWorkflow/types';
import { readPause } from './pausedRun';
import type { ItemContext, RunSummary } from './runItems';
import { endUserOf, pausedItem, readDetail, runItem, summaryOfDetail, summaryOfRow } from './runItems';
import { endMatches, TERMINAL_STATUSES } from './settings';
import type { FollowedRun, RunOrigin } from './state';
import { originOf } from './state';

/**
 * What a run seen now means for the chosen event: items to emit, and whether (and how) to go on
 * following it. Shared by runs found new in the logs and runs followed by run detail.
 */
export interface Verdict {
	item?: OperationItem;
	follow?: FollowedRun;
}

export interface EventContext extends ItemContext {
	node: INode;
}

/** A pause already reported (or there at activation) is not reported again while the run stays at it. */
async function pauseVerdict(context: EventContext, summary: RunSummary, origin: RunOrigin, known?: FollowedRun): Promise<Verdict> {
	const steps = summary.total_steps ?? undefined;
	if (known?.pausedAtSteps !== undefined && known.pausedAtSteps === steps) return { follow: known };
	const user = endUserOf(origin);
	if (!user) return { item: pausedItem(context, summary, origin, 'account'), follow: { origin, pausedAtSteps: steps } };
	const lookup = await readPause(context.transport, context.node, summary.id, user);
	if (lookup.kind === 'moved') return { follow: { origin, pausedAtSteps: known?.pausedAtSteps } };
	const paused = lookup.kind === 'paused' ? lookup.result : 'unreachable';
	return { item: pausedItem(context, summary, origin, paused), follow: { origin, pausedAtSteps: steps } };
}

/** A run seen for the first time, in a log row. */
export async function verdictForNewRow(context: EventContext, row: DifyLogEntry): Promise<Verdict> {
	const { settings } = context;
	const summary = summaryOfRow(row);
	const origin = originOf(row);
	if (settings.event === 'runStarted') return { item: await runItem(context, summary, origin) };
	if (TERMINAL_STATUSES.has(summary.status)) {
		const wanted = settings.event !== 'runPaused' && endMatches(settings, summary.status);
		return wanted ? { item: await runItem(context, summary, origin) } : {};
	}
	if (settings.event === 'runPaused' && summary.status === 'paused') return await pauseVerdict(context, summary, origin);
	return { follow: { origin } };
}

/** A run followed since an earlier poll, looked at again through run detail. */
export async function verdictForFollowed(context: EventContext, runId: string, followed: FollowedRun): Promise<Verdict> {
	const { settings } = context;
	const detail = await readDetail(context.transport, runId);
	// Gone from Dify (its logs were cleared): nothing more will happen to it.
	if (!detail) return {};
	const summary = summaryOfDetail(detail);
	if (TERMINAL_STATUSES.has(summary.status)) {
		const wanted = settings.event !== 'runPaused' && endMatches(settings, summary.status);
		return wanted ? { item: await runItem(context, summary, followed.origin, detail) } : {};
	}
	if (settings.event === 'runPaused' && summary.status === 'paused') return await pauseVerdict(context, summary, followed.origin, followed);
	return { follow: followed };
}

/** At activation: a paused run's current pause is history; running runs are followed so that their end is reported. */
export function followAtActivation(row: DifyLogEntry): FollowedRun | undefined {
	const status = row.workflow_run.status;
	if (TERMINAL_STATUSES.has(status)) return undefined;
	const origin = originOf(row);
	return status === 'paused' ? { origin, pausedAtSteps: row.workflow_run.total_steps ?? undefined } : { origin };
}
