import type { IBinaryKeyData, IDataObject } from 'n8n-workflow';

/**
 * Shapes of Dify's Service API for workflow apps (Dify 1.11 to 1.16), as the node reads and
 * writes them. Fields Dify may add later are tolerated: every object type is open.
 */

export type DifyWorkflowStatus =
	| 'running'
	| 'succeeded'
	| 'failed'
	| 'stopped'
	| 'partial-succeeded'
	| 'paused'
	| 'scheduled';

export type DifyResponseMode = 'streaming' | 'blocking';

/** Dify's body for every non-streamed error. */
export interface DifyErrorBody {
	code: string;
	message: string;
	status: number;
}

/** A file as Dify puts it into a run's outputs (`url` is a signed, time-limited link). */
export interface DifyOutputFile {
	dify_model_identity?: '__dify__file__';
	type?: DifyFileType;
	transfer_method?: string;
	filename?: string;
	extension?: string;
	mime_type?: string;
	size?: number;
	url: string;
	[key: string]: unknown;
}

/** A file reference sent as an input value or in `files`. */
export type DifyFileInput =
	| { type: DifyFileType; transfer_method: 'local_file'; upload_file_id: string }
	| { type: DifyFileType; transfer_method: 'remote_url'; url: string };

export type DifyFileType = 'document' | 'image' | 'audio' | 'video' | 'custom';

/** Body of `POST /workflows/run` and `POST /workflows/{workflow_id}/run`. */
export interface DifyRunRequest {
	inputs: Record<string, unknown>;
	user: string;
	response_mode: DifyResponseMode;
	files?: DifyFileInput[];
	/** 1.15+: groups runs in observability tools; 1 to 200 characters. */
	trace_session_id?: string;
}

/** `data` of a blocking run response and of `workflow_finished`. */
export interface DifyRunData {
	id: string;
	workflow_id: string;
	status: DifyWorkflowStatus;
	outputs: Record<string, unknown> | null;
	error: string | null;
	elapsed_time: number;
	total_tokens: number;
	total_steps: number;
	created_at: number;
	finished_at: number | null;
	/** 1.14+, a paused blocking run: the Human Input nodes it waits at, and why. */
	paused_nodes?: string[];
	reasons?: DifyPauseReason[];
	[key: string]: unknown;
}

/**
 * Why a run paused: a Human Input form (1.13+). `form_token` is the form's WebApp token (1.14+ for
 * Service-API runs), or null when only e-mail or the console can answer it.
 */
export interface DifyPauseReason {
	TYPE?: string;
	form_id?: string;
	form_token?: string | null;
	node_id?: string;
	node_title?: string;
	form_content?: string;
	inputs?: DifyHumanInputField[];
	actions?: DifyHumanInputAction[];
	expiration_time?: number;
	approval_channels?: string[];
	[key: string]: unknown;
}

/**
 * One input of a Human Input form (dify-api.md §12.3): `paragraph`, `select`, `file`, `file-list`
 * (1.15+), or 1.14's `text_input`.
 */
export interface DifyHumanInputField {
	output_variable_name: string;
	type: string;
	/** `null` or `{type: "constant" | "variable", selector, value}`. */
	default?: { type?: string; selector?: string[]; value?: unknown } | null;
	/** select: the options, resolved at the time of the request. */
	option_source?: { type?: string; selector?: string[]; value?: unknown };
	allowed_file_types?: string[];
	allowed_file_extensions?: string[];
	allowed_file_upload_methods?: string[];
	/** file-list: how many files at most. */
	number_limits?: number;
	[key: string]: unknown;
}

/** A button of a Human Input form: `id` is what a submit sends as `action`. */
export interface DifyHumanInputAction {
	id: string;
	title: string;
	button_style?: string;
}

/**
 * One field of n8n's form-field JSON ("Define Form: Using JSON" of the Form and Send and Wait
 * nodes), in the keys both n8n 1.x and 2.x accept.
 */
export interface N8nFormField {
	fieldLabel?: string;
	fieldType: 'text' | 'textarea' | 'dropdown' | 'radio' | 'file' | 'html';
	requiredField?: boolean;
	defaultValue?: string;
	placeholder?: string;
	fieldOptions?: { values: Array<{ option: string }> };
	multipleFiles?: boolean;
	acceptFileTypes?: string;
	html?: string;
}

/** `GET /form/human_input/{form_token}` (1.14+). */
export interface DifyHumanInputForm {
	form_content: string;
	inputs: DifyHumanInputField[];
	resolved_default_values: Record<string, string>;
	user_actions: DifyHumanInputAction[];
	expiration_time: number;
	[key: string]: unknown;
}

/** Body of `POST /form/human_input/{form_token}` (1.14+). */
export interface DifyFormSubmitRequest {
	inputs: Record<string, unknown>;
	action: string;
	user: string;
}

/** Blocking response of `POST /workflows/run`. */
export interface DifyBlockingRunResponse {
	task_id: string;
	workflow_run_id: string;
	data: DifyRunData;
}

/** What a run operation returns in `final` output mode, whichever the response mode. */
export interface DifyRunResult {
	workflow_run_id: string | null;
	task_id: string | null;
	workflow_id: string | null;
	status: DifyWorkflowStatus;
	outputs: Record<string, unknown>;
	error: string | null;
	elapsed_time: number | null;
	total_tokens: number | null;
	total_steps: number | null;
	created_at: number | null;
	finished_at: number | null;
	/** A paused run: the nodes it waits at, and the forms that can resume it. */
	paused_nodes?: string[];
	human_input_forms?: DifyPauseReason[];
}

/**
 * `GET /workflows/run/{workflow_run_id}`. `inputs` is a JSON string in every version. Dify 1.11
 * and older answer an unknown ID with every field null, hence the nullable `id`.
 */
export interface DifyRunDetail {
	id: string | null;
	workflow_id: string;
	status: DifyWorkflowStatus;
	inputs: string | Record<string, unknown> | null;
	outputs: string | Record<string, unknown> | null;
	error: string | null;
	total_steps: number;
	total_tokens: number;
	created_at: number;
	finished_at: number | null;
	elapsed_time: number;
	[key: string]: unknown;
}

/** `POST /workflows/tasks/{task_id}/stop`. */
export interface DifyStopResponse {
	result: 'success';
}

/** `POST /files/upload` (201). 1.13 adds null keys after `source_url`. */
export interface DifyUploadedFile {
	id: string;
	name: string;
	size: number;
	extension: string;
	mime_type: string;
	created_by: string;
	created_at: number;
	preview_url?: string | null;
	source_url?: string | null;
	[key: string]: unknown;
}

/** One row of `GET /workflows/logs`. */
export interface DifyLogEntry {
	id: string;
	workflow_run: {
		id: string;
		version: string;
		status: DifyWorkflowStatus;
		triggered_from?: string;
		error: string | null;
		elapsed_time: number;
		total_tokens: number;
		total_steps: number;
		created_at: number;
		finished_at: number | null;
		exceptions_count?: number;
	};
	created_from: string;
	created_by_role: string;
	created_by_account: { id: string; name: string; email: string } | null;
	created_by_end_user: {
		id: string;
		type: string;
		is_anonymous: boolean;
		session_id: string;
	} | null;
	created_at: number;
	[key: string]: unknown;
}

export interface DifyLogPage {
	page: number;
	limit: number;
	total: number;
	has_more: boolean;
	data: DifyLogEntry[];
}

/** Query of `GET /workflows/logs`; Dify's own parameter names. */
export interface DifyLogQuery {
	keyword?: string;
	status?: 'succeeded' | 'failed' | 'stopped';
	created_at__before?: string;
	created_at__after?: string;
	created_by_end_user_session_id?: string;
	created_by_account?: string;
	page?: number;
	limit?: number;
}

/** `GET /` of the Service API: its index, which names the server's release. No key needed. */
export interface DifyServerIndex {
	welcome?: string;
	api_version?: string;
	/** The release, e.g. `1.16.1`. */
	server_version?: string;
}

/** `GET /info`. */
export interface DifyAppInfo {
	name: string;
	description: string;
	tags: string[];
	mode: string;
	author_name?: string;
	[key: string]: unknown;
}

/** The input variable types a Start node can declare. */
export type DifyInputType =
	| 'text-input'
	| 'paragraph'
	| 'select'
	| 'number'
	| 'checkbox'
	| 'json_object'
	| 'file'
	| 'file-list'
	| 'external_data_tool';

export interface DifyInputVariable {
	variable: string;
	label: string;
	type: DifyInputType;
	required: boolean;
	default?: unknown;
	max_length?: number;
	options?: string[];
	allowed_file_types?: DifyFileType[];
	allowed_file_extensions?: string[];
	allowed_file_upload_methods?: Array<'local_file' | 'remote_url'>;
	[key: string]: unknown;
}

/** Each form entry wraps its variable under its type: `{"text-input": {...}}`. */
export type DifyUserInputFormEntry = Partial<Record<DifyInputType, DifyInputVariable>>;

/** `GET /parameters`. */
export interface DifyAppParameters {
	user_input_form: DifyUserInputFormEntry[];
	file_upload?: Record<string, unknown>;
	system_parameters?: Record<string, number>;
	[key: string]: unknown;
}

/** `GET /site`. */
export interface DifyAppSite {
	title: string;
	icon_type: string | null;
	icon: string | null;
	icon_background: string | null;
	icon_url: string | null;
	description: string | null;
	default_language: string;
	[key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Streaming events (SSE). Every JSON frame is `data: {...}`; the type is the `event` key.

interface DifyEventEnvelope<E extends string, D> {
	event: E;
	workflow_run_id: string | null;
	task_id: string;
	data: D;
}

export interface DifyNodeEventData {
	id: string;
	node_id: string;
	node_type: string;
	title: string;
	index: number;
	created_at: number;
	iteration_id?: string | null;
	loop_id?: string | null;
	[key: string]: unknown;
}

export interface DifyNodeFinishedData extends DifyNodeEventData {
	status: 'succeeded' | 'failed' | 'exception' | 'stopped' | 'retry' | string;
	outputs: Record<string, unknown> | null;
	error: string | null;
	elapsed_time: number;
	finished_at: number;
}

export interface DifyWorkflowStartedData {
	id: string;
	workflow_id: string;
	inputs: Record<string, unknown>;
	created_at: number;
	reason?: 'initial' | 'resumption';
	[key: string]: unknown;
}

export interface DifyWorkflowPausedData {
	workflow_run_id: string;
	paused_nodes: string[];
	outputs: Record<string, unknown>;
	reasons: DifyPauseReason[];
	status: 'paused';
	created_at: number;
	elapsed_time: number;
	total_tokens: number;
	total_steps: number;
	[key: string]: unknown;
}

export interface DifyTextChunkData {
	text: string;
	from_variable_selector: string[] | null;
	[key: string]: unknown;
}

/**
 * The `error` event: no `data`, no `task_id`; fields at the top level. A pre-run error of some
 * post-1.13.3 builds carries neither ids nor `code`.
 */
export interface DifyStreamErrorEvent {
	event: 'error';
	workflow_run_id?: string | null;
	code?: string;
	status?: number;
	message: string;
}

/** TTS frames carry `audio` at the top level instead of `data`. */
export interface DifyTtsEvent {
	event: 'tts_message' | 'tts_message_end';
	workflow_run_id: string | null;
	task_id: string;
	audio: string;
}

export type DifyWorkflowStartedEvent = DifyEventEnvelope<'workflow_started', DifyWorkflowStartedData>;
export type DifyWorkflowFinishedEvent = DifyEventEnvelope<'workflow_finished', DifyRunData>;
export type DifyWorkflowPausedEvent = DifyEventEnvelope<'workflow_paused', DifyWorkflowPausedData>;
export type DifyTextChunkEvent = DifyEventEnvelope<'text_chunk', DifyTextChunkData>;

/** Event names that share the envelope and whose `data` the node passes through untouched. */
export type DifyPassThroughEventName =
	| 'node_started'
	| 'node_finished'
	| 'node_retry'
	| 'iteration_started'
	| 'iteration_next'
	| 'iteration_completed'
	| 'loop_started'
	| 'loop_next'
	| 'loop_completed'
	| 'text_replace'
	| 'agent_log'
	| 'human_input_required'
	| 'human_input_form_filled'
	| 'human_input_form_timeout'
	| 'parallel_branch_started'
	| 'parallel_branch_finished'
	| 'reasoning_chunk';

export type DifyPassThroughEvent = DifyEventEnvelope<DifyPassThroughEventName, Record<string, unknown>>;

/** An event name this node does not know; passed through in `events` output. */
export interface DifyUnknownEvent {
	event: string;
	workflow_run_id?: string | null;
	task_id?: string;
	data?: unknown;
	[key: string]: unknown;
}

export type DifyStreamEvent =
	| DifyWorkflowStartedEvent
	| DifyWorkflowFinishedEvent
	| DifyWorkflowPausedEvent
	| DifyTextChunkEvent
	| DifyStreamErrorEvent
	| DifyTtsEvent
	| DifyPassThroughEvent;

/** What an operation gives for one input item; the router adds `pairedItem`. */
export interface OperationItem {
	json: IDataObject;
	binary?: IBinaryKeyData;
}

/** Events after which Dify sends nothing useful: the node stops reading there. */
export const TERMINAL_EVENTS: ReadonlySet<string> = new Set([
	'workflow_finished',
	'workflow_paused',
	'error',
]);
