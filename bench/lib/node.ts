import type { IDataObject, INode, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { DifyApi } from '../../credentials/DifyApi.credentials';
import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';
import type { TestBinary } from '../../test/engine/nodes/TestItems.node';
import { TEST_ITEMS_TYPE, TestItems, testItemsNode } from '../../test/engine/nodes/TestItems.node';
import type { EngineRunResult } from '../../test/engine/run-workflow';
import { chain, runWorkflow } from '../../test/engine/run-workflow';
import { PASS_ITEMS_TYPE, PassItems } from '../nodes/PassItems.node';
import type { Target } from './raw';

/** The Dify node as a workflow holds it; the engine runs it as n8n does. */
const DIFY = 'Dify Workflow';
const DIFY_TYPE = 'n8n-nodes-dify-workflow.difyWorkflow';
const SOURCE = 'Items';

const nodeTypes = {
	[TEST_ITEMS_TYPE]: new TestItems(),
	[PASS_ITEMS_TYPE]: new PassItems(),
	[DIFY_TYPE]: new DifyWorkflow(),
};

export type NodeSource = { items: IDataObject[]; binaries?: TestBinary[] } | { passed: INodeExecutionData[] };

function sourceNode(source: NodeSource): INode {
	if ('passed' in source) {
		return {
			id: 'source',
			name: SOURCE,
			type: PASS_ITEMS_TYPE,
			typeVersion: 1,
			position: [0, 0],
			parameters: { items: JSON.stringify(source.passed) },
		};
	}
	return testItemsNode(SOURCE, source.items, source.binaries ?? []);
}

async function execute(target: Target, nodes: INode[]): Promise<EngineRunResult> {
	return await runWorkflow({
		nodes,
		connections: chain(...nodes.map((node) => node.name)),
		nodeTypes,
		credentialTypes: { difyApi: new DifyApi() },
		credentials: { difyApi: { bench: { baseUrl: target.url, apiKey: target.apiKey } } },
		// n8n 2.x's default: binaries live on disk and items hold references.
		binaryMode: 'filesystem',
	});
}

/** One execution of source → Dify Workflow; the Dify node's output items, or its error thrown. */
export async function runDifyNode(target: Target, parameters: INodeParameters, source: NodeSource): Promise<INodeExecutionData[]> {
	return (await runDifyNodeTimed(target, parameters, source)).items;
}

/**
 * The same, with the time n8n recorded for the Dify node alone (`executionTime` of its run data,
 * whole milliseconds): the workflow's setup and the source node are left out.
 */
export async function runDifyNodeTimed(
	target: Target,
	parameters: INodeParameters,
	source: NodeSource,
): Promise<{ items: INodeExecutionData[]; nodeMs: number }> {
	const dify: INode = {
		id: 'dify',
		name: DIFY,
		type: DIFY_TYPE,
		typeVersion: 1,
		position: [200, 0],
		parameters,
		credentials: { difyApi: { id: 'bench', name: 'Dify stand-in' } },
	};
	const result = await execute(target, [sourceNode(source), dify]);
	const error = result.errorOf(DIFY) ?? result.error;
	if (error) throw error;
	return { items: result.outputOf(DIFY), nodeMs: result.runData[DIFY]?.at(-1)?.executionTime ?? NaN };
}

/** Stores files the way a node upstream of Dify would, and returns its items with their references. */
export async function storeBinaries(target: Target, binaries: TestBinary[]): Promise<{ items: INodeExecutionData[]; paths: string[] }> {
	const result = await execute(target, [sourceNode({ items: [{}], binaries })]);
	const items = result.outputOf(SOURCE);
	const paths = binaries.map((binary) => result.binaryFilePath(items[0], binary.property ?? 'data') ?? '');
	return { items, paths };
}

/** Whether the Run operation offers Options → Concurrency (the bench uses it when it does). */
export function runOffersConcurrency(): boolean {
	return new DifyWorkflow().description.properties.some((property) => {
		const show = property.displayOptions?.show;
		return (
			property.name === 'options' &&
			(show?.resource ?? []).includes('workflow') &&
			(show?.operation ?? []).includes('run') &&
			(property.options ?? []).some((option) => 'name' in option && option.name === 'concurrency')
		);
	});
}

export function streamingRun(inputs: IDataObject, output: 'final' | 'events', options: INodeParameters = {}): INodeParameters {
	return {
		resource: 'workflow',
		operation: 'run',
		inputs: JSON.stringify(inputs),
		user: 'bench',
		responseMode: 'streaming',
		output,
		options,
	};
}
