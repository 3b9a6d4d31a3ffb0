import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { FORM_HINTS, FORM_TOKEN_PROPERTY, readFormToken } from '../../helpers/humanInputForm';
import { withN8nForm } from '../../helpers/n8nFormFields';
import type { DifyTransport } from '../../transport/request';
import type { DifyHumanInputForm, OperationItem } from '../../types';

const properties: INodeProperties[] = [
	FORM_TOKEN_PROPERTY,
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
	return [{ json: withN8nForm(form) as unknown as IDataObject }];
}
