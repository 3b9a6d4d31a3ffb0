import type { IDataObject } from 'n8n-workflow';

import type { DifyAppParameters, DifyInputType, DifyInputVariable } from '../types';

/** The Start node's variables, unwrapped from `{"<type>": {...}}`, in the form's order. */
export function inputVariables(parameters: DifyAppParameters): DifyInputVariable[] {
	const variables: DifyInputVariable[] = [];
	for (const entry of parameters.user_input_form ?? []) {
		for (const [type, variable] of Object.entries(entry)) {
			// external_data_tool entries are filled by Dify itself, not by the caller.
			if (variable && typeof variable === 'object' && type !== 'external_data_tool' && variable.variable) {
				variables.push({ ...variable, type: (variable.type ?? type) as DifyInputType });
			}
		}
	}
	return variables;
}

function isMissing(value: unknown): boolean {
	return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

/**
 * Checks inputs against the app's form before the run is sent: Dify 1.13 answers a missing
 * required input in streaming mode with silence until its idle timeout, and drops unknown keys
 * without a word. Returns what is wrong, or undefined when nothing is.
 */
export function checkInputs(
	inputs: IDataObject,
	variables: DifyInputVariable[],
): { missing: DifyInputVariable[]; unknown: string[] } | undefined {
	const known = new Set(variables.map((variable) => variable.variable));
	const missing = variables.filter((variable) => variable.required && isMissing(inputs[variable.variable]));
	const unknown = Object.keys(inputs).filter((key) => !known.has(key));
	return missing.length > 0 || unknown.length > 0 ? { missing, unknown } : undefined;
}

/** `topic (Topic)`: a variable as the message names it. */
export function describeVariable(variable: DifyInputVariable): string {
	return variable.label && variable.label !== variable.variable ? `${variable.variable} (${variable.label})` : variable.variable;
}
