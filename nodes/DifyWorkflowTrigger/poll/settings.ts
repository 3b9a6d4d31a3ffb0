import type { IPollFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { downloadLimit } from '../../DifyWorkflow/helpers/outputFiles';
import type { DifyLogEntry, DifyLogQuery, DifyWorkflowStatus } from '../../DifyWorkflow/types';

export type TriggerEvent = 'runFinished' | 'runFailed' | 'runPaused' | 'runStarted';

/** The statuses a run ends with; any other (running, paused, scheduled) means it goes on. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'stopped', 'partial-succeeded']);

/** The statuses Dify's log filter accepts (dify-api.md §8.4): paused and partial-succeeded are not among them. */
const SERVER_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'stopped']);

interface Filters {
	createdByAccount?: string;
	createdByEndUserSessionId?: string;
	createdFrom?: string[];
	keyword?: string;
}

interface Options {
	downloadFiles?: boolean;
	includeInputsOutputs?: boolean;
	maxDownloadSize?: number;
}

/** What the trigger was set to, read once per poll. */
export interface TriggerSettings {
	event: TriggerEvent;
	/** The end statuses that make an event (Run Finished, Run Failed); empty for the other events. */
	statuses: ReadonlySet<string>;
	/** Dify's own log filters: keyword, end user, account. */
	query: DifyLogQuery;
	/** `created_from` has no server filter: rows are matched here. Empty: any. */
	createdFrom: ReadonlySet<string>;
	/** Read run detail for inputs and outputs. */
	details: boolean;
	download?: { maxBytes: number };
	/**
	 * Names what the cursor was built for: a change of event or filters starts over from the
	 * newest run, as an activation does, instead of reading a cursor kept for other runs.
	 */
	fingerprint: string;
}

const EVENTS: readonly TriggerEvent[] = ['runFinished', 'runFailed', 'runPaused', 'runStarted'];

export function readSettings(ctx: IPollFunctions): TriggerSettings {
	const event = ctx.getNodeParameter('event', 'runFinished') as TriggerEvent;
	if (!EVENTS.includes(event)) {
		throw new NodeOperationError(ctx.getNode(), `The event "${String(event)}" is not known`, {
			description: 'Choose an event from the list.',
		});
	}
	const chosen = event === 'runFinished' ? ((ctx.getNodeParameter('statuses', []) as string[]) ?? []) : [];
	const statuses =
		event === 'runFailed'
			? new Set(['failed'])
			: event === 'runFinished'
				? new Set(chosen.length > 0 ? chosen : TERMINAL_STATUSES)
				: new Set<string>();
	const filters = ctx.getNodeParameter('filters', {}) as Filters;
	const options = ctx.getNodeParameter('options', {}) as Options;
	const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
	const query: DifyLogQuery = {
		keyword: text(filters.keyword),
		created_by_end_user_session_id: text(filters.createdByEndUserSessionId),
		created_by_account: text(filters.createdByAccount),
	};
	const createdFrom = new Set(Array.isArray(filters.createdFrom) ? filters.createdFrom : []);
	const download = downloadLimit(options);
	return {
		event,
		statuses,
		query,
		createdFrom,
		details: options.includeInputsOutputs === true || download !== undefined,
		download,
		fingerprint: JSON.stringify([event, [...statuses].sort(), query, [...createdFrom].sort()]),
	};
}

/** Whether a log row passes the filters Dify cannot apply itself. */
export function rowMatches(settings: TriggerSettings, row: DifyLogEntry): boolean {
	return settings.createdFrom.size === 0 || settings.createdFrom.has(row.created_from);
}

/** Whether a run that ended with this status makes an event of the chosen kind. */
export function endMatches(settings: TriggerSettings, status: DifyWorkflowStatus | string): boolean {
	return settings.statuses.has(status);
}

/**
 * The one status Dify can filter the logs by for Fetch Test Event, when the chosen statuses come
 * down to one it knows (Run Failed, or Run Finished with a single status other than partial-succeeded).
 */
export function serverStatus(settings: TriggerSettings): DifyLogQuery['status'] {
	if (settings.statuses.size !== 1) return undefined;
	const [only] = settings.statuses;
	return SERVER_STATUSES.has(only) ? (only as DifyLogQuery['status']) : undefined;
}
