import type { DifyTransport } from '../../DifyWorkflow/transport/request';
import type { DifyLogEntry, DifyLogPage, DifyLogQuery } from '../../DifyWorkflow/types';

/** Dify's largest page (dify-api.md §8.4): more is refused, not clamped. */
export const PAGE_SIZE = 100;
/** Dify's last page number. */
const MAX_PAGE = 99999;

const FILTER_HINTS = {
	invalid_param:
		'Dify rejected a filter of the trigger: check Created by Account (the e-mail address of an account in this workspace).',
};

/** Dify's log filters take ISO 8601 in UTC, to the second; its timestamps are Unix seconds. */
export function isoSecond(unixSeconds: number): string {
	return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

export async function logPage(transport: DifyTransport, query: DifyLogQuery, page: number, limit = PAGE_SIZE): Promise<DifyLogPage> {
	const result = await transport.json<DifyLogPage>(0, {
		method: 'GET',
		path: '/workflows/logs',
		query: { ...query, page, limit },
		hints: FILTER_HINTS,
	});
	return { ...result, data: Array.isArray(result.data) ? result.data : [] };
}

/**
 * Every log row created at or after `since` (Unix seconds; Dify's bound is inclusive), newest
 * first, each run once. Rows arriving while the pages are read push older ones down a page: they
 * come again on the next page and are skipped here, so none is lost between pages.
 */
export async function rowsSince(transport: DifyTransport, query: DifyLogQuery, since: number): Promise<DifyLogEntry[]> {
	const bounded: DifyLogQuery = { ...query, created_at__after: isoSecond(since) };
	const byRun = new Map<string, DifyLogEntry>();
	for (let page = 1; page <= MAX_PAGE; page++) {
		const result = await logPage(transport, bounded, page);
		for (const row of result.data) if (!byRun.has(row.workflow_run.id)) byRun.set(row.workflow_run.id, row);
		if (!result.has_more || result.data.length === 0) break;
	}
	return newestFirst([...byRun.values()]);
}

/**
 * The newest rows, for a first poll: at least the first page, and further pages while they are
 * still in the newest row's second, so that every run of that second is known.
 */
export async function newestRows(transport: DifyTransport, query: DifyLogQuery): Promise<DifyLogEntry[]> {
	const byRun = new Map<string, DifyLogEntry>();
	let newest: number | undefined;
	for (let page = 1; page <= MAX_PAGE; page++) {
		const result = await logPage(transport, query, page);
		for (const row of result.data) if (!byRun.has(row.workflow_run.id)) byRun.set(row.workflow_run.id, row);
		newest ??= result.data[0]?.created_at;
		const last = result.data.at(-1);
		if (!result.has_more || !last || last.created_at < (newest ?? 0)) break;
	}
	return newestFirst([...byRun.values()]);
}

/** The first row, newest first, that `wanted` accepts, reading at most `maxPages` pages. */
export async function findNewest(
	transport: DifyTransport,
	query: DifyLogQuery,
	wanted: (row: DifyLogEntry) => boolean,
	maxPages: number,
): Promise<DifyLogEntry | undefined> {
	for (let page = 1; page <= maxPages; page++) {
		const result = await logPage(transport, query, page);
		const found = result.data.find(wanted);
		if (found) return found;
		if (!result.has_more || result.data.length === 0) return undefined;
	}
	return undefined;
}

function newestFirst(rows: DifyLogEntry[]): DifyLogEntry[] {
	return rows.sort((a, b) => b.created_at - a.created_at);
}
