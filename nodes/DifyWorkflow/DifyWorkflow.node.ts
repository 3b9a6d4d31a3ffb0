import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as app from './actions/app/App.resource';
import * as file from './actions/file/File.resource';
import { router } from './actions/router';
import * as workflow from './actions/workflow/Workflow.resource';
import { getInputFields } from './methods/resourceMapping';

export class DifyWorkflow implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dify Workflow',
		name: 'difyWorkflow',
		icon: { light: 'file:dify.svg', dark: 'file:dify.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description:
			'Run a Dify workflow app (streaming or blocking), follow and stop its runs, upload files, and read its logs and settings',
		defaults: { name: 'Dify Workflow' },
		usableAsTool: true,
		// @n8n/community-nodes/node-connection-type-literal asks for the enum; the older rules below
		// predate it and only recognise the string 'main', which is the enum's value.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-inputs-wrong-regular-node
		inputs: [NodeConnectionTypes.Main],
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'difyApi', required: true }],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'App', value: 'app' },
					{ name: 'File', value: 'file' },
					{ name: 'Workflow', value: 'workflow' },
				],
				default: 'workflow',
			},
			...workflow.description,
			...file.description,
			...app.description,
		],
	};

	methods = {
		resourceMapping: { getInputFields },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
