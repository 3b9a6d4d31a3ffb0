import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';

import { mayReferenceFiles, resolveFileInputs, resolveRunFiles } from '../../helpers/fileInputs';
import { DEFAULT_MAX_DOWNLOAD_MB, downloadLimit } from '../../helpers/outputFiles';
import { optionalUuid, readInputs, readRequiredText } from '../../helpers/parameters';
import { appForm, checkAgainstForm, readMappedInputs } from '../../helpers/runInputs';
import { blockingItem, consumeRunStream } from '../../helpers/streamRun';
import type { DifyTransport } from '../../transport/request';
import type { DifyBlockingRunResponse, DifyResponseMode, DifyRunRequest, OperationItem } from '../../types';

interface RunOptions {
	concurrency?: number;
	downloadFiles?: boolean;
	files?: string;
	maxDownloadSize?: number;
	reattach?: boolean;
	streamReasoning?: boolean;
	streamVariables?: string;
	timeout?: number;
	traceSessionId?: string;
	validateInputs?: boolean;
	workflowId?: string;
}

const DEFAULT_TIMEOUT_SECONDS = 300;
const MAX_CONCURRENCY = 50;

const properties: INodeProperties[] = [
	{
		displayName: 'Input Mode',
		name: 'inputMode',
		type: 'options',
		options: [
			{
				name: 'JSON',
				value: 'json',
				description: 'Write the inputs as one JSON object',
			},
			{
				name: 'Map Fields',
				value: 'mapped',
				description: "One field per input variable of the app, loaded from Dify with its type and options",
			},
		],
		default: 'json',
	},
	{
		displayName: 'Inputs',
		name: 'inputFields',
		type: 'resourceMapper',
		noDataExpression: true,
		default: { mappingMode: 'defineBelow', value: null },
		required: true,
		displayOptions: { show: { inputMode: ['mapped'] } },
		hint: 'A file input takes the name of a binary field of the item or a URL; several files: comma-separated',
		typeOptions: {
			loadOptionsDependsOn: ['inputMode'],
			resourceMapper: {
				resourceMapperMethod: 'getInputFields',
				mode: 'add',
				fieldWords: { singular: 'input', plural: 'inputs' },
				addAllFields: true,
				multiKeyMatch: false,
				supportAutoMap: true,
			},
		},
	},
	{
		displayName: 'Inputs',
		name: 'inputs',
		type: 'json',
		displayOptions: { show: { inputMode: ['json'] } },
		default: '{}',
		description:
			"The workflow's input variables as a JSON object keyed by variable name, e.g. {\"topic\": \"Mount Fuji\"}. App → Get Parameters lists the app's variables.",
	},
	{
		displayName: 'User',
		name: 'user',
		type: 'string',
		default: 'n8n',
		required: true,
		description:
			"Identifies the end user in Dify's logs and statistics, e.g. an e-mail or a customer ID. Dify requires it.",
	},
	{
		displayName: 'Response Mode',
		name: 'responseMode',
		type: 'options',
		options: [
			{
				name: 'Blocking',
				value: 'blocking',
				description:
					'Wait for one JSON answer. Dify Cloud cuts blocking calls after about 100 seconds: use streaming for long runs.',
			},
			{
				name: 'Streaming',
				value: 'streaming',
				description: "Read Dify's event stream as it arrives. Suits runs of any length.",
			},
		],
		default: 'streaming',
	},
	{
		displayName: 'Output',
		name: 'output',
		type: 'options',
		displayOptions: { show: { responseMode: ['streaming'] } },
		options: [
			{
				name: 'Each Event',
				value: 'events',
				description: 'One item per event Dify sent, in order (keep-alive pings excluded)',
			},
			{
				name: 'Final Result',
				value: 'final',
				description: "One item with the run's outputs, status and usage",
			},
		],
		default: 'final',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Concurrency',
				name: 'concurrency',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: MAX_CONCURRENCY },
				default: 1,
				description:
					'How many input items to run at once, over one pool of keep-alive connections. Results keep the order of the input items. Read from the first item only. Without Continue On Fail, the first failed item stops the others and their Dify runs. Dify may limit concurrent runs per app.',
			},
			{
				displayName: 'Download Output Files',
				name: 'downloadFiles',
				type: 'boolean',
				default: false,
				description:
					"Whether to download the files the run's outputs reference (Dify file objects) into binary properties of the result: a file output goes to a property of its name, each file of a list to that name followed by _0, _1, …; a name already taken gets _2, _3, …",
			},
			{
				displayName: 'Files',
				name: 'files',
				type: 'string',
				default: '',
				placeholder: 'data, https://example.com/photo.png',
				description:
					"Files for the run's files list (sys.files): binary field names of the input item (uploaded to Dify first) or URLs, separated by commas",
			},
			{
				displayName: 'Max Download Size (MB)',
				name: 'maxDownloadSize',
				type: 'number',
				typeOptions: { minValue: 0.001, numberPrecision: 3 },
				default: DEFAULT_MAX_DOWNLOAD_MB,
				description:
					'With Download Output Files: the largest output file to download, in megabytes. A larger file fails the item instead of filling n8n\'s disk or memory.',
			},
			{
				displayName: 'Re-Attach on Dropped Stream',
				name: 'reattach',
				type: 'boolean',
				default: true,
				description:
					"Whether to re-attach to the run through Dify's events endpoint (Dify 1.14+) when its stream breaks off, and finish with the run's real result. A warning is logged; in Each Event output an item with event 'reattached' marks the place.",
			},
			{
				displayName: 'Stream Reasoning Too',
				name: 'streamReasoning',
				type: 'boolean',
				default: false,
				description:
					"Whether the live text also carries the model's reasoning (Dify 1.15+ reasoning_chunk events, for LLM nodes whose reasoning format is separated), in either Output. With Stream Text Of set, only the reasoning of the LLM nodes it names by selector (node_id.variable).",
			},
			{
				displayName: 'Stream Text Of',
				name: 'streamVariables',
				type: 'string',
				default: '',
				placeholder: 'text, 1782800000002.text',
				description:
					"Behind a Webhook or Chat Trigger in Streaming response mode, the text of Dify's text_chunk events is forwarded as it arrives. Empty forwards all of it; otherwise only the chunks of these variables: names (the last part of the chunk's from_variable_selector) or selectors (node_id.name), separated by commas.",
			},
			{
				displayName: 'Timeout (Seconds)',
				name: 'timeout',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: DEFAULT_TIMEOUT_SECONDS,
				description:
					'Streaming: the longest wait for the next workflow event (keep-alive pings do not count). Blocking: the longest wait for the answer.',
			},
			{
				displayName: 'Trace Session ID',
				name: 'traceSessionId',
				type: 'string',
				default: '',
				placeholder: 'ticket-4711',
				description:
					"Groups this run with others in Dify's observability tracing (sent as trace_session_id, Dify 1.15+; older versions ignore it). 1 to 200 characters.",
			},
			{
				displayName: 'Validate Inputs',
				name: 'validateInputs',
				type: 'boolean',
				default: true,
				description:
					"Whether to check the inputs against the app's input form (GET /parameters, once per execution) before running: missing required inputs and unknown keys are reported at once instead of Dify 1.13 waiting silently. File inputs given as binary field names or URLs are resolved either way.",
			},
			{
				displayName: 'Workflow ID',
				name: 'workflowId',
				type: 'string',
				default: '',
				placeholder: '5e0a4b8c-2d1f-4a6b-8c3e-9f0a1b2c3d4e',
				description:
					'Run this published version of the workflow instead of the current one: its ID, as workflow_id in run results or in the version history',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['workflow'], operation: ['run'] } },
	properties,
);

const WORKFLOW_ID_ADVICE =
	'Set the Workflow ID option to the UUID of a published workflow version (workflow_id in a run result), or clear it to run the published workflow.';

const MAX_TRACE_SESSION_ID = 200;

/** How many items the router may run at once (the Concurrency option of the first item). */
export function concurrency(this: IExecuteFunctions): number {
	const value = Number(this.getNodeParameter('options.concurrency', 0, 1));
	if (!Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY) {
		throw new NodeOperationError(this.getNode(), `The Concurrency option must be a whole number from 1 to ${MAX_CONCURRENCY}`, {
			description: 'Set Concurrency to how many items to run at once; 1 runs them one after another.',
		});
	}
	return value;
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const inputMode = this.getNodeParameter('inputMode', itemIndex, 'json') as 'json' | 'mapped';
	let inputs = inputMode === 'mapped' ? readMappedInputs(this, itemIndex) : readInputs(this, itemIndex);
	const user = readRequiredText(
		this,
		itemIndex,
		'user',
		'User',
		'Set User to an identifier of the end user, e.g. an e-mail or a customer ID: Dify requires it.',
	);
	const responseMode = this.getNodeParameter('responseMode', itemIndex, 'streaming') as DifyResponseMode;
	const options = this.getNodeParameter('options', itemIndex, {}) as RunOptions;
	const workflowId = optionalUuid(this, itemIndex, options.workflowId, 'Workflow ID', WORKFLOW_ID_ADVICE);
	const timeoutMs = Math.max(1, Number(options.timeout) || DEFAULT_TIMEOUT_SECONDS) * 1000;
	const download = downloadLimit(options);

	const validate = options.validateInputs !== false;
	// File inputs are resolved either way: only the form says which inputs are files.
	if (validate || mayReferenceFiles(inputs)) {
		const form = await appForm(transport, itemIndex, timeoutMs);
		if (validate) checkAgainstForm(this, itemIndex, inputs, form);
		inputs = await resolveFileInputs(this, itemIndex, transport, inputs, form, user);
	}
	const files = await resolveRunFiles(this, itemIndex, transport, options.files, user);

	const path = workflowId ? `/workflows/${workflowId}/run` : '/workflows/run';
	const traceSessionId = readTraceSessionId(this, itemIndex, options.traceSessionId);
	const body: DifyRunRequest = {
		inputs,
		user,
		response_mode: responseMode,
		...(files ? { files } : {}),
		...(traceSessionId ? { trace_session_id: traceSessionId } : {}),
	};
	const hints = {
		invalid_param:
			"Dify rejected a parameter. Check that the keys in Inputs are the app's variable names (App → Get Parameters lists them), that required ones are set, and that User is not empty.",
		bad_request:
			'Dify could not read the request. Check Inputs and, if set, the Workflow ID option (the UUID of a published workflow version).',
		...(workflowId ? { not_found: `No published workflow version has the ID ${workflowId}. ${WORKFLOW_ID_ADVICE}` } : {}),
		workflow_version_execution_not_allowed:
			"Dify Cloud's sandbox plan cannot run a chosen workflow version (Dify 1.16+). Clear the Workflow ID option to run the published workflow, or upgrade the workspace to a paid plan.",
	};

	if (responseMode === 'blocking') {
		const response = await transport.json<DifyBlockingRunResponse>(itemIndex, {
			method: 'POST',
			path,
			body,
			timeoutMs,
			hints,
			advice: { timeout: 'For long workflow runs use the streaming response mode and raise the Timeout option.' },
			retry: 'start',
		});
		return await blockingItem(this, transport, itemIndex, response, download);
	}

	return await consumeRunStream(this, transport, {
		itemIndex,
		user,
		output: this.getNodeParameter('output', itemIndex, 'final') as 'final' | 'events',
		timeoutMs,
		open: async (stream) => await transport.stream(itemIndex, { path, body, timeoutMs, hints, ...stream }),
		reattach: options.reattach !== false,
		snapshotOnReattach: true,
		download,
		streamVariables: options.streamVariables,
		streamReasoning: options.streamReasoning,
	});
}

/** Dify 1.15+ refuses a trace session ID that is empty or longer than 200 characters once trimmed. */
function readTraceSessionId(ctx: IExecuteFunctions, itemIndex: number, value: unknown): string | undefined {
	const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
	if (!text) return undefined;
	if (text.length > MAX_TRACE_SESSION_ID) {
		throw new NodeOperationError(ctx.getNode(), `The Trace Session ID option is longer than ${MAX_TRACE_SESSION_ID} characters (${text.length})`, {
			itemIndex,
			description: `Dify accepts a trace session ID of 1 to ${MAX_TRACE_SESSION_ID} characters. Shorten it, e.g. to a ticket or conversation ID.`,
		});
	}
	return text;
}
