import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';

import { inputVariables } from '../helpers/inputForm';
import { createDifyTransport } from '../transport/request';
import type { DifyAppInfo, DifyAppParameters, DifyInputVariable } from '../types';

function describeInput(variable: DifyInputVariable): string {
	const kind =
		variable.type === 'select' && variable.options?.length
			? `one of ${variable.options.map((option) => `"${option}"`).join(', ')}`
			: variable.type === 'file' || variable.type === 'file-list'
				? 'a file URL'
				: variable.type === 'number'
					? 'a number'
					: variable.type === 'checkbox'
						? 'true or false'
						: variable.type === 'json_object'
							? 'a JSON object'
							: 'text';
	return `"${variable.variable}" (${variable.label || variable.variable}; ${kind}${variable.required ? ', required' : ''})`;
}

/**
 * What an AI Agent is told about this tool, written from the app itself: its name and
 * description (GET /info) and its inputs (GET /parameters). A text saved earlier stays listed, so
 * the list never makes a saved description look invalid.
 */
export async function getToolDescriptions(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const transport = await createDifyTransport(this);
	const [info, parameters] = await Promise.all([
		transport.json<DifyAppInfo>(0, { method: 'GET', path: '/info' }),
		transport.json<DifyAppParameters>(0, { method: 'GET', path: '/parameters' }),
	]);
	const variables = inputVariables(parameters);
	const what = info.description?.trim() ? info.description.trim() : `Runs the Dify workflow app "${info.name}".`;
	const inputs = variables.length
		? `Give its inputs as a JSON object with the keys ${variables.map(describeInput).join(', ')}.`
		: 'It takes no inputs: give an empty JSON object.';
	const text = `${what} ${inputs} It returns the run's outputs and status.`;
	const options: INodePropertyOptions[] = [{ name: `From the app "${info.name}": ${text}`, value: text }];
	const saved = this.getCurrentNodeParameter('toolDescription');
	if (typeof saved === 'string' && saved.trim() && saved !== text) {
		options.push({ name: `As saved (the app's form has changed since): ${saved}`, value: saved });
	}
	return options;
}
