import type { INodeExecutionData, INodeType, INodeTypeDescription, IPollFunctions } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { asNodeError } from '../DifyWorkflow/helpers/nodeError';
import { difyApiTest } from '../DifyWorkflow/methods/credentialTest';
import type { DifyTransport } from '../DifyWorkflow/transport/request';
import { createDifyTransport } from '../DifyWorkflow/transport/request';
import { properties } from './description';
import { nextEvents } from './poll/nextEvents';
import { readSettings } from './poll/settings';
import { testEvent } from './poll/testEvent';

export class DifyWorkflowTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dify Workflow Trigger',
		name: 'difyWorkflowTrigger',
		icon: { light: 'file:dify.svg', dark: 'file:dify.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["event"]}}',
		description:
			"Starts the workflow when a run of a Dify workflow app starts, finishes, fails or pauses for Human Input, however it was started (web app, schedule, API)",
		defaults: { name: 'Dify Workflow Trigger' },
		polling: true,
		inputs: [],
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'difyApi', required: true, testedBy: 'difyApiTest' }],
		properties,
	};

	methods = {
		credentialTest: { difyApiTest },
	};

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		let transport: DifyTransport | undefined;
		try {
			const settings = readSettings(this);
			transport = await createDifyTransport(this);
			const context = { transport, helpers: this.helpers, settings, node: this.getNode() };
			const items =
				this.getMode() === 'manual'
					? await testEvent(context)
					: await nextEvents(context, this.getWorkflowStaticData('node'), this.logger);
			if (items.length === 0) return null;
			const redact = transport;
			// Every item that leaves the trigger passes here: one place keeps the key out.
			return [items.map((item) => ({ ...item, json: redact.redactJson(item.json) }))];
		} catch (error) {
			// n8n shows a failed poll on the trigger (and on activation): with the transport's message, never the key.
			throw asNodeError(this.getNode(), error, 0, transport);
		}
	}
}
