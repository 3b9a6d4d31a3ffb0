import { NodeOperationError } from 'n8n-workflow';

import type { OperationItem } from '../../DifyWorkflow/types';
import type { EventContext } from './events';
import { verdictForNewRow } from './events';
import { findNewest } from './logScan';
import { endMatches, rowMatches, serverStatus, TERMINAL_STATUSES } from './settings';

/** Fetch Test Event looks this far back (pages of 100 runs) for a matching run. */
const TEST_EVENT_PAGES = 10;

const WHAT: Record<string, string> = {
	runFinished: 'finished run with one of the chosen statuses',
	runFailed: 'failed run',
	runPaused: 'run paused for Human Input',
	runStarted: 'run',
};

/**
 * Fetch Test Event: the newest run that matches, as the event would report it. Nothing is marked
 * as seen: the workflow's static data is not touched.
 */
export async function testEvent(context: EventContext): Promise<OperationItem[]> {
	const { transport, settings } = context;
	const status = settings.event === 'runFinished' || settings.event === 'runFailed' ? serverStatus(settings) : undefined;
	const row = await findNewest(
		transport,
		{ ...settings.query, status },
		(candidate) => {
			if (!rowMatches(settings, candidate)) return false;
			const runStatus = candidate.workflow_run.status;
			if (settings.event === 'runStarted') return true;
			if (settings.event === 'runPaused') return runStatus === 'paused';
			return TERMINAL_STATUSES.has(runStatus) && endMatches(settings, runStatus);
		},
		TEST_EVENT_PAGES,
	);
	const verdict = row ? await verdictForNewRow(context, row) : undefined;
	if (!verdict?.item) {
		throw new NodeOperationError(context.node, `No ${WHAT[settings.event]} of this app matches the trigger's filters yet`, {
			description: `The ${TEST_EVENT_PAGES * 100} newest runs in the app's logs hold none. Start or finish a run in Dify that matches, then fetch again; an active workflow reports new runs as they come.`,
		});
	}
	return [verdict.item];
}
