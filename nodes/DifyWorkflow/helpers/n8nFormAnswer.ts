import type { IBinaryKeyData, IDataObject, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { difyFileType } from './fileInputs';
import type { N8nFormPlan, PlannedInput } from './n8nFormFields';

/**
 * Reads a person's answer to an n8n form made from `n8n_form_fields` back into Dify's terms.
 * n8n keys the answer by field label (`{ data: {<label>: value} }` from Send and Wait, the item
 * itself from the Form node) and puts a file in a binary named after the label. n8n checks
 * required fields only in the browser and escapes `<` `>` of the defaults it shows, so both
 * are handled here; nothing is sent until the whole answer is known to be complete.
 */

/** A file answer: the binary properties that hold it, uploaded once the answer is checked. */
export interface AnsweredFiles {
	name: string;
	list: boolean;
	binaryProperties: string[];
}

export interface MappedAnswer {
	/** Text, select and link answers by Dify variable name; file answers are added after upload. */
	inputs: Record<string, unknown>;
	action: string;
	files: AnsweredFiles[];
}

/** Why an answer cannot go to Dify; the message names the field by the label the person saw. */
class FormAnswerError {
	constructor(
		readonly message: string,
		readonly advice: string,
	) {}
}

/** The answer object in an item: Send and Wait nests it under `data`, the Form node does not. */
export function answerOf(json: IDataObject): IDataObject {
	const data = json.data;
	return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as IDataObject) : json;
}

/** n8n's form shows `<` and `>` of a default as entities and sends them back so. */
function unescaped(text: string): string {
	return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** A single text answer; a radio choice arrives as a one-element list on some n8n versions. */
function textOf(value: unknown): string | undefined {
	if (Array.isArray(value)) return value.length === 1 ? textOf(value[0]) : undefined;
	if (typeof value === 'string') return unescaped(value);
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	return undefined;
}

const REQUIRED_ADVICE =
	"n8n's form checks required fields in the browser only, so an answer posted without one arrives empty. Nothing was sent to Dify: the form stays open, so ask again.";

function required(input: { label: string }): FormAnswerError {
	return new FormAnswerError(`The answer has no value for "${input.label}", which the form requires`, REQUIRED_ADVICE);
}

/** Where n8n put the files of a file field: `<label>` for one, `<label>_0`, `_1`, … for several. */
function binaryPropertiesOf(label: string, binary: IBinaryKeyData | undefined): string[] {
	if (!binary) return [];
	const base = label.replace(/\W/g, '_');
	const found = binary[base] ? [base] : [];
	for (let n = 0; binary[`${base}_${n}`]; n++) found.push(`${base}_${n}`);
	return found;
}

function allowedText(input: PlannedInput): string {
	const types = input.fileTypes.filter((type) => type !== 'custom');
	const extensions = input.fileTypes.includes('custom') ? input.extensions.map((extension) => `.${extension}`) : [];
	return [...types, ...extensions].join(', ') || 'any file';
}

/**
 * Whether Dify's form takes a file of this name and MIME type: one of its types, or, where it
 * takes `custom` files, one of its extensions.
 */
function fileFits(input: PlannedInput, fileName: string, mimeType?: string): boolean {
	if (input.fileTypes.length === 0) return true;
	const type = difyFileType(fileName, mimeType);
	if (type !== 'custom' && input.fileTypes.includes(type)) return true;
	if (!input.fileTypes.includes('custom')) return false;
	const extension = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
	return input.extensions.length === 0 || (extension !== undefined && input.extensions.includes(extension));
}

function wrongType(input: PlannedInput, fileName: string): FormAnswerError {
	return new FormAnswerError(`The file "${fileName}" given for "${input.label}" is not a type the form takes (${allowedText(input)})`,
		'Nothing was sent to Dify: the form stays open, so ask again for a file of a type the form takes.',
	);
}

function readFiles(input: PlannedInput, binary: IBinaryKeyData | undefined): AnsweredFiles | FormAnswerError {
	const properties = binaryPropertiesOf(input.label, binary);
	if (properties.length === 0) return required(input);
	if (input.kind === 'file' && properties.length > 1) {
		return new FormAnswerError(`"${input.label}" takes one file, and the answer has ${properties.length}`, 'Ask again with one file.');
	}
	if (input.maxFiles !== undefined && properties.length > input.maxFiles) {
		return new FormAnswerError(`"${input.label}" takes at most ${input.maxFiles} files, and the answer has ${properties.length}`,
			'Ask again with fewer files.',
		);
	}
	for (const property of properties) {
		const file = binary![property];
		const fileName = file.fileName ?? property;
		if (!fileFits(input, fileName, file.mimeType)) return wrongType(input, fileName);
	}
	return { name: input.name, list: input.list, binaryProperties: properties };
}

function readLink(input: PlannedInput, value: unknown): Record<string, unknown> | FormAnswerError {
	const url = textOf(value)?.trim();
	if (!url) return required(input);
	if (!/^https?:\/\/\S+$/i.test(url)) {
		return new FormAnswerError(`The answer to "${input.label}" is not a link (http or https): "${url.slice(0, 80)}"`, 'Ask again with a link to the file.');
	}
	if (!fileFits(input, new URL(url).pathname)) return wrongType(input, url);
	const file = { type: difyFileType(new URL(url).pathname), transfer_method: 'remote_url', url };
	return { [input.name]: input.list ? [file] : file };
}

/**
 * Maps an answer back to Dify. An answer that cannot go is an error of the item that names the
 * first field at fault; nothing has been sent by then.
 */
export function mapN8nAnswer(node: INode, itemIndex: number, plan: N8nFormPlan, answer: IDataObject, binary: IBinaryKeyData | undefined): MappedAnswer {
	const mapped = mapAnswer(plan, answer, binary);
	if (mapped instanceof FormAnswerError) throw new NodeOperationError(node, mapped.message, { itemIndex, description: mapped.advice });
	return mapped;
}

function mapAnswer(plan: N8nFormPlan, answer: IDataObject, binary: IBinaryKeyData | undefined): MappedAnswer | FormAnswerError {
	const inputs: Record<string, unknown> = {};
	const files: AnsweredFiles[] = [];
	for (const input of plan.inputs) {
		const value = answer[input.label];
		if (input.kind === 'file' || input.kind === 'file-list') {
			const answered = readFiles(input, binary);
			if (answered instanceof FormAnswerError) return answered;
			files.push(answered);
			continue;
		}
		if (input.kind === 'file-url') {
			const link = readLink(input, value);
			if (link instanceof FormAnswerError) return link;
			Object.assign(inputs, link);
			continue;
		}
		const text = textOf(value);
		if (text === undefined || text.trim() === '') return required(input);
		if (input.kind === 'select' && !input.options.includes(text)) {
			return new FormAnswerError(`The answer to "${input.label}" is not one of its options: "${text.slice(0, 80)}"`,
				`The form offers ${input.options.map((option) => `"${option}"`).join(', ')}. Nothing was sent to Dify.`,
			);
		}
		inputs[input.name] = text;
	}
	const chosen = textOf(answer[plan.actionLabel]);
	if (chosen === undefined || chosen.trim() === '') return required({ label: plan.actionLabel });
	const action = plan.actionIds.get(chosen);
	if (action === undefined) {
		return new FormAnswerError(`The answer to "${plan.actionLabel}" is not one of the form's actions: "${chosen.slice(0, 80)}"`,
			`The form's actions are ${[...plan.actionIds.keys()].map((title) => `"${title}"`).join(', ')}. Nothing was sent to Dify.`,
		);
	}
	return { inputs, action, files };
}
