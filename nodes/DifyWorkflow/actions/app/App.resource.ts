import type { INodeProperties } from 'n8n-workflow';

import * as getInfo from './getInfo.operation';
import * as getParameters from './getParameters.operation';
import * as getSite from './getSite.operation';

export { getInfo, getParameters, getSite };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['app'] } },
		options: [
			{
				name: 'Get Info',
				value: 'getInfo',
				description: "Get the app's name, description, tags and mode",
				action: 'Get app info',
			},
			{
				name: 'Get Parameters',
				value: 'getParameters',
				description: "Get the app's input variables and feature settings",
				action: 'Get app parameters',
			},
			{
				name: 'Get Site',
				value: 'getSite',
				description: "Get the app's web app settings",
				action: 'Get app site settings',
			},
		],
		default: 'getInfo',
	},
	...getInfo.description,
	...getParameters.description,
	...getSite.description,
];
