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
import * as humanInput from './actions/humanInput/HumanInput.resource';
import { router } from './actions/router';
import * as workflow from './actions/workflow/Workflow.resource';
import { difyApiTest } from './methods/credentialTest';
import { getToolDescriptions } from './methods/loadOptions';
import { getInputFields } from './methods/resourceMapping';

/**
 * Shown only in the tool variant n8n makes for the AI Agent. n8n reads the saved toolDescription
 * when it builds the tool, before any code of the node runs, so the text the agent reads is always
 * the saved one: the app's own description is offered to take, and stays editable once taken.
 */
const descriptionSource: INodeProperties = {
	displayName: 'Description Source',
	name: 'descriptionSource',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { '@tool': [true] } },
	options: [
		{
			name: 'From the Dify App',
			value: 'app',
			description: "The text the node writes from the app's description and inputs (GET /info, GET /parameters)",
		},
		{
			name: 'Custom',
			value: 'custom',
			description: 'Your own text. A description taken from the app stays here, to edit.',
		},
	],
	default: 'app',
};

const TOOL_DESCRIPTION_HINT =
	'What the AI Agent reads to decide when to call this tool and which inputs to send. Empty: n8n describes it from the operation.';

const toolDescriptionFromApp: INodeProperties = {
	// A description, not a list entry: the "Name or ID" label and the "specify an ID" text the rules
	// ask of dynamic options would be wrong here.
	// eslint-disable-next-line n8n-nodes-base/node-param-display-name-wrong-for-dynamic-options
	displayName: 'Description',
	name: 'toolDescription',
	type: 'options',
	typeOptions: { loadOptionsMethod: 'getToolDescriptions' },
	// A text saved from an earlier form of the app stays valid: the app may change after it was taken.
	allowArbitraryValues: true,
	displayOptions: { show: { '@tool': [true], descriptionSource: ['app'] } },
	default: '',
	// eslint-disable-next-line n8n-nodes-base/node-param-description-wrong-for-dynamic-options
	description:
		'The description written from the app now, to pick; pick it again after the app changes. To edit it, switch Description Source to Custom: the text stays.',
	hint: TOOL_DESCRIPTION_HINT,
};

const toolDescriptionCustom: INodeProperties = {
	displayName: 'Description',
	name: 'toolDescription',
	type: 'string',
	typeOptions: { rows: 4 },
	displayOptions: { show: { '@tool': [true], descriptionSource: ['custom'] } },
	default: '',
	placeholder:
		'e.g. Answers a question about a topic. Give its inputs as a JSON object with the key "topic" (text, required).',
	hint: TOOL_DESCRIPTION_HINT,
};

const properties: INodeProperties[] = [
	descriptionSource,
	toolDescriptionFromApp,
	toolDescriptionCustom,
	{
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'App', value: 'app' },
			{ name: 'File', value: 'file' },
			{ name: 'Human Input', value: 'humanInput' },
			{ name: 'Workflow', value: 'workflow' },
		],
		default: 'workflow',
	},
	...workflow.description,
	...file.description,
	...humanInput.description,
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
			'Run a Dify workflow app (streaming or blocking), watch and stop its runs, answer its Human Input forms, upload files, and read its logs and settings',
		defaults: { name: 'Dify Workflow' },
		usableAsTool: true,
		// @n8n/community-nodes/node-connection-type-literal asks for the enum; the older rules below
		// predate it and only recognise the string 'main', which is the enum's value.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-inputs-wrong-regular-node
		inputs: [NodeConnectionTypes.Main],
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: [NodeConnectionTypes.Main],
		// n8n runs the credential's own test request when it has one; this test gives the node's messages.
		credentials: [{ name: 'difyApi', required: true, testedBy: 'difyApiTest' }],
		properties,
	};

	methods = {
		credentialTest: { difyApiTest },
		loadOptions: { getToolDescriptions },
		resourceMapping: { getInputFields },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
