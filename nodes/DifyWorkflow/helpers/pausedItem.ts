import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { DifyPauseReason } from '../types';
import { isFormToken } from './humanInputForm';
import { planN8nForm } from './n8nFormFields';

/**
 * The paused run an n8n form answer belongs to. Send and Wait and the Form node output only the
 * answer, so the form token and run id are read from the paused item of the nearest Dify node
 * before them (Run, Watch Run or the trigger's paused item), through n8n's paired items: the user wires
 * no expressions for them.
 */
export interface PausedForm {
	form: DifyPauseReason & { form_token: string };
	workflowRunId: string | null;
}

const DIFY_NODE_TYPES = /\.difyWorkflow(Trigger|Tool)?$/;

function pausedForms(json: IDataObject | undefined): Array<DifyPauseReason & { form_token: string }> {
	const forms = json?.human_input_forms;
	if (!Array.isArray(forms)) return [];
	return (forms as DifyPauseReason[]).filter((form): form is DifyPauseReason & { form_token: string } => isFormToken(form?.form_token));
}

/** What `$(node).item` gives: the item, or in n8n 2.x's combined binary mode only its JSON. */
type ProxyItem = { json?: IDataObject } | IDataObject;

function jsonOf(item: ProxyItem | undefined): IDataObject | undefined {
	if (typeof item !== 'object' || item === null) return undefined;
	return 'human_input_forms' in item ? (item as IDataObject) : ((item.json as IDataObject | undefined) ?? undefined);
}

/** The item of an earlier node that the current item descends from; the only item when pairing is lost. */
function itemOf(ctx: IExecuteFunctions, itemIndex: number, nodeName: string): IDataObject | undefined {
	try {
		const node = ctx.getWorkflowDataProxy(itemIndex).$(nodeName) as {
			item?: ProxyItem;
			all?: () => ProxyItem[];
		};
		try {
			const json = jsonOf(node.item);
			if (json) return json;
		} catch {
			// A node between them did not keep pairing; a single item is still unambiguous.
		}
		const all = node.all?.() ?? [];
		return all.length === 1 ? jsonOf(all[0]) : undefined;
	} catch {
		return undefined;
	}
}

/** The form the answer answers: the one whose labels the answer has, else the first with a token. */
function pick(forms: Array<DifyPauseReason & { form_token: string }>, answer: IDataObject): DifyPauseReason & { form_token: string } {
	return (
		forms.find((form) => planN8nForm(form).fields.every((field) => field.fieldLabel === undefined || field.fieldType === 'file' || field.fieldLabel in answer)) ??
		forms[0]
	);
}

export function findPausedForm(ctx: IExecuteFunctions, itemIndex: number, answer: IDataObject): PausedForm {
	const own = ctx.getInputData()[itemIndex]?.json;
	const candidates: Array<IDataObject | undefined> = [own];
	const parents = typeof ctx.getParentNodes === 'function' ? ctx.getParentNodes(ctx.getNode().name) : [];
	// n8n lists the farthest ancestors first; the nearest paused item is the one answered.
	for (const parent of [...parents].reverse()) {
		if (DIFY_NODE_TYPES.test(parent.type) && !parent.disabled) candidates.push(itemOf(ctx, itemIndex, parent.name));
	}
	for (const json of candidates) {
		const forms = pausedForms(json);
		if (forms.length === 0) continue;
		const runId = json?.workflow_run_id;
		return { form: pick(forms, answer), workflowRunId: typeof runId === 'string' ? runId : null };
	}
	throw new NodeOperationError(ctx.getNode(), 'No paused Dify run before this node to send the answer to', {
		itemIndex,
		description:
			"Answer From n8n Form reads the form token from the paused item of a Dify Workflow node earlier in the workflow (Run or Watch Run that paused, with human_input_forms[].form_token). Put this node after it (e.g. Run → Send and Wait → Submit Form), or use Answer From 'Form Token, Action and Form Inputs'.",
	});
}
