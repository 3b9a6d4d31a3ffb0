import type { DifyFileType, DifyHumanInputAction, DifyHumanInputField, N8nFormField } from '../types';
import { extensionsOfType } from './fileInputs';
import { formContentHtml, formContentText } from './formContentHtml';

/**
 * A Dify Human Input form as n8n form fields: the JSON that n8n's Form node and every Send and
 * Wait node take under "Define Form: Using JSON" (n8n-workflow's tryToParseJsonToFormFields; the
 * keys used here are accepted by n8n 1.x and 2.x alike). n8n keys a person's answer by the
 * field's label, so labels are unique, and the same form always gives the same labels: that is
 * how an answer finds its way back to Dify's variable names and action ids.
 */

/** A Human Input form as the pause reasons (`actions`) and Get Form (`user_actions`) give it. */
export interface HumanInputFormShape {
	form_content?: unknown;
	inputs?: unknown;
	resolved_default_values?: unknown;
	actions?: unknown;
	user_actions?: unknown;
}

/** How one Dify input is asked, and how its answer is read back. */
export interface PlannedInput {
	name: string;
	label: string;
	kind: 'text' | 'select' | 'file' | 'file-list' | 'file-url';
	/** Dify takes a list of files (file-list), also when they are asked as a link. */
	list: boolean;
	options: string[];
	/** Dify file types a file may have; empty: any. */
	fileTypes: DifyFileType[];
	/** Extensions (lower case, no dot) a `custom` file may have; empty: any. */
	extensions: string[];
	maxFiles?: number;
}

export interface N8nFormPlan {
	inputs: PlannedInput[];
	/** The label of the choice of action, and each option (an action title) to its id. */
	actionLabel: string;
	actionIds: Map<string, string>;
	fields: N8nFormField[];
	/** form_content as plain text, for the message that carries the form's link. */
	message: string;
}

export const ACTION_LABEL = 'Decision';

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
	return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

/** `review_note` or `reviewNote` → "Review note": what a person reads instead of a variable name. */
export function humanLabel(name: string): string {
	const words = name
		.replace(/([a-z0-9])([A-Z])/g, '$1 $2')
		.replace(/[_\-.]+/g, ' ')
		.trim()
		.toLowerCase();
	return words ? words[0].toUpperCase() + words.slice(1) : name;
}

/**
 * Labels that n8n keeps apart: an answer is keyed by the label, and a file's binary by the label
 * with non-word characters as `_`, so both must differ.
 */
class LabelSet {
	private readonly taken = new Set<string>();

	claim(wanted: string): string {
		let label = wanted;
		for (let n = 2; this.taken.has(LabelSet.key(label)); n++) label = `${wanted} (${n})`;
		this.taken.add(LabelSet.key(label));
		return label;
	}

	private static key(label: string): string {
		return label.replace(/\W/g, '_').toLowerCase();
	}
}

function fileTypesOf(input: DifyHumanInputField): DifyFileType[] {
	return strings(input.allowed_file_types).filter((type): type is DifyFileType =>
		['document', 'image', 'audio', 'video', 'custom'].includes(type),
	);
}

function extensionsOf(input: DifyHumanInputField): string[] {
	return strings(input.allowed_file_extensions).map((extension) => extension.replace(/^\./, '').toLowerCase()).filter(Boolean);
}

/** The `accept` list of a file field: the extensions of the allowed types, or none to take any. */
function acceptOf(types: DifyFileType[], extensions: string[]): string | undefined {
	if (types.length === 0 || types.includes('custom') && extensions.length === 0) return undefined;
	const all = types.flatMap((type) => (type === 'custom' ? extensions : [...extensionsOfType(type)]));
	return all.length ? [...new Set(all)].map((extension) => `.${extension}`).join(',') : undefined;
}

/** The default a field shows: resolved from the run's variables, else a constant default. */
function defaultOf(input: DifyHumanInputField, resolved: Record<string, unknown>): string | undefined {
	const value = resolved[input.output_variable_name];
	if (typeof value === 'string' && value !== '') return value;
	const fallback = input.default;
	if (isRecord(fallback) && fallback.type === 'constant' && typeof fallback.value === 'string' && fallback.value !== '') return fallback.value;
	return undefined;
}

function planInput(input: DifyHumanInputField, label: string): PlannedInput {
	const base = { name: input.output_variable_name, label, list: input.type === 'file-list', options: [], fileTypes: [], extensions: [] };
	if (input.type === 'select') {
		const source = isRecord(input.option_source) ? input.option_source : {};
		return { ...base, kind: 'select', options: strings(source.value) };
	}
	if (input.type === 'file' || input.type === 'file-list') {
		const methods = strings(input.allowed_file_upload_methods);
		// A form that takes only links gets a text field for one; n8n's file field uploads.
		const kind = methods.length > 0 && !methods.includes('local_file') ? 'file-url' : input.type;
		const maxFiles = typeof input.number_limits === 'number' ? input.number_limits : undefined;
		return { ...base, kind, fileTypes: fileTypesOf(input), extensions: extensionsOf(input), maxFiles };
	}
	return { ...base, kind: 'text' };
}

function fieldOf(planned: PlannedInput, input: DifyHumanInputField, resolved: Record<string, unknown>): N8nFormField {
	const field: N8nFormField = { fieldLabel: planned.label, fieldType: 'text', requiredField: true };
	const defaultValue = defaultOf(input, resolved);
	switch (planned.kind) {
		case 'select':
			field.fieldType = 'dropdown';
			field.fieldOptions = { values: planned.options.map((option) => ({ option })) };
			if (defaultValue !== undefined && planned.options.includes(defaultValue)) field.defaultValue = defaultValue;
			return field;
		case 'file':
		case 'file-list': {
			field.fieldType = 'file';
			if (planned.kind === 'file-list') field.multipleFiles = true;
			const accept = acceptOf(planned.fileTypes, planned.extensions);
			if (accept) field.acceptFileTypes = accept;
			return field;
		}
		case 'file-url':
			field.placeholder = 'https://…';
			return field;
		default:
			// 1.14's text_input is one line; a paragraph may be long.
			field.fieldType = input.type === 'text_input' ? 'text' : 'textarea';
			if (defaultValue !== undefined) field.defaultValue = defaultValue;
			return field;
	}
}

function actionsOf(form: HumanInputFormShape): DifyHumanInputAction[] {
	const raw = Array.isArray(form.user_actions) ? form.user_actions : form.actions;
	return (Array.isArray(raw) ? raw : []).filter(
		(action): action is DifyHumanInputAction => isRecord(action) && typeof action.id === 'string',
	);
}

/** Plans the n8n form of a Dify Human Input form: its fields, and how to read the answer back. */
export function planN8nForm(form: HumanInputFormShape): N8nFormPlan {
	const labels = new LabelSet();
	const inputs = (Array.isArray(form.inputs) ? form.inputs : []).filter(
		(input): input is DifyHumanInputField => isRecord(input) && typeof input.output_variable_name === 'string',
	);
	const resolved = isRecord(form.resolved_default_values) ? form.resolved_default_values : {};
	// The choice of action is claimed first: its label stays the same whatever the inputs are called.
	const actionLabel = labels.claim(ACTION_LABEL);
	const planned = inputs.map((input) => planInput(input, labels.claim(humanLabel(input.output_variable_name))));
	const actionIds = new Map<string, string>();
	for (const action of actionsOf(form)) {
		const title = typeof action.title === 'string' && action.title.trim() !== '' ? action.title : action.id;
		// Two buttons with one title stay apart by their id.
		actionIds.set(actionIds.has(title) ? `${title} (${action.id})` : title, action.id);
	}
	const labelOf = (name: string) => planned.find((input) => input.name === name)?.label;
	const content = typeof form.form_content === 'string' ? form.form_content : '';
	const fields: N8nFormField[] = [];
	const html = formContentHtml(content, labelOf);
	if (html) fields.push({ fieldType: 'html', html });
	planned.forEach((input, index) => fields.push(fieldOf(input, inputs[index], resolved)));
	fields.push({
		fieldLabel: actionLabel,
		fieldType: 'radio',
		requiredField: true,
		fieldOptions: { values: [...actionIds.keys()].map((option) => ({ option })) },
	});
	return { inputs: planned, actionLabel, actionIds, fields, message: formContentText(content, labelOf) };
}

/** A form with what n8n needs to ask it: `n8n_form_fields`, and `n8n_form_message` for the message text. */
export function withN8nForm<T extends HumanInputFormShape>(form: T): T & { n8n_form_fields: N8nFormField[]; n8n_form_message: string } {
	const plan = planN8nForm(form);
	return { ...form, n8n_form_fields: plan.fields, n8n_form_message: plan.message };
}
