import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ErrorHints } from '../transport/errors';
import type { DifyHumanInputForm, DifyInputVariable } from '../types';
import { readRequiredText } from './parameters';

/** What Get Form and Submit Form tell the user about Dify's answers (dify-api.md §12.3). */
export const FORM_HINTS: ErrorHints = {
	not_found:
		"Dify has no open form with this token in this app. Use the form_token of the run's paused result (human_input_forms[].form_token): a form delivered by e-mail only has none, and Dify before 1.14 cannot answer forms through the API.",
	human_input_form_submitted:
		'Someone already answered this form (the first accepted submit wins) and the run has resumed. Follow it with Watch Run or Get Run.',
	human_input_form_expired:
		"The form's time limit passed: Dify has resumed the run along the Human Input node's timeout branch, or will shortly. Follow it with Watch Run or Get Run.",
	invalid_form_data:
		"Dify rejected the answer; the form stays open, so fix it and submit again. Form Inputs must name every input of the form (Get Form lists them under inputs), select inputs one of their options, and Action one of the form's user_actions ids.",
};

/** The Form Token parameter of Get Form and Submit Form. */
export const FORM_TOKEN_PROPERTY: INodeProperties = {
	displayName: 'Form Token',
	name: 'formToken',
	// The token arrives in the previous item (the paused result) and is meant to be mapped from it.
	// eslint-disable-next-line n8n-nodes-base/node-param-type-options-password-missing
	type: 'string',
	default: '',
	required: true,
	placeholder: 'Xk2pQ7vLm9TqR4sWz8bN1c',
	description: "The form_token of a paused run's form: human_input_forms[0].form_token in the paused result of Run or Watch Run",
};

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** Whether a value can be a WebApp form token: letters and digits, never a path. */
export function isFormToken(value: unknown): value is string {
	return typeof value === 'string' && TOKEN.test(value);
}

/** Reads the Form Token parameter: a WebApp token is letters and digits, never a path. */
export function readFormToken(ctx: IExecuteFunctions, itemIndex: number): string {
	const advice =
		"Set Form Token to the form_token of a paused run's form, e.g. {{ $json.human_input_forms[0].form_token }} after a Run that paused.";
	const token = readRequiredText(ctx, itemIndex, 'formToken', 'Form Token', advice);
	if (!TOKEN.test(token)) {
		throw new NodeOperationError(ctx.getNode(), `The Form Token parameter is not a form token: "${token.slice(0, 80)}"`, {
			itemIndex,
			description: advice,
		});
	}
	return token;
}

/** The form's file inputs, in the shape the run's file resolution reads. */
export function formFileInputs(form: DifyHumanInputForm): DifyInputVariable[] {
	return (form.inputs ?? [])
		.filter((input) => input.type === 'file' || input.type === 'file-list')
		.map((input) => ({
			variable: input.output_variable_name,
			label: input.output_variable_name,
			type: input.type as 'file' | 'file-list',
			required: true,
		}));
}
