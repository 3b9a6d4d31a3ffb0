import type { IDataObject } from 'n8n-workflow';

import type { BinarySpec, DifyNodeRun } from '../integration/dify-node';
import { runDifyNode } from '../integration/dify-node';

/**
 * Bad parameters of issue 6: each must be refused with a NodeOperationError that names the
 * parameter and says how to fix it, before any request reaches Dify.
 */
export interface BadInput {
	id: string;
	title: string;
	parameters: IDataObject;
	binaries?: BinarySpec[];
	message: string | RegExp;
	/** The fix the description must give. */
	fix: RegExp;
}

const run = (parameters: IDataObject): IDataObject => ({
	resource: 'workflow',
	operation: 'run',
	inputs: '{"topic": "Mount Fuji"}',
	user: 'user-42',
	responseMode: 'streaming',
	output: 'final',
	...parameters,
});

const TEXT_FILE: BinarySpec = { property: 'data', fileName: 'fuji.txt', mimeType: 'text/plain', text: 'Mount Fuji' };

export const BAD_INPUTS: BadInput[] = [
	{
		id: 'inputs-array',
		title: 'Inputs is a JSON array',
		parameters: run({ inputs: '[1, 2]' }),
		message: 'The Inputs parameter must be a JSON object, not an array',
		fix: /^Set Inputs to an object whose keys are the app's input variables/,
	},
	{
		id: 'inputs-expression-array',
		title: 'Inputs is an expression that gives an array',
		parameters: run({ inputs: '={{ [$json.topic] }}' }),
		message: 'The Inputs parameter must be a JSON object, not an array',
		fix: /^Set Inputs to an object/,
	},
	{
		id: 'inputs-string',
		title: 'Inputs is a JSON string',
		parameters: run({ inputs: '"Mount Fuji"' }),
		message: 'The Inputs parameter must be a JSON object, not string',
		fix: /^Set Inputs to an object/,
	},
	{
		id: 'inputs-number',
		title: 'Inputs is a JSON number',
		parameters: run({ inputs: '42' }),
		message: 'The Inputs parameter must be a JSON object, not number',
		fix: /^Set Inputs to an object/,
	},
	{
		id: 'inputs-invalid-json',
		title: 'Inputs is invalid JSON text',
		parameters: run({ inputs: '{"topic": "Mount Fuji",}' }),
		message: /^The Inputs parameter is not valid JSON: /,
		fix: /^Write Inputs as a JSON object whose keys are the app's input variables/,
	},
	{
		id: 'user-empty',
		title: 'User is blank',
		parameters: run({ user: '   ' }),
		message: 'The User parameter is empty',
		fix: /^Set User to an identifier of the end user/,
	},
	{
		id: 'workflow-id-malformed',
		title: 'the Workflow ID option is not a UUID',
		parameters: run({ options: { workflowId: 'v2.1' } }),
		message: 'The Workflow ID option is not a Dify ID: "v2.1"',
		fix: /^Set the Workflow ID option to the UUID of a published workflow version/,
	},
	{
		id: 'run-id-empty',
		title: 'Get Run: the Workflow Run ID is empty (from an expression)',
		parameters: { resource: 'workflow', operation: 'getRun', workflowRunId: '={{ $json.missing ?? "" }}' },
		message: 'The Workflow Run ID parameter is empty',
		fix: /^Set Workflow Run ID to the workflow_run_id of a run of this app/,
	},
	{
		id: 'run-id-malformed',
		title: 'Get Run: the Workflow Run ID is not a UUID',
		parameters: { resource: 'workflow', operation: 'getRun', workflowRunId: 'run-0001' },
		message: 'The Workflow Run ID parameter is not a Dify ID: "run-0001"',
		fix: /^Set Workflow Run ID to the workflow_run_id/,
	},
	{
		id: 'task-id-empty',
		title: 'Stop: the Task ID is empty (from an expression)',
		parameters: { resource: 'workflow', operation: 'stop', taskId: '={{ "" }}', user: 'user-42' },
		message: 'The Task ID parameter is empty',
		fix: /^Set Task ID to the task_id of a streaming run/,
	},
	{
		id: 'task-id-malformed',
		title: 'Stop: the Task ID is not a UUID',
		parameters: { resource: 'workflow', operation: 'stop', taskId: '7c1e2f3a-5b6d', user: 'user-42' },
		message: 'The Task ID parameter is not a Dify ID: "7c1e2f3a-5b6d"',
		fix: /^Set Task ID to the task_id of a streaming run/,
	},
	{
		id: 'binary-missing',
		title: 'Upload: the input binary field does not exist',
		parameters: { resource: 'file', operation: 'upload', binaryPropertyName: 'document', user: 'user-42' },
		binaries: [TEXT_FILE],
		message: "The item has no binary field 'document' [item 0]",
		fix: /input binary field name is correct/,
	},
	{
		id: 'binary-none',
		title: 'Upload: the item has no binary data at all',
		parameters: { resource: 'file', operation: 'upload', binaryPropertyName: 'data', user: 'user-42' },
		message: "This operation expects the node's input data to contain a binary file 'data', but none was found [item 0]",
		fix: /previous node outputs a binary file/,
	},
	{
		id: 'binary-empty',
		title: 'Upload: the file is empty',
		parameters: { resource: 'file', operation: 'upload', binaryPropertyName: 'data', user: 'user-42' },
		binaries: [{ ...TEXT_FILE, text: '' }],
		message: 'The file in the binary field "data" is empty',
		fix: /^Dify does not accept empty files\. Check the node that produced the file\./,
	},
	{
		id: 'date-after-invalid',
		title: 'Get Logs: Created After is not a date',
		parameters: { resource: 'workflow', operation: 'getLogs', returnAll: true, filters: { createdAtAfter: 'last tuesday' } },
		message: 'The Created After filter is not a valid date: "last tuesday"',
		fix: /^Use an ISO 8601 date and time/,
	},
	{
		id: 'date-before-impossible-time',
		title: 'Get Logs: Created Before has hour 25',
		parameters: { resource: 'workflow', operation: 'getLogs', returnAll: true, filters: { createdAtBefore: '2026-01-31T25:00:00' } },
		message: 'The Created Before filter is not a valid date: "2026-01-31T25:00:00"',
		fix: /^Use an ISO 8601 date and time/,
	},
	{
		// JavaScript's Date rolls 30 February over to 2 March; the filter would silently mean another day.
		id: 'date-after-impossible-day',
		title: 'Get Logs: Created After is 30 February',
		parameters: { resource: 'workflow', operation: 'getLogs', returnAll: true, filters: { createdAtAfter: '2026-02-30' } },
		message: 'The Created After filter is not a valid date: "2026-02-30"',
		fix: /^Use an ISO 8601 date and time/,
	},
	...[0, -5, 2.5].map(
		(limit): BadInput => ({
			id: `limit-${limit}`,
			title: `Get Logs: Limit ${limit}`,
			parameters: { resource: 'workflow', operation: 'getLogs', returnAll: false, limit },
			message: 'The Limit parameter must be a whole number of at least 1',
			fix: /^Set Limit to 1 or more\./,
		}),
	),
];

export function runBadInput(input: BadInput, baseUrl: string, apiKey: string, continueOnFail = false): Promise<DifyNodeRun> {
	return runDifyNode({
		parameters: input.parameters as never,
		baseUrl,
		apiKey,
		binaries: input.binaries,
		items: [{ topic: 'Mount Fuji' }],
		continueOnFail,
	});
}
