import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fail(ctx: IExecuteFunctions, itemIndex: number, message: string, description: string): never {
	throw new NodeOperationError(ctx.getNode(), message, { itemIndex, description });
}

/**
 * Reads `inputs`: an object from an expression, or JSON text. Dify wants an object keyed by the
 * Start node's variable names; anything else is refused before a request is made.
 */
export function readInputs(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const raw = ctx.getNodeParameter('inputs', itemIndex, {}) as unknown;
	const example = 'for example {"topic": "Mount Fuji"} (App → Get Parameters lists the variable names)';
	let value = raw;
	if (typeof raw === 'string') {
		if (raw.trim() === '') return {};
		try {
			value = JSON.parse(raw) as unknown;
		} catch (error) {
			fail(
				ctx,
				itemIndex,
				`The Inputs parameter is not valid JSON: ${(error as Error).message}`,
				`Write Inputs as a JSON object whose keys are the app's input variables, ${example}.`,
			);
		}
	}
	if (value === null || value === undefined) return {};
	if (typeof value !== 'object' || Array.isArray(value)) {
		fail(
			ctx,
			itemIndex,
			`The Inputs parameter must be a JSON object, not ${Array.isArray(value) ? 'an array' : typeof value}`,
			`Set Inputs to an object whose keys are the app's input variables, ${example}.`,
		);
	}
	return value as IDataObject;
}

/** Reads a text parameter that Dify requires to be non-empty. */
export function readRequiredText(
	ctx: IExecuteFunctions,
	itemIndex: number,
	name: string,
	label: string,
	advice: string,
): string {
	const value = ctx.getNodeParameter(name, itemIndex, '') as unknown;
	const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
	if (!text) fail(ctx, itemIndex, `The ${label} parameter is empty`, advice);
	return text;
}

/** What to put in a Workflow Run ID parameter (Get Run, Watch Run). */
export const RUN_ID_ADVICE =
	'Set Workflow Run ID to the workflow_run_id of a run of this app, e.g. {{ $json.workflow_run_id }} after a Run operation.';

/** Reads an ID parameter that must be one of Dify's UUIDs. */
export function readUuid(
	ctx: IExecuteFunctions,
	itemIndex: number,
	name: string,
	label: string,
	advice: string,
): string {
	const text = readRequiredText(ctx, itemIndex, name, label, advice);
	if (!UUID.test(text)) {
		fail(ctx, itemIndex, `The ${label} parameter is not a Dify ID: "${text.slice(0, 80)}"`, advice);
	}
	return text;
}

/** Checks an optional UUID (an option left empty is undefined). */
export function optionalUuid(
	ctx: IExecuteFunctions,
	itemIndex: number,
	value: unknown,
	label: string,
	advice: string,
): string | undefined {
	const text = typeof value === 'string' ? value.trim() : '';
	if (!text) return undefined;
	if (!UUID.test(text)) fail(ctx, itemIndex, `The ${label} option is not a Dify ID: "${text.slice(0, 80)}"`, advice);
	return text;
}

/**
 * Turns a date parameter into the ISO-8601 UTC text Dify's log filters parse. A value without an
 * offset is taken as UTC, which is how Dify stores log times.
 */
export function toUtcIso(ctx: IExecuteFunctions, itemIndex: number, value: unknown, label: string): string | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const text = typeof value === 'string' ? value.trim() : String(value);
	const dateOnly = /^\d{4}-\d\d-\d\d$/.test(text);
	const withoutOffset = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text);
	const date = new Date(dateOnly ? `${text}T00:00:00Z` : withoutOffset ? `${text}Z` : text);
	const [, year, month, day] = /^(\d{4})-(\d\d)-(\d\d)/.exec(text) ?? [];
	const exists = year === undefined || new Date(Date.UTC(+year, +month - 1, +day)).getUTCDate() === +day;
	if (Number.isNaN(date.getTime()) || !exists) {
		fail(
			ctx,
			itemIndex,
			`The ${label} filter is not a valid date: "${text.slice(0, 80)}"`,
			'Use an ISO 8601 date and time, for example 2026-01-31T18:00:00Z, or pick one in the date picker.',
		);
	}
	return date.toISOString();
}

/** Reads a count parameter that must be a whole number of at least 1. */
export function readPositiveInteger(ctx: IExecuteFunctions, itemIndex: number, name: string, label: string): number {
	const value = Number(ctx.getNodeParameter(name, itemIndex, 1));
	if (!Number.isInteger(value) || value < 1) {
		fail(ctx, itemIndex, `The ${label} parameter must be a whole number of at least 1`, `Set ${label} to 1 or more.`);
	}
	return value;
}
