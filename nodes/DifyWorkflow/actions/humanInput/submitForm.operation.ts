import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';

import { binariesInJson } from '../../helpers/binaryFile';
import { resolveFileInputs, uploadedFileInput } from '../../helpers/fileInputs';
import { FORM_HINTS, FORM_TOKEN_PROPERTY, formFileInputs, readFormToken } from '../../helpers/humanInputForm';
import { answerOf, mapN8nAnswer } from '../../helpers/n8nFormAnswer';
import { planN8nForm } from '../../helpers/n8nFormFields';
import { findPausedForm } from '../../helpers/pausedItem';
import { readRequiredText } from '../../helpers/parameters';
import type { DifyTransport } from '../../transport/request';
import type { DifyFormSubmitRequest, DifyHumanInputForm, OperationItem } from '../../types';

const ANSWER_FROM_PARAMETERS = { show: { answerFrom: ['parameters'] } };

const properties: INodeProperties[] = [
	{
		displayName: 'Answer From',
		name: 'answerFrom',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Form Token, Action and Form Inputs',
				value: 'parameters',
				description: "The answer in Dify's terms: the form's token, the action's ID and the inputs by name",
			},
			{
				// eslint-disable-next-line n8n-nodes-base/node-param-display-name-miscased -- n8n writes its name lowercase, in its own nodes too, and the docs name this option so
				name: 'n8n Form or Send and Wait',
				value: 'n8nForm',
				description:
					"The item a Send and Wait node (Custom Form, Using JSON of n8n_form_fields) or the Form node outputs, as it stands. Labels map back to Dify's inputs, the chosen action to its ID, files are uploaded, and the form token comes from the paused item of an earlier Dify Workflow node.",
			},
		],
		default: 'parameters',
	},
	{ ...FORM_TOKEN_PROPERTY, displayOptions: ANSWER_FROM_PARAMETERS },
	{
		displayName: 'Action',
		name: 'action',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'approve',
		description: "The ID of the button the person chose, as Get Form lists it in user_actions",
		displayOptions: ANSWER_FROM_PARAMETERS,
	},
	{
		displayName: 'Form Inputs',
		name: 'formInputs',
		type: 'json',
		default: '{}',
		description:
			'The answer as a JSON object keyed by the form\'s input names (inputs[].output_variable_name), e.g. {"feedback": "Looks right"}. Every input of the form is required. A file input takes a binary field name of the item or a URL, as Run does.',
		displayOptions: ANSWER_FROM_PARAMETERS,
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
	const answerFrom = this.getNodeParameter('answerFrom', itemIndex, 'parameters') as string;
	const user = readRequiredText(this, itemIndex, 'user', 'User', 'Set User to who answers the form, e.g. an e-mail.');
	const submission = answerFrom === 'n8nForm' ? await fromN8nForm(this, itemIndex, transport, user) : await fromParameters(this, itemIndex, transport, user);
	const body: DifyFormSubmitRequest = { inputs: submission.inputs, action: submission.action, user };
	const response = await transport.json<IDataObject>(itemIndex, {
		method: 'POST',
		path: `/form/human_input/${submission.token}`,
		body,
		hints: FORM_HINTS,
	});
	return [{ json: { ...response, form_token: submission.token, action: submission.action, ...submission.more } }];
}

interface Submission {
	token: string;
	action: string;
	inputs: IDataObject;
	/** What the output adds for the nodes after it. */
	more?: IDataObject;
}

async function fromParameters(ctx: IExecuteFunctions, itemIndex: number, transport: DifyTransport, user: string): Promise<Submission> {
	const token = readFormToken(ctx, itemIndex);
	const action = readRequiredText(
		ctx,
		itemIndex,
		'action',
		'Action',
		"Set Action to the ID of one of the form's actions (user_actions[].id in Get Form), e.g. approve.",
	);
	let inputs = readFormInputs(ctx, itemIndex);
	// Only a text value may be a file reference to resolve, and only the form knows which inputs are files.
	if (Object.values(inputs).some((value) => typeof value === 'string' || Array.isArray(value))) {
		const form = await readForm(transport, itemIndex, token);
		inputs = await resolveFileInputs(ctx, itemIndex, transport, inputs, formFileInputs(form), user);
	}
	return { token, action, inputs };
}

function readForm(transport: DifyTransport, itemIndex: number, token: string): Promise<DifyHumanInputForm> {
	return transport.json<DifyHumanInputForm>(itemIndex, { method: 'GET', path: `/form/human_input/${token}`, hints: FORM_HINTS });
}

/**
 * An n8n form's answer: checked whole against the open form before anything is uploaded or sent,
 * so that Dify never gets half an answer.
 */
async function fromN8nForm(ctx: IExecuteFunctions, itemIndex: number, transport: DifyTransport, user: string): Promise<Submission> {
	const item = ctx.getInputData()[itemIndex];
	const answer = answerOf(item.json);
	const paused = findPausedForm(ctx, itemIndex, answer);
	const token = paused.form.form_token;
	// The open form, not the paused item's copy: it says whether the form can still be answered.
	const plan = planN8nForm(await readForm(transport, itemIndex, token));
	const mapped = mapN8nAnswer(ctx.getNode(), itemIndex, plan, answer, item.binary, binariesInJson(ctx));
	const inputs: IDataObject = { ...mapped.inputs } as IDataObject;
	for (const answered of mapped.files) {
		const files = [];
		for (const source of answered.sources) files.push(await uploadedFileInput(ctx, itemIndex, transport, source, user));
		inputs[answered.name] = (answered.list ? files : files[0]) as unknown as IDataObject;
	}
	return { token, action: mapped.action, inputs, more: { workflow_run_id: paused.workflowRunId, inputs } };
}
