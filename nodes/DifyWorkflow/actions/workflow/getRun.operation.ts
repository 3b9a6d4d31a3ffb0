import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, updateDisplayOptions } from 'n8n-workflow';

import { readUuid, RUN_ID_ADVICE } from '../../helpers/parameters';
import { parseOutputs } from '../../helpers/runResult';
import type { DifyTransport } from '../../transport/request';
import type { DifyRunDetail, OperationItem } from '../../types';

const properties: INodeProperties[] = [
	{
		displayName: 'Workflow Run ID',
		name: 'workflowRunId',
		type: 'string',
		default: '',
		required: true,
		placeholder: '0f6d2c2e-8a1b-4c3d-9e5f-6a7b8c9d0e1f',
		description: 'The workflow_run_id of a run of this app, as a Run operation returns it',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['workflow'], operation: ['getRun'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const runId = readUuid(this, itemIndex, 'workflowRunId', 'Workflow Run ID', RUN_ID_ADVICE);
	const detail = await transport.json<DifyRunDetail>(itemIndex, {
		method: 'GET',
		path: `/workflows/run/${runId}`,
		hints: { not_found: `This app has no run with the ID ${runId}. ${RUN_ID_ADVICE}` },
	});
	// Dify 1.11 and older answer an unknown ID with every field null instead of a 404.
	if (detail.id === null || detail.id === undefined) {
		throw new NodeApiError(this.getNode(), { code: 'not_found', message: 'Workflow run not found.', status: 404 }, {
			message: 'Workflow run not found.',
			description: `This app has no run with the ID ${runId}. ${RUN_ID_ADVICE}`,
			httpCode: '404',
			itemIndex,
		});
	}
	// Dify stores inputs (and, before 1.13, outputs) as JSON text: hand n8n objects instead.
	return [
		{
			json: {
				...detail,
				inputs: detail.inputs === null ? null : parseOutputs(detail.inputs),
				outputs: parseOutputs(detail.outputs),
			} as IDataObject,
		},
	];
}
