import type { IBinaryData, IBinaryKeyData, IDataObject, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { BinarySource } from './binaryFile';
import { isBinaryData } from './binaryFile';
import { difyFileType } from './fileInputs';
import type { N8nFormPlan, PlannedInput } from './n8nFormFields';

/**
 * Reads a person's answer to an n8n form made from `n8n_form_fields` back into Dify's terms.
 * n8n keys the answer by field label (`{ data: {<label>: value} }` from Send and Wait, the item
 * itself from the Form node) and puts a file in a binary named after the label, or, in n8n 2.x's
 * combined binary mode, the binary object itself under the label in the answer. n8n checks
 * required fields only in the browser and escapes `<` `>` of the defaults it shows, so both
 * are handled here; nothing is sent until the whole answer is known to be complete.
 */

/** A file answer: where its files are (binary properties or objects), uploaded once the answer is checked. */
export interface AnsweredFiles {
	name: string;
	list: boolean;
	sources: BinarySource[];
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

/** A file the answer holds, with the name and type its checks read. */
interface AnsweredFile {
	source: BinarySource;
	binary: IBinaryData;
}

/**
 * Where n8n put the files of a file field: binaries `<label>` for one, `<label>_0`, `_1`, … for
 * several; in combined binary mode, the binary objects as the answer's value.
 */
function filesOf(label: string, value: unknown, binary: IBinaryKeyData | undefined, inAnswer: boolean): AnsweredFile[] {
	const base = label.replace(/\W/g, '_');
	const properties = binary?.[base] ? [base] : [];
	for (let n = 0; binary?.[`${base}_${n}`]; n++) properties.push(`${base}_${n}`);
	if (properties.length > 0) return properties.map((property) => ({ source: property, binary: binary![property] }));
	if (!inAnswer) return [];
	const values = Array.isArray(value) ? value : [value];
	return values.filter(isBinaryData).map((object) => ({ source: object, binary: object }));
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

function readFiles(input: PlannedInput, value: unknown, binary: IBinaryKeyData | undefined, inAnswer: boolean): AnsweredFiles | FormAnswerError {
	const files = filesOf(input.label, value, binary, inAnswer);
	if (files.length === 0) return required(input);
	if (input.kind === 'file' && files.length > 1) {
		return new FormAnswerError(`"${input.label}" takes one file, and the answer has ${files.length}`, 'Ask again with one file.');
	}
	if (input.maxFiles !== undefined && files.length > input.maxFiles) {
		return new FormAnswerError(`"${input.label}" takes at most ${input.maxFiles} files, and the answer has ${files.length}`,
			'Ask again with fewer files.',
		);
	}
	for (const file of files) {
		const fileName = file.binary.fileName ?? (typeof file.source === 'string' ? file.source : input.label);
		if (!fileFits(input, fileName, file.binary.mimeType)) return wrongType(input, fileName);
	}
	return { name: input.name, list: input.list, sources: files.map((file) => file.source) };
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
 * first field at fault; nothing has been sent by then. `filesInAnswer`: the workflow runs in
 * combined binary mode, so files are read from the answer itself (binariesInJson).
 */
export function mapN8nAnswer(
	node: INode,
	itemIndex: number,
	plan: N8nFormPlan,
	answer: IDataObject,
	binary: IBinaryKeyData | undefined,
	filesInAnswer = false,
): MappedAnswer {
	const mapped = mapAnswer(plan, answer, binary, filesInAnswer);
	if (mapped instanceof FormAnswerError) throw new NodeOperationError(node, mapped.message, { itemIndex, description: mapped.advice });
	return mapped;
}

function mapAnswer(plan: N8nFormPlan, answer: IDataObject, binary: IBinaryKeyData | undefined, filesInAnswer: boolean): MappedAnswer | FormAnswerError {
	const inputs: Record<string, unknown> = {};
	const files: AnsweredFiles[] = [];
	for (const input of plan.inputs) {
		const value = answer[input.label];
		if (input.kind === 'file' || input.kind === 'file-list') {
			const answered = readFiles(input, value, binary, filesInAnswer);
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
