import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { DifyTransport } from '../../transport/request';
import type { DifyAppInfo, OperationItem } from '../../types';

export const description: INodeProperties[] = updateDisplayOptions(
	{ show: { resource: ['app'], operation: ['getInfo'] } },
	[],
);

/** GET /info: the app's name, description, tags and mode. */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const info = await transport.json<DifyAppInfo>(itemIndex, { method: 'GET', path: '/info' });
	return [{ json: info as IDataObject }];
}
