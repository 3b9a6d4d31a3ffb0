import type { FieldType, ILoadOptionsFunctions, ResourceMapperField, ResourceMapperFields } from 'n8n-workflow';

import { inputVariables } from '../helpers/inputForm';
import { createDifyTransport } from '../transport/request';
import type { DifyAppParameters, DifyInputType, DifyInputVariable } from '../types';

const FIELD_TYPES: Partial<Record<DifyInputType, FieldType>> = {
	'text-input': 'string',
	paragraph: 'string',
	select: 'options',
	number: 'number',
	checkbox: 'boolean',
	json_object: 'object',
	file: 'string',
	'file-list': 'string',
};

function toField(variable: DifyInputVariable): ResourceMapperField {
	const isFile = variable.type === 'file' || variable.type === 'file-list';
	const field: ResourceMapperField = {
		id: variable.variable,
		// A mapper field has no hint: what a file input takes is said once, on the Inputs parameter.
		displayName: variable.label || variable.variable,
		required: variable.required === true,
		defaultMatch: false,
		canBeUsedToMatch: false,
		display: true,
		type: FIELD_TYPES[variable.type] ?? 'string',
	};
	if (variable.type === 'select') {
		field.options = (variable.options ?? []).map((option) => ({ name: option, value: option }));
	}
	const fallback = variable.default;
	if (!isFile && (typeof fallback === 'string' || typeof fallback === 'number' || typeof fallback === 'boolean')) {
		if (fallback !== '') field.defaultValue = fallback;
	}
	return field;
}

/** Loads the app's input form (GET /parameters) as the fields of the Inputs mapper. */
export async function getInputFields(this: ILoadOptionsFunctions): Promise<ResourceMapperFields> {
	const transport = await createDifyTransport(this);
	const parameters = await transport.json<DifyAppParameters>(0, { method: 'GET', path: '/parameters' });
	const fields = inputVariables(parameters).map(toField);
	// n8n shows emptyFieldsNotice whenever the fields are not listed, Map Automatically included,
	// so it may only be given when the app truly has no inputs.
	if (fields.length > 0) return { fields };
	return { fields, emptyFieldsNotice: 'This Dify app has no input variables: run it with empty inputs.' };
}
