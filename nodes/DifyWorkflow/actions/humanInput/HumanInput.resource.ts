import type { INodeProperties } from 'n8n-workflow';

import * as getForm from './getForm.operation';
import * as submitForm from './submitForm.operation';

export { getForm, submitForm };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['humanInput'] } },
		options: [
			{
				name: 'Get Form',
				value: 'getForm',
				description: "Get a paused run's Human Input form: its text, inputs and actions",
				action: 'Get a human input form',
			},
			{
				name: 'Submit Form',
				value: 'submitForm',
				description: 'Answer a Human Input form, so that the paused run resumes',
				action: 'Submit a human input form',
			},
		],
		default: 'getForm',
	},
	...getForm.description,
	...submitForm.description,
];
