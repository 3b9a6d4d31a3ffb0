import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';

import { resolveFileInputs } from '../../helpers/fileInputs';
import { FORM_HINTS, FORM_TOKEN_PROPERTY, formFileInputs, readFormToken } from '../../helpers/humanInputForm';
import { readRequiredText } from '../../helpers/parameters';
import type { DifyTransport } from '../../transport/request';
import type { DifyFormSubmitRequest, DifyHumanInputForm, OperationItem } from '../../types';

const properties: INodeProperties[] = [
	FORM_TOKEN_PROPERTY,
	{
		displayName: 'Action',
		name: 'action',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'approve',
		description: "The ID of the button the person chose, as Get Form lists it in user_actions",
	},
	{
		displayName: 'Form Inputs',
		name: 'formInputs',
		type: 'json',
		default: '{}',
		description:
			'The answer as a JSON object keyed by the form\'s input names (inputs[].output_variable_name), e.g. {"feedback": "Looks right"}. Every input of the form is required. A file input takes a binary field name of the item or a URL, as Run does.',
	},
	{
		displayName: 'User',
		name: 'user',
		type: 'string',
		default: 'n8n',
		required: true,
		description: 'Who answers the form: Dify records it as the submitter. It need not be the user that started the run.',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['humanInput'], operation: ['submitForm'] } },
	properties,
);

/** Form Inputs: an object from an expression, or JSON text. */
function readFormInputs(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const raw = ctx.getNodeParameter('formInputs', itemIndex, {}) as unknown;
	let value = raw;
	if (typeof raw === 'string') {
		try {
			value = raw.trim() === '' ? {} : (JSON.parse(raw) as unknown);
		} catch (error) {
			value = (error as Error).message;
		}
	}
	if (value === null || value === undefined) return {};
	if (typeof value !== 'object' || Array.isArray(value)) {
		throw new NodeOperationError(ctx.getNode(), 'The Form Inputs parameter must be a JSON object', {
			itemIndex,
			description: 'Write Form Inputs as a JSON object keyed by the form\'s input names, e.g. {"feedback": "Looks right"}.',
		});
	}
	return value as IDataObject;
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<OperationItem[]> {
	const token = readFormToken(this, itemIndex);
	const action = readRequiredText(
		this,
		itemIndex,
		'action',
		'Action',
		"Set Action to the ID of one of the form's actions (user_actions[].id in Get Form), e.g. approve.",
	);
	const user = readRequiredText(this, itemIndex, 'user', 'User', 'Set User to who answers the form, e.g. an e-mail.');
	let inputs = readFormInputs(this, itemIndex);
	// Only a text value may be a file reference to resolve, and only the form knows which inputs are files.
	if (Object.values(inputs).some((value) => typeof value === 'string' || Array.isArray(value))) {
		const form = await transport.json<DifyHumanInputForm>(itemIndex, {
			method: 'GET',
			path: `/form/human_input/${token}`,
			hints: FORM_HINTS,
		});
		inputs = await resolveFileInputs(this, itemIndex, transport, inputs, formFileInputs(form), user);
	}
	const body: DifyFormSubmitRequest = { inputs, action, user };
	const response = await transport.json<IDataObject>(itemIndex, {
		method: 'POST',
		path: `/form/human_input/${token}`,
		body,
		hints: FORM_HINTS,
	});
	return [{ json: { ...response, form_token: token, action } }];
}
