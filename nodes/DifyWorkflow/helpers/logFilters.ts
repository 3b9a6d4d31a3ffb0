import type { INodeProperties } from 'n8n-workflow';

/** Filters of Dify's run logs (dify-api.md §8.4) that Get Logs and the trigger both offer. */

export const LOG_FILTER_ACCOUNT: INodeProperties = {
	displayName: 'Created by Account',
	name: 'createdByAccount',
	type: 'string',
	default: '',
	placeholder: 'name@example.com',
	description: 'Only runs started in Dify by this account, given by its e-mail address',
};

export const LOG_FILTER_END_USER: INodeProperties = {
	displayName: 'Created by End User',
	name: 'createdByEndUserSessionId',
	type: 'string',
	default: '',
	description: 'Only runs of this end user: the User value they were started with',
};

export const LOG_FILTER_KEYWORD: INodeProperties = {
	displayName: 'Keyword',
	name: 'keyword',
	type: 'string',
	default: '',
	description:
		"Only runs whose inputs, outputs or end user contain this text (Dify uses its first 30 characters), or whose run ID it is",
};
