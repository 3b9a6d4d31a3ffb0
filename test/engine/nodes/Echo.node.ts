import { createHash } from 'node:crypto';

import type {
	IDataObject,
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	INodeParameters,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

/** The type name a workflow uses for this node. */
export const ECHO_TYPE = 'test.echo';

/** Lets a test act at the moment the node is inside its execution (n8n calls `execute` with the context as `this`). */
export interface EchoObserver {
	/** Called once the node is waiting for the execution to be stopped (`waitForAbortMs`). */
	waiting?(): void;
	/** Every signal `getExecutionCancelSignal()` returned, and whether it was aborted when the wait ended. */
	signals?: Array<{ signal: AbortSignal | undefined; abortedAfterWait: boolean }>;
}

/** What the node writes under `json.echo` for each item. */
export interface EchoResult extends IDataObject {
	itemIndex: number;
	message: string;
	mode: string;
	credentials?: IDataObject;
	response?: IDataObject;
	binary?: {
		property: string;
		id: string | null;
		bytes: number;
		/** How many pieces the content arrived in: more than one means it was really streamed. */
		chunks: number;
		sha256: string;
		streamed: boolean;
		text: string | null;
	};
	aborted?: boolean;
}

const TEXT_PREVIEW_BYTES = 1024;

async function readBinary(context: IExecuteFunctions, itemIndex: number, property: string): Promise<EchoResult['binary']> {
	const binaryData = context.helpers.assertBinaryData(itemIndex, property);
	const hash = createHash('sha256');
	const preview: Buffer[] = [];
	let bytes = 0;
	let chunks = 0;
	const take = (chunk: Buffer) => {
		chunks++;
		hash.update(chunk);
		if (bytes < TEXT_PREVIEW_BYTES) preview.push(chunk.subarray(0, TEXT_PREVIEW_BYTES - bytes));
		bytes += chunk.length;
	};
	// The way the guide asks nodes to read input files: a stream when the data lives in a store
	// (it has an id), the in-memory buffer otherwise.
	const streamed = Boolean(binaryData.id);
	if (binaryData.id) {
		for await (const chunk of await context.helpers.getBinaryStream(binaryData.id)) take(chunk as Buffer);
	} else {
		take(await context.helpers.getBinaryDataBuffer(itemIndex, property));
	}
	const isText = binaryData.mimeType.startsWith('text/') && bytes <= TEXT_PREVIEW_BYTES;
	return {
		property,
		id: binaryData.id ?? null,
		bytes,
		chunks,
		sha256: hash.digest('hex'),
		streamed,
		text: isText ? Buffer.concat(preview).toString('utf8') : null,
	};
}

async function waitForAbort(context: IExecuteFunctions, ms: number, observer: EchoObserver): Promise<boolean> {
	const signal = context.getExecutionCancelSignal();
	await new Promise<void>((resolve) => {
		const timer = setTimeout(resolve, ms);
		signal?.addEventListener(
			'abort',
			() => {
				clearTimeout(timer);
				resolve();
			},
			{ once: true },
		);
		// After the listener is in place, so a test that aborts right here is not missed.
		observer.waiting?.();
	});
	const aborted = signal?.aborted ?? false;
	observer.signals?.push({ signal, abortedAfterWait: aborted });
	return aborted;
}

async function echoItem(context: IExecuteFunctions, item: INodeExecutionData, i: number, observer: EchoObserver): Promise<EchoResult> {
	const message = context.getNodeParameter('message', i) as string;
	if (context.getNodeParameter('fail', i) as boolean) {
		throw new NodeOperationError(context.getNode(), `Echo was told to fail: ${message}`, { itemIndex: i });
	}
	const echo: EchoResult = { itemIndex: i, message, mode: context.getMode() };

	if (context.getNodeParameter('useCredentials', i) as boolean) {
		echo.credentials = { ...(await context.getCredentials('echoApi', i)) } as IDataObject;
		const requestUrl = context.getNodeParameter('requestUrl', i) as string;
		if (requestUrl) {
			echo.response = (await context.helpers.httpRequestWithAuthentication.call(context, 'echoApi', {
				url: requestUrl,
				method: 'GET',
				json: true,
			})) as IDataObject;
		}
	}

	const binaryProperty = context.getNodeParameter('binaryProperty', i) as string;
	if (binaryProperty && item.binary?.[binaryProperty]) {
		echo.binary = await readBinary(context, i, binaryProperty);
	}

	const waitMs = context.getNodeParameter('waitForAbortMs', i) as number;
	if (waitMs > 0) echo.aborted = await waitForAbort(context, waitMs, observer);

	return echo;
}

function errorItem(context: IExecuteFunctions, error: NodeOperationError, item: INodeExecutionData, i: number): INodeExecutionData {
	const shape = context.getNodeParameter('errorItem', i) as string;
	if (shape === 'standard') return { json: { error: error.message }, pairedItem: { item: i } };
	// Extra fields beside `error`, as the Dify contract puts a failed run's fields there. n8n's
	// error output only recognises such an item when item.error is set too.
	const json = { error: error.message, input: item.json };
	if (shape === 'withFields') return { json, pairedItem: { item: i } };
	return { json, error, pairedItem: { item: i } };
}

/**
 * Engine-test node: echoes each input item with a parameter read per item (so expressions are
 * resolved per item by n8n), fails items on request, reads its credentials, makes an
 * authenticated request, reads input binaries and waits for the execution to be stopped.
 */
export class Echo implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Echo',
		name: 'echo',
		group: ['transform'],
		version: 1,
		description: 'Echoes its input (test only)',
		defaults: { name: 'Echo' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'echoApi', required: true, displayOptions: { show: { useCredentials: [true] } } }],
		properties: [
			{ displayName: 'Message', name: 'message', type: 'string', default: '' },
			{ displayName: 'Fail', name: 'fail', type: 'boolean', default: false },
			{
				displayName: 'On Failure',
				name: 'onFailure',
				type: 'options',
				options: [
					// What n8n nodes do: honour Continue On Fail item by item.
					{ name: 'Error Item If Continuing', value: 'errorItem' },
					// A node that never looks at continueOnFail(): the engine alone decides.
					{ name: 'Always Throw', value: 'throw' },
				],
				default: 'errorItem',
			},
			{
				displayName: 'Error Item',
				name: 'errorItem',
				type: 'options',
				options: [
					{ name: 'Standard', value: 'standard' },
					{ name: 'With Fields', value: 'withFields' },
					{ name: 'With Fields And Item Error', value: 'withFieldsAndItemError' },
				],
				default: 'standard',
			},
			{ displayName: 'Use Credentials', name: 'useCredentials', type: 'boolean', default: false },
			{
				displayName: 'Request URL',
				name: 'requestUrl',
				type: 'string',
				default: '',
				displayOptions: { show: { useCredentials: [true] } },
			},
			{ displayName: 'Binary Property', name: 'binaryProperty', type: 'string', default: 'data' },
			{ displayName: 'Wait For Abort (Ms)', name: 'waitForAbortMs', type: 'number', default: 0 },
		],
	};

	execute: (this: IExecuteFunctions) => Promise<INodeExecutionData[][]>;

	constructor(observer: EchoObserver = {}) {
		// A closure, because n8n calls execute with the execution context as `this`, not the node.
		this.execute = async function (this: IExecuteFunctions) {
			const items = this.getInputData();
			const output: INodeExecutionData[] = [];
			for (const [i, item] of items.entries()) {
				try {
					const echo = await echoItem(this, item, i, observer);
					output.push({ json: { ...item.json, echo }, binary: item.binary, pairedItem: { item: i } });
				} catch (error) {
					if (!this.continueOnFail() || this.getNodeParameter('onFailure', i) === 'throw') throw error;
					const nodeError =
						error instanceof NodeOperationError
							? error
							: new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
					output.push(errorItem(this, nodeError, item, i));
				}
			}
			return [output];
		};
	}
}

/** An Echo node for a workflow. */
export function echoNode(name: string, parameters: INodeParameters = {}, extra: Partial<INode> = {}): INode {
	return {
		id: `${name}-id`,
		name,
		type: ECHO_TYPE,
		typeVersion: 1,
		position: [200, 0],
		parameters,
		...extra,
	};
}
