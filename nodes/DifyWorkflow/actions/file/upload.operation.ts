import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { readRequiredText } from '../../helpers/parameters';
import { uploadBinary } from '../../helpers/uploadBinary';
import type { DifyTransport } from '../../transport/request';
import type { OperationItem } from '../../types';

const properties: INodeProperties[] = [
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		hint: 'The name of the input binary field containing the file to upload',
	},
	{
		displayName: 'User',
		name: 'user',
		type: 'string',
		default: 'n8n',
		required: true,
		description: 'The end user the file belongs to; use the same User when running the workflow with it',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['file'], operation: ['upload'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const property = readRequiredText(
		this,
		itemIndex,
		'binaryPropertyName',
		'Input Binary Field',
		'Set Input Binary Field to the name of the binary field that holds the file, e.g. data.',
	);
	const user = readRequiredText(
		this,
		itemIndex,
		'user',
		'User',
		'Set User to the end user identifier the file belongs to.',
	);
	return [{ json: (await uploadBinary(this, itemIndex, transport, property, user)) as unknown as IDataObject }];
}
