import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { FORM_HINTS, readFormToken } from '../../helpers/humanInputForm';
import type { DifyTransport } from '../../transport/request';
import type { DifyHumanInputForm, OperationItem } from '../../types';

const properties: INodeProperties[] = [
	{
		displayName: 'Form Token',
		name: 'formToken',
		// The token arrives in the previous item (the paused result) and is meant to be mapped from it.
		// eslint-disable-next-line n8n-nodes-base/node-param-type-options-password-missing
		type: 'string',
		default: '',
		required: true,
		placeholder: 'Xk2pQ7vLm9TqR4sWz8bN1c',
		description: "The form_token of a paused run's form: human_input_forms[0].form_token in the paused result of Run or Watch Run",
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['humanInput'], operation: ['getForm'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const token = readFormToken(this, itemIndex);
	const form = await transport.json<DifyHumanInputForm>(itemIndex, {
		method: 'GET',
		path: `/form/human_input/${token}`,
		hints: FORM_HINTS,
	});
	return [{ json: form as IDataObject }];
}
