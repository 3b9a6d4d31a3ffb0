import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INodeParameters } from 'n8n-workflow';

import { standinPerFile } from '../integration/standin-per-file';
import { runIds, TRIGGER_TYPE, triggerPoller } from './trigger-poller';

const standin = standinPerFile({ seedLogs: 5 });

/** The trigger node of an example, as a user imports it. */
function exampleTrigger(file: string): INodeParameters {
	const workflow = JSON.parse(readFileSync(join(__dirname, '../../examples', file), 'utf8')) as {
		nodes: Array<{ type: string; parameters: INodeParameters }>;
	};
	const node = workflow.nodes.find((candidate) => candidate.type === TRIGGER_TYPE);
	if (!node) throw new Error(`${file} has no Dify Workflow Trigger`);
	return node.parameters;
}

describe('the trigger examples, as saved', () => {
	it('trigger-failed-run-alert reports a failed run with its inputs', async () => {
		const poller = triggerPoller(standin(), exampleTrigger('trigger-failed-run-alert.json'));
		await poller.activate();
		await standin().addRun({ scenario: 'llm' });
		const failed = await standin().addRun({ scenario: 'fail', createdFrom: 'web-app' });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([failed.id]);
		expect(outcome.items[0].json).toMatchObject({ status: 'failed', created_from: 'web-app', inputs: { topic: 'Mount Fuji' } });
	});

	it('trigger-paused-run-to-a-person reports a pause with the token and user its next nodes read', async () => {
		const poller = triggerPoller(standin(), exampleTrigger('trigger-paused-run-to-a-person.json'));
		await poller.activate();
		const run = await standin().addRun({ scenario: 'paused', user: 'web-visitor' });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([run.id]);
		const json = outcome.items[0].json as { user: string; human_input_forms: Array<{ form_token: string }> };
		expect(json.user).toBe('web-visitor');
		expect(json.human_input_forms[0].form_token).toMatch(/^[A-Za-z0-9]{22}$/);
	});
});
