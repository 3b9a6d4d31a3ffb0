import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as app from './actions/app/App.resource';
import * as file from './actions/file/File.resource';
import { router } from './actions/router';
import * as workflow from './actions/workflow/Workflow.resource';
import { getToolDescriptions } from './methods/loadOptions';
import { getInputFields } from './methods/resourceMapping';

/**
 * Shown only in the tool variant n8n makes for the AI Agent: the description the agent reads can
 * be the app's own (GET /info) with its inputs (GET /parameters). n8n keeps a toolDescription the
 * node declares instead of adding its generic one.
 */
const toolDescription: INodeProperties = {
	displayName: 'Tool Description Name or ID',
	name: 'toolDescription',
	type: 'options',
	typeOptions: { loadOptionsMethod: 'getToolDescriptions' },
	displayOptions: { show: { '@tool': [true] } },
	default: '',
	description:
		'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
	hint: 'What the AI Agent is told this tool does: the description written from the Dify app (its description and inputs), or your own text as an expression. Empty: n8n describes it from the operation.',
};

const properties: INodeProperties[] = [
	toolDescription,
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
];

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
		properties,
	};

	methods = {
		loadOptions: { getToolDescriptions },
		resourceMapping: { getInputFields },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
