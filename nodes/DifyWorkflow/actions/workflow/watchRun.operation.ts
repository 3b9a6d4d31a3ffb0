import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { readRequiredText, readUuid, RUN_ID_ADVICE } from '../../helpers/parameters';
import { missingEventsEndpoint } from '../../helpers/eventsEndpoint';
import { consumeRunStream } from '../../helpers/streamRun';
import type { DifyTransport } from '../../transport/request';
import type { OperationItem } from '../../types';

interface WatchOptions {
	continueOnPause?: boolean;
	includeStateSnapshot?: boolean;
	timeout?: number;
}

const DEFAULT_TIMEOUT_SECONDS = 300;

const properties: INodeProperties[] = [
	{
		displayName: 'Workflow Run ID',
		name: 'workflowRunId',
		type: 'string',
		default: '',
		required: true,
		placeholder: '0f6d2c2e-8a1b-4c3d-9e5f-6a7b8c9d0e1f',
		description: 'The workflow_run_id of a run of this app, as a Run operation returns it (not its task_id)',
	},
	{
		displayName: 'User',
		name: 'user',
		type: 'string',
		default: 'n8n',
		required: true,
		description: 'The end user identifier the run was started with',
		hint: 'Must be the User the run was started with: Dify shows a run only to the end user that started it',
	},
	{
		displayName: 'Output',
		name: 'output',
		type: 'options',
		options: [
			{
				name: 'Each Event',
				value: 'events',
				description: 'One item per event Dify sends from now on, in order (keep-alive pings excluded)',
			},
			{
				name: 'Final Result',
				value: 'final',
				description: "One item with the run's outputs, status and usage, as Run gives it",
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
				displayName: 'Continue on Pause',
				name: 'continueOnPause',
				type: 'boolean',
				default: false,
				description:
					'Whether to keep watching when the run pauses at a Human Input node, until it finishes. Off: a pause ends the watch with the paused result.',
			},
			{
				displayName: 'Include State Snapshot',
				name: 'includeStateSnapshot',
				type: 'boolean',
				default: false,
				description:
					"Whether Dify first replays the run so far from its database (workflow_started, each node's start and end without inputs or outputs, and for a paused run its open forms and workflow_paused). Without it only events from now on arrive, and a paused run sends nothing until its form is answered.",
			},
			{
				displayName: 'Timeout (Seconds)',
				name: 'timeout',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: DEFAULT_TIMEOUT_SECONDS,
				description:
					'The longest wait for the next workflow event (keep-alive pings do not count). A paused run sends none until its form is answered.',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['workflow'], operation: ['watchRun'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const runId = readUuid(this, itemIndex, 'workflowRunId', 'Workflow Run ID', RUN_ID_ADVICE);
	const user = readRequiredText(
		this,
		itemIndex,
		'user',
		'User',
		'Set User to the end user identifier the run was started with.',
	);
	const output = this.getNodeParameter('output', itemIndex, 'final') as 'final' | 'events';
	const options = this.getNodeParameter('options', itemIndex, {}) as WatchOptions;
	const timeoutMs = Math.max(1, Number(options.timeout) || DEFAULT_TIMEOUT_SECONDS) * 1000;
	const continueOnPause = options.continueOnPause === true;
	const hints = {
		not_found: `Dify found no run ${runId} of this app started by the user "${user}". Watch Run needs the workflow_run_id (not the task_id) and the same User the run was started with.`,
	};
	const snapshot = options.includeStateSnapshot === true;
	return await consumeRunStream(this, transport, {
		itemIndex,
		user,
		runId,
		output,
		timeoutMs,
		continueOnPause,
		open: async (stream) =>
			await transport
				.stream(itemIndex, {
					method: 'GET',
					path: `/workflow/${runId}/events`,
					query: {
						user,
						include_state_snapshot: snapshot ? 'true' : undefined,
						continue_on_pause: continueOnPause ? 'true' : undefined,
					},
					timeoutMs,
					hints,
					...stream,
				})
				.catch(async (error: unknown) => {
					throw (await missingEventsEndpoint(this, transport, itemIndex, error, 'Watch Run')) ?? error;
				}),
		reattach: true,
		// A watch's items begin where it began: a re-attach asks for history only when the watch did.
		snapshotOnReattach: snapshot,
	});
}
