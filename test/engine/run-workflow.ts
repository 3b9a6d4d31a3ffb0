/**
 * Runs a workflow through n8n's own engine (n8n-core's WorkflowExecute on an n8n-workflow
 * Workflow) inside jest, so parameter defaults, expressions, pairedItem, continueOnFail /
 * onError, credential lookup and binary data are handled by n8n and not by a test imitation.
 *
 * What n8n's server would supply from its database and config is supplied here: credentials
 * come from the options (already decrypted), and n8n-core's services are set up once per jest
 * test file in the DI container, under a temporary folder that is removed after the file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Transitive dependencies of n8n-core, imported because n8n-core resolves its services from this
// container and reads these config classes; there is exactly one copy of each in node_modules.
import { GlobalConfig, InstanceSettingsConfig } from '@n8n/config';
import { Container } from '@n8n/di';
import {
	BinaryDataConfig,
	BinaryDataService,
	Credentials,
	ExecutionLifecycleHooks,
	ExternalSecretsProxy,
	InstanceSettings,
	WorkflowExecute,
} from 'n8n-core';
import type {
	ExecutionBaseError,
	ExecutionStatus,
	ICredentialDataDecryptedObject,
	ICredentialType,
	ICredentials,
	IConnections,
	IDataObject,
	IExecuteData,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeExecutionData,
	INodeParameters,
	INodeProperties,
	INodeType,
	INodeTypes,
	IRequestOptionsSimplified,
	IRun,
	IRunData,
	ITaskData,
	IVersionedNodeType,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	IWorkflowSettings,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import {
	ICredentialsHelper,
	isExpression,
	NodeHelpers,
	UnexpectedError,
	Workflow,
} from 'n8n-workflow';

export type BinaryMode = 'default' | 'filesystem';

/** Connections for a straight line of nodes, each one's first output into the next one's first input. */
export function chain(...names: string[]): IConnections {
	const connections: IConnections = {};
	for (let i = 0; i + 1 < names.length; i++) {
		connections[names[i]] = { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] };
	}
	return connections;
}

/** A workflow node; `id` and `position` may be left out. */
export type EngineNode = Omit<INode, 'id' | 'position'> & Partial<Pick<INode, 'id' | 'position'>>;

export interface EngineRunOptions {
	nodes: EngineNode[];
	connections: IConnections;
	/** Full type name (`<package>.<description.name>`, e.g. `n8n-nodes-dify-workflow.difyWorkflow`) -> instance. */
	nodeTypes: Record<string, INodeType | IVersionedNodeType>;
	/** Credential type name -> instance; needed for defaults and `authenticate`. */
	credentialTypes?: Record<string, ICredentialType>;
	/** Credential type -> credential id -> decrypted data (what n8n would decrypt from its database). */
	credentials?: Record<string, Record<string, ICredentialDataDecryptedObject>>;
	/**
	 * Where `prepareBinaryData` puts files: `filesystem` (on disk, the item holds an id) is what
	 * n8n 2.x does out of the box and the default here; `default` (base64 in the item) is n8n 1.x's.
	 */
	binaryMode?: BinaryMode;
	/** Aborting it stops the execution, as the Stop button does: nodes see `getExecutionCancelSignal()` fire. */
	signal?: AbortSignal;
	/** Name of the node to start from; default the first node without an incoming main connection. */
	startNode?: string;
	/** Default `manual`, an editor run. */
	executionMode?: WorkflowExecuteMode;
	/** Workflow settings; default `{ executionOrder: 'v1' }`, what n8n gives new workflows. */
	settings?: IWorkflowSettings;
	/**
	 * Receives what nodes send with sendChunk, as n8n's streaming response (Webhook or Chat
	 * Trigger in Streaming mode) would; with it, `isStreaming()` is true in nodes.
	 */
	onChunk?: (chunk: StreamChunk) => void;
}

/** One chunk a node sent towards a streaming response. */
export interface StreamChunk {
	type: string;
	content?: string;
	metadata: { nodeName: string; itemIndex: number };
}

export interface EngineRunResult {
	/** Everything the engine returned. */
	run: IRun;
	status: ExecutionStatus;
	runData: IRunData;
	/** The workflow-level error, when the execution failed or was stopped. */
	error?: ExecutionBaseError | Error;
	/** Node names in the order they finished. */
	executionOrder: string[];
	/** Items on one main output of a node's last run; throws if the node did not run, or failed without output. */
	outputOf(nodeName: string, outputIndex?: number): INodeExecutionData[];
	/** The error of a node's last run, if it failed. */
	errorOf(nodeName: string): ExecutionBaseError | undefined;
	/** An item's binary content, read back through n8n-core's BinaryDataService. */
	binaryBuffer(item: INodeExecutionData, property?: string): Promise<Buffer>;
	/** Where an item's binary is on disk (filesystem mode), or undefined when it is held in the item. */
	binaryFilePath(item: INodeExecutionData, property?: string): string | undefined;
}

const ENCRYPTION_KEY = 'n8n-nodes-dify-workflow-engine-test-key';

interface EngineEnvironment {
	root: string;
	binaryDataConfig: BinaryDataConfig;
	binaryDataService: BinaryDataService;
	/** The binary mode of the runs under way; the service holds one mode for the whole process, as in n8n. */
	activeMode?: BinaryMode;
	modeReady: Promise<void>;
	activeRuns: number;
}

let environment: Promise<EngineEnvironment> | undefined;

type Writable<T> = { -readonly [K in keyof T]: T[K] };

async function createEnvironment(): Promise<EngineEnvironment> {
	const root = mkdtempSync(join(tmpdir(), 'n8n-engine-'));

	// InstanceSettings writes a settings file with an encryption key into the n8n user folder,
	// ~/.n8n by default; keep it in the temp folder and fixed, whatever the environment says.
	// The folders are read-only in the type, set once from the environment (n8n's own tests swap
	// in a mock); writing them before anything has read them comes to the same.
	const instanceSettingsConfig: Writable<InstanceSettingsConfig> = Container.get(InstanceSettingsConfig);
	instanceSettingsConfig.userHome = root;
	instanceSettingsConfig.n8nFolder = join(root, '.n8n');
	instanceSettingsConfig.encryptionKey = ENCRYPTION_KEY;
	instanceSettingsConfig.enforceSettingsFilePermissions = false;

	// n8n-core logs through its Logger (info level by default); N8N_LOG_LEVEL=debug shows the engine's steps.
	if (!process.env.N8N_LOG_LEVEL) Container.get(GlobalConfig).logging.level = 'silent';

	Container.get(InstanceSettings);

	const binaryDataConfig = Container.get(BinaryDataConfig);
	binaryDataConfig.localStoragePath = join(root, 'binary-data');
	const binaryDataService = Container.get(BinaryDataService);
	return { root, binaryDataConfig, binaryDataService, modeReady: Promise.resolve(), activeRuns: 0 };
}

async function useEnvironment(): Promise<EngineEnvironment> {
	environment ??= createEnvironment();
	return await environment;
}

async function enterBinaryMode(env: EngineEnvironment, mode: BinaryMode): Promise<void> {
	if (env.activeRuns > 0 && env.activeMode !== mode) {
		throw new UnexpectedError(
			`A run in binary mode "${env.activeMode}" is under way; n8n has one binary mode per process, so a run in "${mode}" mode must wait for it`,
		);
	}
	// Counted before the first await, so a run started meanwhile sees this one's mode.
	env.activeRuns++;
	if (env.activeMode !== mode) {
		env.activeMode = mode;
		env.binaryDataConfig.mode = mode;
		// init() takes the mode from the config; 'default' has no manager, so the service keeps data in the item.
		env.modeReady = env.binaryDataService.init();
	}
	try {
		await env.modeReady;
	} catch (error) {
		env.activeRuns--;
		env.activeMode = undefined;
		throw error;
	}
}

/**
 * Removes the temporary folder (binary files included) and n8n-core's services. Called after each
 * jest test file automatically; call it yourself outside jest.
 */
export async function disposeEngine(): Promise<void> {
	const pending = environment;
	environment = undefined;
	if (!pending) return;
	const env = await pending.catch(() => undefined);
	Container.reset();
	if (env) rmSync(env.root, { recursive: true, force: true });
}

if (typeof afterAll === 'function') afterAll(disposeEngine);

/** Node types by full type name, as n8n's loader gives them to the engine. */
export class MapNodeTypes implements INodeTypes {
	constructor(private readonly types: Record<string, INodeType | IVersionedNodeType>) {}

	getByName(nodeType: string): INodeType | IVersionedNodeType {
		const type = this.types[nodeType];
		if (!type) throw new UnexpectedError(`Unknown node type "${nodeType}"`);
		return type;
	}

	getByNameAndVersion(nodeType: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(nodeType), version);
	}

	getKnownTypes(): IDataObject {
		return {};
	}
}

/**
 * Gives nodes the credentials of the run, the way n8n's CLI CredentialsHelper does after
 * decrypting them: type defaults filled in, and the credential type's `authenticate` applied when
 * a node makes a request "with authentication".
 */
class TestCredentialsHelper extends ICredentialsHelper {
	constructor(
		private readonly credentialTypes: Record<string, ICredentialType>,
		private readonly store: Record<string, Record<string, ICredentialDataDecryptedObject>>,
	) {
		super();
	}

	private credentialType(typeName: string): ICredentialType {
		const type = this.credentialTypes[typeName];
		if (!type) {
			throw new UnexpectedError(`Unknown credential type "${typeName}": pass it in credentialTypes`);
		}
		return type;
	}

	private stored(nodeCredentials: INodeCredentialsDetails, type: string): ICredentialDataDecryptedObject {
		const data = nodeCredentials.id ? this.store[type]?.[nodeCredentials.id] : undefined;
		if (!data) {
			// n8n's own wording, so tests of a missing credential read like production.
			throw new UnexpectedError(`Credential with ID "${nodeCredentials.id}" does not exist for type "${type}".`);
		}
		return data;
	}

	getParentTypes(name: string): string[] {
		const parents = this.credentialTypes[name]?.extends ?? [];
		return parents.flatMap((parent) => [parent, ...this.getParentTypes(parent)]);
	}

	isCredentialUsableByNode(credentialType: string, nodeType: string): boolean {
		const type = this.credentialTypes[credentialType];
		if (!type?.restrictToSupportedNodes) return true;
		return (type.supportedNodes ?? []).some((name) => nodeType === name || nodeType.endsWith(`.${name}`));
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
		workflow?: Workflow,
		node?: INode,
	): Promise<IHttpRequestOptions> {
		const { authenticate } = this.credentialType(typeName);
		if (typeof authenticate === 'function') {
			return await authenticate(credentials, requestOptions as IHttpRequestOptions);
		}
		if (authenticate?.type === 'generic') {
			if (!workflow || !node) {
				throw new UnexpectedError('Declarative credential authentication needs the workflow and the node');
			}
			// Keys and values may be expressions over $credentials, resolved by n8n's expression engine.
			const resolve = (value: string): string =>
				isExpression(value)
					? String(workflow.expression.getSimpleParameterValue(node, value, 'internal', { $credentials: credentials }, undefined, '') ?? '')
					: value;
			const target = requestOptions as unknown as Record<string, Record<string, unknown> | undefined>;
			for (const [section, entries] of Object.entries(authenticate.properties)) {
				const resolved: Record<string, unknown> = { ...(target[section] ?? {}) };
				for (const [key, value] of Object.entries(entries as Record<string, unknown>)) {
					resolved[resolve(key)] = typeof value === 'string' ? resolve(value) : value;
				}
				target[section] = resolved;
			}
		}
		return requestOptions as IHttpRequestOptions;
	}

	async preAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		node: INode,
		credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.credentialType(typeName);
		const expirable = type.properties.find((p) => p.type === 'hidden' && p.typeOptions?.expirable === true);
		if (!expirable || typeof type.preAuthentication !== 'function') return undefined;
		if (credentials[expirable.name] !== '' && !credentialsExpired) return undefined;
		const output = await type.preAuthentication.call(helpers, credentials);
		if (output[expirable.name] === undefined) return undefined;
		const details = node.credentials?.[typeName];
		const updated = Object.assign(credentials, output as ICredentialDataDecryptedObject);
		if (details) await this.updateCredentials(details, typeName, { ...updated });
		return updated;
	}

	async runPreAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const { preAuthentication } = this.credentialType(typeName);
		if (typeof preAuthentication !== 'function') return undefined;
		return (await preAuthentication.call(helpers, credentials)) as ICredentialDataDecryptedObject;
	}

	async getCredentials(nodeCredentials: INodeCredentialsDetails, type: string): Promise<ICredentials> {
		const credentials = new Credentials({ id: nodeCredentials.id, name: nodeCredentials.name }, type);
		await credentials.setData(this.stored(nodeCredentials, type));
		return credentials;
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		_mode: WorkflowExecuteMode,
		_executeData?: IExecuteData,
		raw?: boolean,
	): Promise<ICredentialDataDecryptedObject> {
		const data = structuredClone(this.stored(nodeCredentials, type));
		if (raw) return data;
		// As n8n does after decrypting: fields the user never saved take the type's defaults.
		const properties = this.getCredentialsProperties(type);
		const withDefaults = NodeHelpers.getNodeParameters(properties, data as INodeParameters, true, false, null, null);
		return { ...data, ...(withDefaults as ICredentialDataDecryptedObject | null) };
	}

	async updateCredentials(nodeCredentials: INodeCredentialsDetails, type: string, data: ICredentialDataDecryptedObject): Promise<void> {
		if (!nodeCredentials.id) return;
		(this.store[type] ??= {})[nodeCredentials.id] = data;
	}

	async updateCredentialsOauthTokenData(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		await this.updateCredentials(nodeCredentials, type, { ...this.stored(nodeCredentials, type), ...data });
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		const credentialType = this.credentialType(type);
		const inherited = (credentialType.extends ?? []).flatMap((parent) => this.getCredentialsProperties(parent));
		const own = new Set(credentialType.properties.map((p) => p.name));
		return [...inherited.filter((p) => !own.has(p.name)), ...credentialType.properties];
	}
}

function notInHarness(what: string): never {
	throw new UnexpectedError(`${what} is not available in the engine test harness`);
}

/** Refuses node type keys and node types that n8n's loader would refuse. */
export function checkNodeTypes(options: Pick<EngineRunOptions, 'nodes' | 'nodeTypes'>): void {
	for (const [typeName, type] of Object.entries(options.nodeTypes)) {
		// n8n names a loaded node `<package>.<description.name>`; a key that disagrees would pass
		// here and fail in n8n.
		const { name } = type.description;
		if (typeName.split('.').pop() !== name) {
			throw new UnexpectedError(`Node type key "${typeName}" does not end with its description name "${name}"`);
		}
	}
	for (const node of options.nodes) {
		if (!options.nodeTypes[node.type]) {
			throw new UnexpectedError(
				`Node "${node.name}" has type "${node.type}", which is not in nodeTypes (${Object.keys(options.nodeTypes).join(', ')})`,
			);
		}
	}
}

function pickStartNode(nodes: INode[], connections: IConnections, name?: string): INode {
	if (name !== undefined) {
		const node = nodes.find((n) => n.name === name);
		if (!node) throw new UnexpectedError(`Start node "${name}" is not in the workflow`);
		return node;
	}
	const targets = new Set(
		Object.values(connections).flatMap((byType) => (byType.main ?? []).flatMap((outputs) => (outputs ?? []).map((c) => c.node))),
	);
	const start = nodes.find((n) => !targets.has(n.name) && !n.disabled);
	if (!start) throw new UnexpectedError('Every node has an incoming connection; pass startNode');
	return start;
}


/** What n8n's server hands the engine for one execution (or one poll): credentials, URLs, hooks. */
export function engineAdditionalData(options: {
	hooks: ExecutionLifecycleHooks;
	executionId: string;
	workflowId: string;
	streaming?: boolean;
	credentialTypes?: Record<string, ICredentialType>;
	credentials?: Record<string, Record<string, ICredentialDataDecryptedObject>>;
}): IWorkflowExecuteAdditionalData {
	const { hooks, executionId, workflowId } = options;
	return {
		hooks,
		streamingEnabled: options.streaming === true,
		executionId,
		workflowId,
		userId: 'engine-test-user',
		credentialsHelper: new TestCredentialsHelper(options.credentialTypes ?? {}, structuredClone(options.credentials ?? {})),
		currentNodeExecutionIndex: 0,
		variables: {},
		externalSecretsProxy: new ExternalSecretsProxy(),
		restApiUrl: 'http://localhost:5678/rest',
		instanceBaseUrl: 'http://localhost:5678/',
		formBaseUrl: 'http://localhost:5678/form',
		formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
		formTestBaseUrl: 'http://localhost:5678/form-test',
		webhookBaseUrl: 'http://localhost:5678/webhook',
		webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
		mcpBaseUrl: 'http://localhost:5678/mcp',
		mcpTestBaseUrl: 'http://localhost:5678/mcp-test',
		logAiEvent: () => {},
		executeWorkflow: async () => notInHarness('Executing a sub-workflow'),
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		startRunnerTask: async () => notInHarness('The task runner (Code node)'),
	};
}

/**
 * Runs `work` with n8n-core's services set up (once per test file) in the given binary mode,
 * as runWorkflow does; for harnesses that drive a node without WorkflowExecute (polls).
 */
export async function withEngine<T>(binaryMode: BinaryMode, work: () => Promise<T>): Promise<T> {
	const env = await useEnvironment();
	await enterBinaryMode(env, binaryMode);
	try {
		return await work();
	} finally {
		env.activeRuns--;
	}
}

let runCounter = 0;

export async function runWorkflow(options: EngineRunOptions): Promise<EngineRunResult> {
	checkNodeTypes(options);
	const env = await useEnvironment();
	const binaryMode = options.binaryMode ?? 'filesystem';
	await enterBinaryMode(env, binaryMode);
	try {
		return await execute(options, env);
	} finally {
		env.activeRuns--;
	}
}

async function execute(options: EngineRunOptions, env: EngineEnvironment): Promise<EngineRunResult> {
	runCounter++;
	const executionId = `${process.pid}-${runCounter}`;
	const workflowId = `engine-test-${runCounter}`;
	const mode = options.executionMode ?? 'manual';
	const settings: IWorkflowSettings = { executionOrder: 'v1', ...options.settings };

	// Copies, because n8n writes parameter defaults into the nodes it is given.
	const nodes: INode[] = options.nodes.map((node, index) => ({
		...structuredClone(node),
		id: node.id ?? `node-${index}`,
		position: node.position ?? [index * 200, 0],
	}));
	const connections = structuredClone(options.connections);
	const workflow = new Workflow({
		id: workflowId,
		name: 'Engine test',
		nodes,
		connections,
		active: false,
		nodeTypes: new MapNodeTypes(options.nodeTypes),
		settings,
	});
	const startNode = pickStartNode(nodes, connections, options.startNode);

	const now = new Date();
	const workflowData: IWorkflowBase = {
		id: workflowId,
		name: workflow.name ?? 'Engine test',
		active: false,
		isArchived: false,
		activeVersionId: null,
		createdAt: now,
		updatedAt: now,
		nodes,
		connections,
		settings,
	};
	const hooks = new ExecutionLifecycleHooks(mode, executionId, workflowData);
	const executionOrder: string[] = [];
	hooks.addHandler('nodeExecuteAfter', (nodeName) => {
		executionOrder.push(nodeName);
	});
	const onChunk = options.onChunk;
	if (onChunk) hooks.addHandler('sendChunk', (chunk) => onChunk(chunk as unknown as StreamChunk));

	const additionalData = engineAdditionalData({
		hooks,
		executionId,
		workflowId,
		streaming: onChunk !== undefined,
		credentialTypes: options.credentialTypes,
		credentials: options.credentials,
	});

	const execution = new WorkflowExecute(additionalData, mode).run({ workflow, startNode });

	const { signal } = options;
	const stop = () => execution.cancel();
	if (signal?.aborted) stop();
	else signal?.addEventListener('abort', stop, { once: true });
	let run: IRun;
	try {
		run = await execution;
	} finally {
		signal?.removeEventListener('abort', stop);
	}

	return makeResult(run, executionOrder, env);
}

function lastTask(run: IRun, nodeName: string): ITaskData | undefined {
	return run.data.resultData.runData[nodeName]?.at(-1);
}

function makeResult(run: IRun, executionOrder: string[], env: EngineEnvironment): EngineRunResult {
	const { runData, error } = run.data.resultData;
	const binaryOf = (item: INodeExecutionData, property: string) => {
		const binary = item.binary?.[property];
		if (!binary) {
			throw new UnexpectedError(`Item has no binary "${property}" (has: ${Object.keys(item.binary ?? {}).join(', ') || 'none'})`);
		}
		return binary;
	};
	return {
		run,
		status: run.status,
		runData,
		error,
		executionOrder,
		outputOf(nodeName, outputIndex = 0) {
			const task = lastTask(run, nodeName);
			if (!task) {
				const ran = Object.keys(runData).join(', ') || 'none';
				const why = error ? `; the execution failed: ${error.message}` : '';
				throw new UnexpectedError(`Node "${nodeName}" did not run (ran: ${ran})${why}`);
			}
			if (task.error && !task.data) {
				throw new UnexpectedError(`Node "${nodeName}" failed: ${task.error.message}`, { cause: task.error });
			}
			return task.data?.main?.[outputIndex] ?? [];
		},
		errorOf(nodeName) {
			return lastTask(run, nodeName)?.error;
		},
		async binaryBuffer(item, property = 'data') {
			return await env.binaryDataService.getAsBuffer(binaryOf(item, property));
		},
		binaryFilePath(item, property = 'data') {
			const { id } = binaryOf(item, property);
			return id ? env.binaryDataService.getPath(id) : undefined;
		},
	};
}
