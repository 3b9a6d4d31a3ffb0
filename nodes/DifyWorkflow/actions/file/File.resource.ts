import type { INodeProperties } from 'n8n-workflow';

import * as upload from './upload.operation';

export { upload };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['file'] } },
		options: [
			{
				name: 'Upload',
				value: 'upload',
				description: 'Upload a file for use as a file input of a workflow run',
				action: 'Upload a file',
			},
		],
		default: 'upload',
	},
	...upload.description,
];
