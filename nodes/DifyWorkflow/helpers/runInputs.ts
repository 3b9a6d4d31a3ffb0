import type { IDataObject, IExecuteFunctions, ResourceMapperValue } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { DifyTransport } from '../transport/request';
import type { DifyAppParameters, DifyInputVariable } from '../types';
import { checkInputs, describeVariable, inputVariables } from './inputForm';

/** The app's input form, asked of Dify once per execution however many items run. */
const formByTransport = new WeakMap<DifyTransport, Promise<DifyInputVariable[]>>();

/**
 * The app's input form. A read that failed is not remembered: the next item asks again, and an
 * item that waited on another item's failed read makes its own, so its error is its own.
 */
export async function appForm(transport: DifyTransport, itemIndex: number, timeoutMs?: number): Promise<DifyInputVariable[]> {
	const shared = formByTransport.get(transport);
	if (shared) {
		try {
			return await shared;
		} catch {
			// Asked again below, as this item.
		}
	}
	const own = transport
		.json<DifyAppParameters>(itemIndex, { method: 'GET', path: '/parameters', timeoutMs })
		.then(inputVariables);
	formByTransport.set(transport, own);
	own.catch(() => {
		if (formByTransport.get(transport) === own) formByTransport.delete(transport);
	});
	return await own;
}

/** Inputs from the field mapper: the fields set below, or the item's fields that match the form. */
export function readMappedInputs(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const mapping = ctx.getNodeParameter('inputFields', itemIndex) as ResourceMapperValue;
	const fields = (mapping.schema ?? []).filter((field) => !field.removed).map((field) => field.id);
	const source: IDataObject =
		mapping.mappingMode === 'autoMapInputData' ? ctx.getInputData()[itemIndex].json : ((mapping.value ?? {}) as IDataObject);
	const inputs: IDataObject = {};
	for (const [key, value] of Object.entries(source)) {
		// An empty field means "not given": Dify then applies the variable's default.
		if (value === null || value === undefined || value === '') continue;
		if (mapping.mappingMode !== 'autoMapInputData' || fields.includes(key)) inputs[key] = value;
	}
	return inputs;
}

/** Refuses inputs that lack required variables or carry keys the app does not know, naming them. */
export function checkAgainstForm(ctx: IExecuteFunctions, itemIndex: number, inputs: IDataObject, form: DifyInputVariable[]) {
	const problem = checkInputs(inputs, form);
	if (!problem) return;
	const parts: string[] = [];
	if (problem.missing.length > 0) parts.push(`lack the required ${problem.missing.map(describeVariable).join(', ')}`);
	if (problem.unknown.length > 0) parts.push(`have keys the app does not know: ${problem.unknown.join(', ')}`);
	throw new NodeOperationError(ctx.getNode(), `The Inputs ${parts.join(' and ')}`, {
		itemIndex,
		description: `The app's inputs are: ${form.map(describeVariable).join(', ') || 'none'}. Set the required ones; Dify would drop unknown keys. Turn off Options → Validate Inputs to send the inputs unchecked.`,
	});
}
