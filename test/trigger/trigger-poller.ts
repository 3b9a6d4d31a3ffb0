import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { DifyApi } from '../../credentials/DifyApi.credentials';
import { DifyWorkflowTrigger } from '../../nodes/DifyWorkflowTrigger/DifyWorkflowTrigger.node';
import type { TriggerState } from '../../nodes/DifyWorkflowTrigger/poll/state';
import type { PollOutcome } from '../engine/run-poll';
import { Poller } from '../engine/run-poll';
import type { DifyStandin } from '../standin/server';

export const TRIGGER_TYPE = 'n8n-nodes-dify-workflow.difyWorkflowTrigger';

/** An active workflow whose only node is the Dify Workflow Trigger, polling the stand-in. */
export function triggerPoller(
	standin: DifyStandin,
	parameters: INodeParameters,
	options: { apiKey?: string; baseUrl?: string; savedStaticData?: IDataObject } = {},
): Poller {
	return new Poller({
		node: {
			name: 'Dify Workflow Trigger',
			type: TRIGGER_TYPE,
			typeVersion: 1,
			parameters,
			credentials: { difyApi: { id: 'cred-1', name: 'Dify stand-in' } },
		},
		nodeTypes: { [TRIGGER_TYPE]: new DifyWorkflowTrigger() },
		credentialTypes: { difyApi: new DifyApi() },
		credentials: { difyApi: { 'cred-1': { baseUrl: options.baseUrl ?? standin.url, apiKey: options.apiKey ?? standin.apiKey } } },
		savedStaticData: options.savedStaticData,
	});
}

/** The run IDs of a poll's items, in order; fails the test on a poll error. */
export function runIds(outcome: PollOutcome): string[] {
	if (outcome.error) throw outcome.error;
	return outcome.items.map((item) => String(item.json.workflow_run_id));
}

/** The trigger's state as a static data object holds it. */
export function stateOf(staticData: IDataObject): TriggerState {
	return staticData.state as unknown as TriggerState;
}
