/**
 * Drives a polling trigger's poll() through n8n-core's own PollContext and TriggersAndPollers,
 * with the workflow's static data kept between polls the way n8n keeps it:
 *
 * - in memory, on the active workflow's Workflow object, from one poll to the next;
 * - saved (what n8n's database holds) only with an execution that a poll's items start, and at
 *   activation; a poll that returns null saves nothing;
 * - `restart()` drops the memory and starts again from what was saved, as a restarted n8n does.
 */
import { ExecutionLifecycleHooks, PollContext, TriggersAndPollers } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IDataObject,
	INode,
	INodeExecutionData,
	INodeType,
	IWorkflowBase,
	WorkflowActivateMode,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { Workflow } from 'n8n-workflow';

import type { BinaryMode, EngineNode } from './run-workflow';
import { checkNodeTypes, engineAdditionalData, MapNodeTypes, withEngine } from './run-workflow';

export interface PollerOptions {
	/** The trigger node; its type must be in nodeTypes. */
	node: EngineNode;
	nodeTypes: Record<string, INodeType>;
	credentialTypes?: Record<string, ICredentialType>;
	credentials?: Record<string, Record<string, ICredentialDataDecryptedObject>>;
	/** Default 'filesystem', as in runWorkflow. */
	binaryMode?: BinaryMode;
	/** What n8n's database holds already (a workflow activated before). */
	savedStaticData?: IDataObject;
}

/** What one poll gave: its items (empty for null), or the error n8n would show on the trigger. */
export interface PollOutcome {
	items: INodeExecutionData[];
	returnedNull: boolean;
	error?: Error & { description?: string | null; httpCode?: string | null };
}

let pollCounter = 0;

export class Poller {
	/** What n8n saved: the static data of the last execution started by a poll (or of the activation). */
	saved: IDataObject;
	/** How many polls returned items: each started one execution in n8n. */
	executions = 0;
	private workflow: Workflow;
	private readonly node: INode;
	private readonly nodeTypes: MapNodeTypes;

	constructor(private readonly options: PollerOptions) {
		checkNodeTypes({ nodes: [options.node], nodeTypes: options.nodeTypes });
		this.node = { id: 'trigger-node', position: [0, 0], ...structuredClone(options.node) } as INode;
		this.nodeTypes = new MapNodeTypes(options.nodeTypes);
		this.saved = structuredClone(options.savedStaticData ?? {});
		this.workflow = this.load();
	}

	/** The trigger's own static data as n8n saved it (n8n keys a node's data by its name). */
	get savedNodeData(): IDataObject {
		return (this.saved[`node:${this.node.name}`] ?? {}) as IDataObject;
	}

	/** The trigger's own static data as the running workflow holds it now. */
	get memory(): IDataObject {
		return this.workflow.getStaticData('node', this.node);
	}

	/**
	 * Activation: n8n runs one poll at once (an error fails the activation) and saves the static
	 * data afterwards, whatever the poll returned.
	 */
	async activate(): Promise<PollOutcome> {
		this.workflow = this.load();
		const outcome = await this.run('trigger', 'activate');
		if (!outcome.error) this.save();
		return outcome;
	}

	/** One poll of the active workflow, by its Poll Times. */
	async poll(): Promise<PollOutcome> {
		return await this.run('trigger', 'activate');
	}

	/** Fetch Test Event in the editor: a manual poll of a workflow loaded from what was saved. */
	async fetchTestEvent(): Promise<PollOutcome> {
		const editorCopy = this.load();
		return await this.run('manual', 'manual', editorCopy);
	}

	/** n8n stops and starts: memory is gone, the saved static data is read again. */
	restart(): void {
		this.workflow = this.load();
	}

	private load(): Workflow {
		return new Workflow({
			id: 'poll-test-workflow',
			name: 'Poll test',
			nodes: [structuredClone(this.node)],
			connections: {},
			active: true,
			nodeTypes: this.nodeTypes,
			staticData: structuredClone(this.saved),
			settings: { executionOrder: 'v1' },
		});
	}

	/** n8n stores static data as JSON; the round trip also unwraps n8n's change-tracking proxies. */
	private save(): void {
		const data = JSON.parse(JSON.stringify(this.workflow.staticData)) as IDataObject;
		delete data.__dataChanged;
		this.saved = data;
	}

	private async run(mode: WorkflowExecuteMode, activation: WorkflowActivateMode, workflow = this.workflow): Promise<PollOutcome> {
		return await withEngine(this.options.binaryMode ?? 'filesystem', async () => {
			pollCounter++;
			const now = new Date();
			const workflowData: IWorkflowBase = {
				id: workflow.id,
				name: workflow.name ?? 'Poll test',
				active: true,
				isArchived: false,
				activeVersionId: null,
				createdAt: now,
				updatedAt: now,
				nodes: Object.values(workflow.nodes),
				connections: {},
				settings: workflow.settings,
			};
			const executionId = `poll-${process.pid}-${pollCounter}`;
			const additionalData = engineAdditionalData({
				hooks: new ExecutionLifecycleHooks(mode, executionId, workflowData),
				executionId,
				workflowId: workflow.id,
				credentialTypes: this.options.credentialTypes,
				credentials: this.options.credentials,
			});
			const node = workflow.getNode(this.node.name) as INode;
			const context = new PollContext(workflow, node, additionalData, mode, activation);
			try {
				const result = await new TriggersAndPollers().runPollFunction(workflow, node, context);
				if (result === null) return { items: [], returnedNull: true };
				// The items start an execution; n8n saves the static data with it.
				if (mode !== 'manual') {
					this.executions++;
					this.save();
				}
				return { items: result[0] ?? [], returnedNull: false };
			} catch (error) {
				return { items: [], returnedNull: false, error: error as PollOutcome['error'] };
			}
		});
	}
}
