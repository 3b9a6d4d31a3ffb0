import type { StoredRun } from './app';
import { ApiError, pydanticError } from './app';
import type { PydanticIssue } from './app';
import type { FormSubmission } from './scenarios';

/**
 * Human Input forms a paused run opened, answerable with the app key through
 * `GET` / `POST /form/human_input/{form_token}` (dify-api.md §12.3). Only forms with a WebApp
 * token are reachable; the first accepted submit closes a form for everyone.
 */

interface FormRecord {
	token: string;
	run: StoredRun;
	/** The data of the human_input_required event that opened it. */
	form: Record<string, unknown>;
	expiresAtMs: number;
	submitted: boolean;
}

interface FormAction {
	id: string;
	title: string;
}

interface FormInput {
	output_variable_name: string;
	type?: string;
	option_source?: { value?: unknown };
	allowed_file_types?: string[];
}

/** Dify's content checks of a select or file answer (dify-api.md §12.3), with its messages. */
function checkValue(input: FormInput, value: unknown): void {
	const name = input.output_variable_name;
	if (value === undefined) return;
	if (input.type === 'select') {
		if (typeof value !== 'string') throw new ApiError(400, 'invalid_form_data', `Invalid value for select input '${name}': expected string`);
		const options = Array.isArray(input.option_source?.value) ? (input.option_source.value as unknown[]) : [];
		if (!options.includes(value)) throw new ApiError(400, 'invalid_form_data', `Invalid value for select input '${name}': ${value}`);
	}
	if (input.type === 'file') {
		const file = value as Record<string, unknown>;
		const transfer = isObject(file) ? file.transfer_method : undefined;
		const reference = transfer === 'local_file' ? file.upload_file_id : transfer === 'remote_url' ? file.url : undefined;
		if (typeof reference !== 'string' || !(input.allowed_file_types ?? []).includes(String(file.type))) {
			throw new ApiError(400, 'invalid_form_data', `Invalid value for file input '${name}': expected a file object of type ${(input.allowed_file_types ?? []).join(', ')}`);
		}
	}
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class FormStore {
	private readonly forms = new Map<string, FormRecord>();

	/** Registers a form a run opened; a form without a WebApp token cannot be reached here. */
	add(run: StoredRun, form: Record<string, unknown>): void {
		if (typeof form.form_token !== 'string') return;
		const expiration = typeof form.expiration_time === 'number' ? form.expiration_time * 1000 : Infinity;
		this.forms.set(form.form_token, { token: form.form_token, run, form, expiresAtMs: expiration, submitted: false });
	}

	clear(): void {
		this.forms.clear();
	}

	/** `GET /form/human_input/{token}`: the form as a person would fill it in. */
	definition(token: string): Record<string, unknown> {
		const { form } = this.open(token);
		return {
			form_content: form.form_content,
			inputs: form.inputs,
			resolved_default_values: form.resolved_default_values,
			user_actions: form.actions,
			expiration_time: form.expiration_time,
		};
	}

	/**
	 * `POST /form/human_input/{token}`: checks the body in Dify's order and closes the form.
	 * Returns the run to resume and what was answered.
	 */
	submit(token: string, body: Record<string, unknown>): { run: StoredRun; submission: FormSubmission } {
		const issues: PydanticIssue[] = [];
		if (!('inputs' in body)) issues.push({ field: 'inputs', message: 'Field required', type: 'missing', input: body });
		else if (!isObject(body.inputs)) {
			issues.push({ field: 'inputs', message: 'Input should be a valid dictionary', type: 'dict_type', input: body.inputs });
		}
		if (!('action' in body)) issues.push({ field: 'action', message: 'Field required', type: 'missing', input: body });
		else if (typeof body.action !== 'string') {
			issues.push({ field: 'action', message: 'Input should be a valid string', type: 'string_type', input: body.action });
		}
		if (issues.length > 0) throw pydanticError('HumanInputFormSubmitPayload', issues);
		const record = this.open(token);
		const inputs = body.inputs as Record<string, unknown>;
		// Dify checks select and file values before the action and the missing inputs.
		for (const input of (record.form.inputs ?? []) as FormInput[]) checkValue(input, inputs[input.output_variable_name]);
		const actions = (record.form.actions ?? []) as FormAction[];
		const action = actions.find((candidate) => candidate.id === body.action);
		if (!action) throw new ApiError(400, 'invalid_form_data', `Invalid action: ${String(body.action)}`);
		const names = ((record.form.inputs ?? []) as FormInput[]).map((input) => input.output_variable_name);
		const missing = names.filter((name) => !(name in inputs));
		if (missing.length > 0) throw new ApiError(400, 'invalid_form_data', `Missing required inputs: ${missing.join(', ')}`);
		record.submitted = true;
		const values: Record<string, unknown> = {};
		for (const name of names) values[name] = inputs[name];
		const rendered = String(record.form.form_content ?? '').replace(/\{\{#\$output\.([A-Za-z0-9_]+)#\}\}/g, (_, name: string) =>
			name in values ? String(values[name]) : '',
		);
		return {
			run: record.run,
			submission: { inputs: values, actionId: action.id, actionTitle: action.title, renderedContent: rendered },
		};
	}

	private open(token: string): FormRecord {
		const record = this.forms.get(token);
		if (!record) throw new ApiError(404, 'not_found', 'Form not found');
		const formId = String(record.form.form_id);
		if (record.submitted) {
			throw new ApiError(412, 'human_input_form_submitted', `This form has already been submitted by another user, form_id=${formId}`);
		}
		if (Date.now() >= record.expiresAtMs) {
			throw new ApiError(412, 'human_input_form_expired', `This form has expired, form_id=${formId}`);
		}
		return record;
	}
}
