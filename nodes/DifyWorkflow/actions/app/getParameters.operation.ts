import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { DifyTransport } from '../../transport/request';
import type { DifyAppParameters, OperationItem } from '../../types';

export const description: INodeProperties[] = updateDisplayOptions(
	{ show: { resource: ['app'], operation: ['getParameters'] } },
	[],
);

/** GET /parameters: the Start node's input variables (user_input_form) and feature settings. */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const parameters = await transport.json<DifyAppParameters>(itemIndex, { method: 'GET', path: '/parameters' });
	return [{ json: parameters as IDataObject }];
}
