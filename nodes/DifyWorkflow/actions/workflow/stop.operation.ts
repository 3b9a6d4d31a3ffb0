import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { readRequiredText, readUuid } from '../../helpers/parameters';
import type { DifyTransport } from '../../transport/request';
import type { DifyStopResponse, OperationItem } from '../../types';

const properties: INodeProperties[] = [
	{
		displayName: 'Task ID',
		name: 'taskId',
		type: 'string',
		default: '',
		required: true,
		placeholder: '7c1e2f3a-5b6d-4e8f-9a0b-1c2d3e4f5a6b',
		description: "The task_id of a streaming run (not its workflow_run_id), from the run's events",
	},
	{
		displayName: 'User',
		name: 'user',
		type: 'string',
		default: 'n8n',
		required: true,
		description: 'The end user identifier the run was started with',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['workflow'], operation: ['stop'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const taskId = readUuid(
		this,
		itemIndex,
		'taskId',
		'Task ID',
		'Set Task ID to the task_id of a streaming run: it is in every event of the run (Output: Each Event) and in the final result.',
	);
	const user = readRequiredText(
		this,
		itemIndex,
		'user',
		'User',
		'Set User to the end user identifier the run was started with.',
	);
	// Dify answers success for any task ID, finished or unknown: a stop is a request, not a check.
	const response = await transport.json<DifyStopResponse>(itemIndex, {
		method: 'POST',
		path: `/workflows/tasks/${taskId}/stop`,
		body: { user },
		// Stopping twice is the same as stopping once.
		retry: 'read',
	});
	return [{ json: response as unknown as IDataObject }];
}
