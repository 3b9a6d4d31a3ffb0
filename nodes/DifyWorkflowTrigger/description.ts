import type { INodeProperties } from 'n8n-workflow';

import { LOG_FILTER_ACCOUNT, LOG_FILTER_END_USER, LOG_FILTER_KEYWORD } from '../DifyWorkflow/helpers/logFilters';
import { DEFAULT_MAX_DOWNLOAD_MB } from '../DifyWorkflow/helpers/outputFiles';

/** The trigger's parameters; n8n adds Poll Times itself to a node with `polling: true`. */
export const properties: INodeProperties[] = [
	{
		displayName: 'Event',
		name: 'event',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Run Failed',
				value: 'runFailed',
				description: 'A run of the app ended with status failed',
			},
			{
				name: 'Run Finished',
				value: 'runFinished',
				description: 'A run of the app ended: succeeded, failed, stopped or partial-succeeded (choose below)',
			},
			{
				name: 'Run Paused for Human Input',
				value: 'runPaused',
				description: "A run stopped at a Human Input node and waits for an answer; the item carries the run's forms and their tokens (Dify 1.14+)",
			},
			{
				name: 'Run Started',
				value: 'runStarted',
				description: 'A new run of the app appeared in its logs, however it was started',
			},
		],
		default: 'runFinished',
	},
	{
		displayName: 'Statuses',
		name: 'statuses',
		type: 'multiOptions',
		displayOptions: { show: { event: ['runFinished'] } },
		options: [
			{ name: 'Failed', value: 'failed' },
			{ name: 'Partial Succeeded', value: 'partial-succeeded' },
			{ name: 'Stopped', value: 'stopped' },
			{ name: 'Succeeded', value: 'succeeded' },
		],
		default: [],
		description: 'Only runs that ended with one of these statuses. None chosen: every status.',
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			LOG_FILTER_ACCOUNT,
			LOG_FILTER_END_USER,
			{
				displayName: 'Created From',
				name: 'createdFrom',
				type: 'multiOptions',
				options: [
					{ name: 'Installed App', value: 'installed-app', description: "Dify's Explore page, by a workspace account" },
					{ name: 'Service API', value: 'service-api', description: 'The API: this package, scripts, other services, webhooks and schedules' },
					{ name: 'Web App', value: 'web-app', description: "The app's public web app" },
				],
				default: [],
				description: 'Only runs started from these places. None chosen: all.',
			},
			{
				...LOG_FILTER_KEYWORD,
				description: `${LOG_FILTER_KEYWORD.description}. Outputs only count once a run has them: see the trigger's documentation.`,
			},
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Download Output Files',
				name: 'downloadFiles',
				type: 'boolean',
				default: false,
				description:
					"Whether to download the files a finished run's outputs reference into binary properties, as the Run operation does. Implies Include Inputs and Outputs.",
			},
			{
				displayName: 'Include Inputs and Outputs',
				name: 'includeInputsOutputs',
				type: 'boolean',
				default: false,
				description:
					"Whether each item carries the run's inputs and outputs, read from its run detail (one more request per item)",
			},
			{
				displayName: 'Max Download Size (MB)',
				name: 'maxDownloadSize',
				type: 'number',
				typeOptions: { minValue: 0.001, numberPrecision: 3 },
				default: DEFAULT_MAX_DOWNLOAD_MB,
				description:
					"With Download Output Files: the largest output file to download, in megabytes. A larger file fails the poll instead of filling n8n's disk or memory.",
			},
		],
	},
];
