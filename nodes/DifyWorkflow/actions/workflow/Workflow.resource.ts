import type { INodeProperties } from 'n8n-workflow';

import * as getLogs from './getLogs.operation';
import * as getRun from './getRun.operation';
import * as run from './run.operation';
import * as stop from './stop.operation';
import * as watchRun from './watchRun.operation';

export { getLogs, getRun, run, stop, watchRun };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['workflow'] } },
		options: [
			{
				name: 'Get Logs',
				value: 'getLogs',
				description: "List the app's workflow runs, newest first",
				action: 'Get workflow run logs',
			},
			{
				name: 'Get Run',
				value: 'getRun',
				description: "Get a workflow run's status, inputs and outputs",
				action: 'Get a workflow run',
			},
			{
				name: 'Run',
				value: 'run',
				description: 'Run the published workflow, or a chosen published version',
				action: 'Run a workflow',
			},
			{
				name: 'Stop',
				value: 'stop',
				description: 'Stop a streaming workflow run by its task ID',
				action: 'Stop a workflow run',
			},
			{
				name: 'Watch Run',
				value: 'watchRun',
				description:
					"Follow a run's events from now on (Dify 1.14+): its final result, or where it paused",
				action: 'Watch a workflow run',
			},
		],
		default: 'run',
	},
	...run.description,
	...getRun.description,
	...stop.description,
	...getLogs.description,
	...watchRun.description,
];
