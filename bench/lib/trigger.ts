import { DifyApi } from '../../credentials/DifyApi.credentials';
import { DifyWorkflowTrigger } from '../../nodes/DifyWorkflowTrigger/DifyWorkflowTrigger.node';
import { isoSecond } from '../../nodes/DifyWorkflowTrigger/poll/logScan';
import type { TriggerState } from '../../nodes/DifyWorkflowTrigger/poll/state';
import { Poller } from '../../test/engine/run-poll';
import type { Target } from './raw';

const TRIGGER_TYPE = 'n8n-nodes-dify-workflow.difyWorkflowTrigger';

/** An active workflow whose Dify Workflow Trigger reports every new run (Run Started). */
export function triggerPoller(target: Target): Poller {
	return new Poller({
		node: {
			name: 'Dify Workflow Trigger',
			type: TRIGGER_TYPE,
			typeVersion: 1,
			parameters: { event: 'runStarted' },
			credentials: { difyApi: { id: 'bench', name: 'Dify stand-in' } },
		},
		nodeTypes: { [TRIGGER_TYPE]: new DifyWorkflowTrigger() },
		credentialTypes: { difyApi: new DifyApi() },
		credentials: { difyApi: { bench: { baseUrl: target.url, apiKey: target.apiKey } } },
	});
}

/** The bound the trigger's next poll sends as created_at__after. */
export function cursorIso(poller: Poller): string {
	return isoSecond((poller.memory.state as unknown as TriggerState).cursor);
}
