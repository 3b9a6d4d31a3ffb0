import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { errorsGoToAgent } from '../helpers/asTool';
import { asNodeError } from '../helpers/nodeError';
import { runDetailsOf } from '../helpers/runFailure';
import type { DifyTransport } from '../transport/request';
import type { OperationItem } from '../types';
import { createDifyTransport } from '../transport/request';
import * as app from './app/App.resource';
import * as file from './file/File.resource';
import * as humanInput from './humanInput/HumanInput.resource';
import * as workflow from './workflow/Workflow.resource';

type Operation = (this: IExecuteFunctions, itemIndex: number, transport: DifyTransport) => Promise<OperationItem[]>;

interface OperationModule {
	execute: Operation;
	/** How many items may run at once; one at a time when absent. */
	concurrency?: (this: IExecuteFunctions) => number;
}

const operations: Record<string, Record<string, OperationModule>> = {
	workflow: {
		run: workflow.run,
		getRun: workflow.getRun,
		stop: workflow.stop,
		getLogs: workflow.getLogs,
		watchRun: workflow.watchRun,
	},
	humanInput: { getForm: humanInput.getForm, submitForm: humanInput.submitForm },
	file: { upload: file.upload },
	app: {
		getInfo: app.getInfo,
		getParameters: app.getParameters,
		getSite: app.getSite,
	},
};

/** What one input item gave: its output objects, or the error that ended it. */
type Outcome = { results: OperationItem[] } | { error: unknown };

/**
 * Runs the chosen operation for every input item, up to the operation's concurrency at a time,
 * and returns the results in input order; every output item names its input item.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const chosen = operations[resource]?.[operation];
	if (!chosen) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not known`, {
			description: 'Choose a resource and an operation from the lists.',
		});
	}
	const continueOnFail = this.continueOnFail() || errorsGoToAgent(this);
	// A bad Concurrency option is an error of every item: under Continue On Fail, each says so.
	let limit = 1;
	let optionError: NodeApiError | NodeOperationError | undefined;
	try {
		limit = Math.min(chosen.concurrency?.call(this) ?? 1, Math.max(1, items.length));
	} catch (error) {
		optionError = asNodeError(this.getNode(), error, 0, undefined);
	}
	if (optionError && !continueOnFail) throw optionError;

	let transport: DifyTransport | undefined;
	let creating: Promise<DifyTransport> | undefined;
	const outcomes: Outcome[] = new Array(items.length);
	let next = 0;
	if (optionError !== undefined) {
		outcomes.fill({ error: optionError });
		next = items.length;
	}
	// Without Continue On Fail the node fails with its first failed item, so the items running
	// beside it are stopped (their requests aborted, their Dify tasks stopped) instead of being
	// waited for and thrown away: the transport sees this as the execution being stopped.
	const halt = limit > 1 && !continueOnFail ? new AbortController() : undefined;
	const cancelSignal = halt && AbortSignal.any([this.getExecutionCancelSignal?.() ?? halt.signal, halt.signal]);
	let firstFailure: number | undefined;
	// Each worker takes the next item; without Continue On Fail no item starts after a failure.
	const worker = async () => {
		while (next < items.length && !(firstFailure !== undefined && !continueOnFail)) {
			const itemIndex = next++;
			try {
				creating ??= createDifyTransport(this, cancelSignal);
				transport = await creating;
				outcomes[itemIndex] = { results: await chosen.execute.call(this, itemIndex, transport) };
			} catch (error) {
				outcomes[itemIndex] = { error };
				if (firstFailure === undefined) {
					firstFailure = itemIndex;
					halt?.abort();
				}
			}
		}
	};
	await Promise.all(Array.from({ length: limit }, worker));
	if (firstFailure !== undefined && !continueOnFail) {
		throw asNodeError(this.getNode(), (outcomes[firstFailure] as { error: unknown }).error, firstFailure, transport);
	}

	// Every item that leaves the node passes here, whatever made it: one place keeps the key out.
	const redact = <T>(json: T): T => (transport ? transport.redactJson(json) : json);
	const usesErrorOutput = this.getNode().onError === 'continueErrorOutput';
	const returnData: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const outcome = outcomes[itemIndex];
		if (!outcome) continue;
		const pairedItem = { item: itemIndex };
		if ('results' in outcome) {
			// The operation's items are its own, fresh: naming their input in place spares a copy of each
			// (an events run can return hundreds of thousands).
			for (const result of outcome.results) {
				const item = result as INodeExecutionData;
				item.pairedItem = pairedItem;
				redact(item.json);
				returnData.push(item);
			}
			continue;
		}
		const nodeError = asNodeError(this.getNode(), outcome.error, itemIndex, transport);
		const failure = runDetailsOf(outcome.error);
		for (const json of failure?.emitted ?? []) returnData.push({ json: redact(json), pairedItem });
		const details: IDataObject = redact({ ...(failure?.run ?? {}) });
		if (nodeError.description) details.description = nodeError.description;
		if (nodeError instanceof NodeApiError && nodeError.httpCode) details.httpCode = nodeError.httpCode;
		// n8n routes an item to the error output only when its json holds nothing but error,
		// message and details; setting item.error instead would make n8n drop the run's fields.
		const json: IDataObject = usesErrorOutput
			? { error: nodeError.message, details }
			: { ...details, error: nodeError.message };
		returnData.push({ json, pairedItem });
	}
	return [returnData];
}
