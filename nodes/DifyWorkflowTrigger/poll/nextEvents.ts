import type { IDataObject, Logger } from 'n8n-workflow';

import type { DifyLogEntry, OperationItem } from '../../DifyWorkflow/types';
import type { EventContext } from './events';
import { followAtActivation, verdictForFollowed, verdictForNewRow } from './events';
import { newestRows, rowsSince } from './logScan';
import { rowMatches } from './settings';
import type { TriggerState } from './state';
import { boundFollowed, readState, writeState } from './state';

/**
 * A poll of an active workflow: the events since the last poll, each once. The cursor is Dify's
 * own `created_at`, never n8n's clock; runs that are still going are followed by run detail.
 */
export async function nextEvents(context: EventContext, staticData: IDataObject, logger: Logger): Promise<OperationItem[]> {
	const { transport, settings } = context;
	const state = readState(staticData, settings.fingerprint);
	if (!state) {
		// Activation (or new settings) never replays history: it only notes where history ends.
		writeState(staticData, await startingState(context));
		return [];
	}

	const rows = await rowsSince(transport, settings.query, state.cursor);
	const seenAtCursor = new Set(state.atCursor);
	const fresh = rows.filter((row) => row.created_at > state.cursor || (row.created_at === state.cursor && !seenAtCursor.has(row.workflow_run.id)));
	const newest = rows[0]?.created_at;
	const cursor = newest !== undefined && newest > state.cursor ? newest : state.cursor;
	const atCursor = new Set(cursor === state.cursor ? state.atCursor : []);
	for (const row of rows) if (row.created_at === cursor) atCursor.add(row.workflow_run.id);

	const items: OperationItem[] = [];
	const followed: TriggerState['followed'] = {};
	// Runs followed from earlier polls first: they are older than anything new.
	const freshIds = new Set(fresh.map((row) => row.workflow_run.id));
	for (const [runId, known] of Object.entries(state.followed)) {
		if (freshIds.has(runId)) continue;
		const verdict = await verdictForFollowed(context, runId, known);
		if (verdict.item) items.push(verdict.item);
		if (verdict.follow) followed[runId] = verdict.follow;
	}
	for (const row of [...fresh].reverse()) {
		if (!rowMatches(settings, row)) continue;
		const verdict = await verdictForNewRow(context, row);
		if (verdict.item) items.push(verdict.item);
		if (verdict.follow) followed[row.workflow_run.id] = verdict.follow;
	}

	const next: TriggerState = { v: 1, fingerprint: settings.fingerprint, cursor, atCursor: [...atCursor], followed };
	const letGo = boundFollowed(next);
	if (letGo.length > 0) {
		logger.warn(
			`Dify Workflow Trigger: more than ${Object.keys(next.followed).length} runs are still going; no longer following the oldest ${letGo.length} (${letGo.join(', ')}), whose end will not be reported`,
		);
	}
	writeState(staticData, next);
	return items;
}

async function startingState(context: EventContext): Promise<TriggerState> {
	const { transport, settings } = context;
	const rows: DifyLogEntry[] = await newestRows(transport, settings.query);
	const cursor = rows[0]?.created_at ?? 0;
	const followed: TriggerState['followed'] = {};
	if (settings.event !== 'runStarted') {
		for (const row of rows) {
			if (!rowMatches(settings, row)) continue;
			const follow = followAtActivation(row);
			if (follow) followed[row.workflow_run.id] = follow;
		}
	}
	const state: TriggerState = {
		v: 1,
		fingerprint: settings.fingerprint,
		cursor,
		atCursor: rows.filter((row) => row.created_at === cursor).map((row) => row.workflow_run.id),
		followed,
	};
	boundFollowed(state);
	return state;
}
