import type { IExecuteFunctions } from 'n8n-workflow';

/**
 * Whether the node runs as a tool of n8n's AI Agent. n8n gives the tool variant of a node its type
 * name with 'Tool' appended (difyWorkflowTool), on 1.x and 2.x alike; n8n-workflow's own
 * isToolType() is missing from 1.x.
 */
export function runsAsTool(ctx: IExecuteFunctions): boolean {
	return ctx.getNode().type.endsWith('Tool');
}

/**
 * As a tool, a failure is the agent's to read (a wrong input key, a failed run), not the end of
 * the execution: n8n 2.x's engine already hands a tool's error to the agent unless the node is set
 * to stop the workflow on error, n8n 1.x fails the whole execution. Reporting it as the tool's
 * result gives both the same behaviour, with the error's description (e.g. the app's inputs) too.
 */
export function errorsGoToAgent(ctx: IExecuteFunctions): boolean {
	return runsAsTool(ctx) && ctx.getNode().onError !== 'stopWorkflow';
}
