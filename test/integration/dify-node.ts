import type { IDataObject, INodeExecutionData, INodeParameters, INodeType, IWorkflowSettings } from 'n8n-workflow';

import { DifyApi } from '../../credentials/DifyApi.credentials';
import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';
import type { TestBinary } from '../engine/nodes/TestItems.node';
import { TEST_ITEMS_TYPE, TestItems, testItemsNode } from '../engine/nodes/TestItems.node';
import type { EngineNode, EngineRunResult, StreamChunk } from '../engine/run-workflow';
import { chain, runWorkflow } from '../engine/run-workflow';

export const DIFY_NODE = 'Dify Workflow';
const SOURCE_NODE = 'Items';

export type BinarySpec = TestBinary;

export interface DifyNodeRun {
	/** The Dify node's output items (empty when it failed). */
	items: INodeExecutionData[];
	/** Items on the error output, when the node uses one. */
	errorItems: INodeExecutionData[];
	/** The Dify node's error, when it failed for good. */
	error?: Error & { description?: string | null; httpCode?: string | null; context?: IDataObject };
	engine: EngineRunResult;
}

export interface DifyNodeOptions {
	parameters: INodeParameters;
	baseUrl: string;
	apiKey: string;
	/** Input items for the Dify node; one empty item by default. */
	items?: IDataObject[];
	binaries?: BinarySpec[];
	continueOnFail?: boolean;
	/** Continue On Fail with the error output ("Continue (using error output)"). */
	errorOutput?: boolean;
	binaryMode?: 'default' | 'filesystem';
	/** Workflow settings, e.g. n8n 2.x's `binaryMode: 'combined'` (execution logic v2). */
	settings?: IWorkflowSettings;
	signal?: AbortSignal;
	/** Makes the run a streaming one, as behind a Webhook or Chat Trigger in Streaming mode. */
	onChunk?: (chunk: StreamChunk) => void;
	/** The node type to run instead of the node itself (a variant that sees an older n8n, say). */
	nodeType?: INodeType;
	/** Saves the node under its tool variant's type, as when it is connected to an AI Agent. */
	asTool?: boolean;
}

/**
 * Runs a two-node workflow, items → Dify Workflow, through n8n's own engine, so parameters,
 * expressions, pairedItem, Continue On Fail and binary data are handled by n8n itself.
 */
export async function runDifyNode(options: DifyNodeOptions): Promise<DifyNodeRun> {
	const type = options.asTool ? 'n8n-nodes-dify-workflow.difyWorkflowTool' : 'n8n-nodes-dify-workflow.difyWorkflow';
	const dify: EngineNode = {
		name: DIFY_NODE,
		type,
		typeVersion: 1,
		parameters: options.parameters,
		credentials: { difyApi: { id: 'cred-1', name: 'Dify stand-in' } },
		...(options.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
		...(options.errorOutput ? { onError: 'continueErrorOutput' as const } : {}),
	};
	const engine = await runWorkflow({
		nodes: [testItemsNode(SOURCE_NODE, options.items ?? [{}], options.binaries ?? []), dify],
		connections: chain(SOURCE_NODE, DIFY_NODE),
		nodeTypes: { [TEST_ITEMS_TYPE]: new TestItems(), [type]: options.nodeType ?? (options.asTool ? toolVariant() : new DifyWorkflow()) },
		credentialTypes: { difyApi: new DifyApi() },
		credentials: { difyApi: { 'cred-1': { baseUrl: options.baseUrl, apiKey: options.apiKey } } },
		binaryMode: options.binaryMode ?? 'default',
		settings: options.settings,
		signal: options.signal,
		onChunk: options.onChunk,
	});
	const error = engine.errorOf(DIFY_NODE) as DifyNodeRun['error'];
	const errorItems = options.errorOutput && !error ? engine.outputOf(DIFY_NODE, 1) : [];
	return { items: error ? [] : engine.outputOf(DIFY_NODE), errorItems, error, engine };
}

/**
 * The node as n8n makes its tool variant: the same node under the name `difyWorkflowTool`. n8n also
 * rewires its output to the agent; in 2.x the engine still executes it as a node of the workflow,
 * which is what the main connection here does.
 */
function toolVariant(): INodeType {
	const node = new DifyWorkflow();
	node.description = { ...node.description, name: `${node.description.name}Tool` };
	return node;
}

/** Everything a user could see of a run: outputs, error message, description and context. */
export function everythingShown(run: DifyNodeRun): string {
	const error = run.error
		? { message: run.error.message, description: run.error.description, context: run.error.context }
		: undefined;
	return JSON.stringify({ items: run.items, error });
}
