import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { runDetailsOf } from '../helpers/runFailure';
import type { DifyTransport } from '../transport/request';
import { createDifyTransport } from '../transport/request';
import * as app from './app/App.resource';
import * as file from './file/File.resource';
import * as workflow from './workflow/Workflow.resource';

type Operation = (this: IExecuteFunctions, itemIndex: number, transport: DifyTransport) => Promise<IDataObject[]>;

const operations: Record<string, Record<string, Operation>> = {
	workflow: {
		run: workflow.run.execute,
		getRun: workflow.getRun.execute,
		stop: workflow.stop.execute,
		getLogs: workflow.getLogs.execute,
	},
	file: { upload: file.upload.execute },
	app: {
		getInfo: app.getInfo.execute,
		getParameters: app.getParameters.execute,
		getSite: app.getSite.execute,
	},
};

/** Guarantees the error that leaves the node is an n8n error for its item and never shows the key. */
function asNodeError(
	ctx: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
	transport: DifyTransport | undefined,
): NodeApiError | NodeOperationError {
	const nodeError =
		error instanceof NodeApiError || error instanceof NodeOperationError
			? error
			: new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
	if (transport) {
		nodeError.message = transport.redact(nodeError.message);
		if (nodeError.description) nodeError.description = transport.redact(nodeError.description);
	}
	return nodeError;
}

/** Runs the chosen operation for every input item, in order; every output item names its input. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const execute = operations[resource]?.[operation];
	if (!execute) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not known`, {
			description: 'Choose a resource and an operation from the lists.',
		});
	}

	const usesErrorOutput = this.getNode().onError === 'continueErrorOutput';
	const returnData: INodeExecutionData[] = [];
	let transport: DifyTransport | undefined;
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const pairedItem = { item: itemIndex };
		try {
			transport ??= await createDifyTransport(this);
			const results = await execute.call(this, itemIndex, transport);
			for (const json of results) returnData.push({ json, pairedItem });
		} catch (error) {
			const nodeError = asNodeError(this, error, itemIndex, transport);
			if (!this.continueOnFail()) throw nodeError;
			const failure = runDetailsOf(error);
			for (const json of failure?.emitted ?? []) returnData.push({ json, pairedItem });
			const details: IDataObject = { ...(failure?.run ?? {}) };
			if (nodeError.description) details.description = nodeError.description;
			if (nodeError instanceof NodeApiError && nodeError.httpCode) details.httpCode = nodeError.httpCode;
			// n8n routes an item to the error output only when its json holds nothing but error,
			// message and details; setting item.error instead would make n8n drop the run's fields.
			const json: IDataObject = usesErrorOutput
				? { error: nodeError.message, details }
				: { ...details, error: nodeError.message };
			returnData.push({ json, pairedItem });
		}
	}
	return [returnData];
}
