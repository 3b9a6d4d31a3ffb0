import type { IDataObject } from 'n8n-workflow';

/** The parameters of a streaming Run by the end user `user-42`, final output, with `more` on top. */
export const runParameters = (inputs: IDataObject, more: IDataObject = {}) => ({
	resource: 'workflow',
	operation: 'run',
	inputs: JSON.stringify(inputs),
	user: 'user-42',
	responseMode: 'streaming',
	output: 'final',
	...more,
});

/** The parameters of a Watch Run of `workflowRunId` by the end user `user-42`, final output, with `more` on top. */
export const watchParameters = (workflowRunId: string, more: IDataObject = {}) => ({
	resource: 'workflow',
	operation: 'watchRun',
	workflowRunId,
	user: 'user-42',
	output: 'final',
	...more,
});
