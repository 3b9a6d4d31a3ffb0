import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { LOG_FILTER_ACCOUNT, LOG_FILTER_END_USER, LOG_FILTER_KEYWORD } from '../../helpers/logFilters';
import { readPositiveInteger, toUtcIso } from '../../helpers/parameters';
import type { DifyTransport } from '../../transport/request';
import type { DifyLogPage, DifyLogQuery, OperationItem } from '../../types';

/** Dify's largest page (dify-api.md §8.4): more is refused, not clamped. */
const MAX_PAGE_SIZE = 100;
/** Dify's last page number. */
const MAX_PAGE = 99999;

interface LogFilters {
	keyword?: string;
	status?: '' | 'succeeded' | 'failed' | 'stopped';
	createdAtBefore?: string;
	createdAtAfter?: string;
	createdByEndUserSessionId?: string;
	createdByAccount?: string;
}

const properties: INodeProperties[] = [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		displayOptions: { show: { returnAll: [false] } },
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			{
				displayName: 'Created After',
				name: 'createdAtAfter',
				type: 'dateTime',
				default: '',
				description: 'Only runs created at or after this time (UTC unless the value has an offset)',
			},
			{
				displayName: 'Created Before',
				name: 'createdAtBefore',
				type: 'dateTime',
				default: '',
				description: 'Only runs created at or before this time (UTC unless the value has an offset)',
			},
			LOG_FILTER_ACCOUNT,
			LOG_FILTER_END_USER,
			LOG_FILTER_KEYWORD,
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: [
					{ name: 'Any', value: '' },
					{ name: 'Failed', value: 'failed' },
					{ name: 'Stopped', value: 'stopped' },
					{ name: 'Succeeded', value: 'succeeded' },
				],
				default: '',
				description: 'Only runs that ended with this status',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['workflow'], operation: ['getLogs'] } },
	properties,
);

function queryFrom(ctx: IExecuteFunctions, itemIndex: number, filters: LogFilters): DifyLogQuery {
	const text = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);
	return {
		keyword: text(filters.keyword),
		status: filters.status || undefined,
		created_at__before: toUtcIso(ctx, itemIndex, filters.createdAtBefore, 'Created Before'),
		created_at__after: toUtcIso(ctx, itemIndex, filters.createdAtAfter, 'Created After'),
		created_by_end_user_session_id: text(filters.createdByEndUserSessionId),
		created_by_account: text(filters.createdByAccount),
	};
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = returnAll ? Infinity : readPositiveInteger(this, itemIndex, 'limit', 'Limit');
	const filters = this.getNodeParameter('filters', itemIndex, {}) as LogFilters;
	const query = queryFrom(this, itemIndex, filters);
	const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, limit));

	const entries: IDataObject[] = [];
	for (let page = 1; page <= MAX_PAGE && entries.length < limit; page++) {
		const result = await transport.json<DifyLogPage>(itemIndex, {
			method: 'GET',
			path: '/workflows/logs',
			query: { ...query, page, limit: pageSize },
			hints: {
				invalid_param:
					'Dify rejected a filter: check Status, the dates (ISO 8601) and Created by Account (an e-mail address of an account in this workspace).',
			},
		});
		const rows = Array.isArray(result.data) ? result.data : [];
		for (const row of rows) {
			if (entries.length >= limit) break;
			entries.push(row as unknown as IDataObject);
		}
		if (!result.has_more || rows.length === 0) break;
	}
	return entries.map((json) => ({ json }));
}
