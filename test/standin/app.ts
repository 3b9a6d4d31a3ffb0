import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';

import type {
	DifyAppInfo,
	DifyAppParameters,
	DifyAppSite,
	DifyInputVariable,
	DifyLogEntry,
	DifyLogPage,
	DifyResponseMode,
	DifyRunData,
	DifyUserInputFormEntry,
	DifyWorkflowPausedData,
	DifyWorkflowStatus,
} from '../../nodes/DifyWorkflow/types';
import { pythonJsonDumps, pythonRepr, pythonTypeName } from './json-python';
import type { MultipartSummary } from './multipart';

/**
 * The one Dify workflow app the stand-in serves: its settings, its published versions, and what
 * it remembers (runs, log rows, uploaded files). Ids are fixed so that tests can name them.
 */

/** The Dify releases the stand-in can play; 1.16 stands for 1.14 – 1.16 where they agree. */
export type DifyVersion = '1.11' | '1.13' | '1.16';

/** Whether the version has the 1.14+ Service API: re-attach, Human Input forms, paused blocking bodies. */
export function hasRunEvents(version: DifyVersion): boolean {
	return version === '1.16';
}

export const APP_ID = '3a9b8c7d-6e5f-4a3b-9c1d-0e9f8a7b6c5d';
export const TENANT_ID = '8c0f3f3a-6b1d-4e2f-9a3b-5c7d9e1f2a4b';
export const CURRENT_WORKFLOW_ID = '5e0a4b8c-2d1f-4a6b-8c3e-9f0a1b2c3d4e';
export const OLDER_WORKFLOW_ID = '1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d';
export const OWNER_ACCOUNT = { id: 'c4d5e6f7-0a1b-4c2d-8e3f-4a5b6c7d8e9f', name: 'Owner', email: 'owner@example.com' };
export const DEFAULT_USER = 'DEFAULT-USER';

/** Published versions: `version` is the timestamp Dify stores as the workflow's version string. */
export const PUBLISHED_WORKFLOWS: ReadonlyArray<{ id: string; version: string }> = [
	{ id: CURRENT_WORKFLOW_ID, version: '2026-06-01 12:17:09.771832' },
	{ id: OLDER_WORKFLOW_ID, version: '2026-05-18 09:02:44.120518' },
];

export const SCENARIO_NAMES = [
	'llm',
	'fail',
	'iteration',
	'loop',
	'error',
	'paused',
	'wait-stop',
	'silent',
	'pings',
	'truncated',
	'drop',
	'unknown-event',
	'tts',
	'many',
	'slow',
	'files',
	'cut',
	'reasoning',
	'rate-limit',
	'slow-step',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface UploadLimitsMb {
	image: number;
	video: number;
	audio: number;
	other: number;
}

/** werkzeug's text for an unexpected server error, which Dify passes through. */
export const INTERNAL_ERROR_MESSAGE =
	'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.';

/** A request-level failure, answered with Dify's error body `{code, message, status}`. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly headers: Record<string, string> = {},
	) {
		super(message);
		this.name = 'ApiError';
	}
}

export function invalidParam(message: string): ApiError {
	return new ApiError(400, 'invalid_param', message);
}

/** One pydantic error line group, as Dify shows them in `invalid_param` messages. */
export interface PydanticIssue {
	field: string;
	message: string;
	type: string;
	input: unknown;
}

export function pydanticError(model: string, issues: PydanticIssue[]): ApiError {
	const count = issues.length;
	const lines = [`${count} validation error${count === 1 ? '' : 's'} for ${model}`];
	for (const issue of issues) {
		const input = `input_value=${truncatedRepr(issue.input)}, input_type=${pythonTypeName(issue.input)}`;
		lines.push(issue.field, `  ${issue.message} [type=${issue.type}, ${input}]`);
		lines.push(`    For further information visit https://errors.pydantic.dev/2.11/v/${issue.type}`);
	}
	return invalidParam(lines.join('\n'));
}

/** pydantic shortens long input reprs to their first and last characters. */
function truncatedRepr(value: unknown): string {
	const repr = pythonRepr(value);
	return repr.length > 50 ? `${repr.slice(0, 25)}...${repr.slice(-24)}` : repr;
}

// ---------------------------------------------------------------------------------------------
// Settings

export const APP_INFO: DifyAppInfo = {
	name: 'Stand-in Workflow',
	description: 'Answers a question about a topic. A Dify stand-in for tests and demos.',
	tags: ['demo'],
	mode: 'workflow',
	author_name: 'Dify',
};

export const APP_SITE: DifyAppSite = {
	title: 'Stand-in Workflow',
	chat_color_theme: null,
	chat_color_theme_inverted: false,
	icon_type: 'emoji',
	icon: '🗻',
	icon_background: '#E0F2FE',
	description: APP_INFO.description,
	copyright: null,
	privacy_policy: null,
	custom_disclaimer: '',
	default_language: 'en-US',
	show_workflow_steps: true,
	use_icon_as_answer_icon: false,
	icon_url: null,
};

const FILE_UPLOAD_METHODS: Array<'local_file' | 'remote_url'> = ['local_file', 'remote_url'];

export const USER_INPUT_FORM: DifyUserInputFormEntry[] = [
	{
		'text-input': {
			variable: 'topic',
			label: 'Topic',
			type: 'text-input',
			required: true,
			max_length: 256,
			options: [],
			default: '',
		},
	},
	{
		select: {
			variable: 'scenario',
			label: 'Scenario',
			type: 'select',
			required: false,
			options: [...SCENARIO_NAMES],
			default: 'llm',
		},
	},
	{ number: { variable: 'chunks', label: 'Chunks', type: 'number', required: false, options: [] } },
	{ number: { variable: 'delay_ms', label: 'Delay (ms)', type: 'number', required: false, options: [] } },
	{ number: { variable: 'form_ttl', label: 'Form TTL (s)', type: 'number', required: false, options: [] } },
	{
		select: {
			variable: 'delivery',
			label: 'Form delivery',
			type: 'select',
			required: false,
			options: ['web_app', 'email'],
			default: 'web_app',
		},
	},
	{
		file: {
			variable: 'doc',
			label: 'Document',
			type: 'file',
			required: false,
			allowed_file_types: ['document'],
			allowed_file_extensions: [],
			allowed_file_upload_methods: FILE_UPLOAD_METHODS,
		},
	},
];

function formVariables(): DifyInputVariable[] {
	return USER_INPUT_FORM.flatMap((entry) => Object.values(entry).filter((v): v is DifyInputVariable => v !== undefined));
}

export function appParameters(limits: UploadLimitsMb): DifyAppParameters {
	return {
		opening_statement: null,
		suggested_questions: [],
		suggested_questions_after_answer: { enabled: false },
		speech_to_text: { enabled: false },
		text_to_speech: { enabled: false },
		retriever_resource: { enabled: false },
		annotation_reply: { enabled: false },
		more_like_this: { enabled: false },
		user_input_form: USER_INPUT_FORM,
		sensitive_word_avoidance: { enabled: false, type: '', configs: [] },
		file_upload: {
			image: { enabled: false, number_limits: 3, detail: 'high', transfer_methods: ['remote_url', 'local_file'] },
		},
		system_parameters: {
			image_file_size_limit: limits.image,
			video_file_size_limit: limits.video,
			audio_file_size_limit: limits.audio,
			file_size_limit: limits.other,
			workflow_file_upload_limit: 10,
		},
	};
}

export function publishedWorkflow(id: string): { id: string; version: string } | undefined {
	return PUBLISHED_WORKFLOWS.find((workflow) => workflow.id === id);
}

// ---------------------------------------------------------------------------------------------
// Ids

/** Canonical form of what Python's `uuid.UUID()` accepts (braces, `urn:uuid:`, with or without dashes). */
export function canonicalUuid(text: string): string | undefined {
	const bare = text
		.trim()
		.replace(/^urn:uuid:/i, '')
		.replace(/^\{(.*)\}$/, '$1')
		.replace(/-/g, '');
	if (!/^[0-9a-f]{32}$/i.test(bare)) return undefined;
	const hex = bare.toLowerCase();
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A name-based UUID (SHA-1, version 5 layout): the same name always gives the same id. */
export function stableUuid(name: string): string {
	const hex = createHash('sha1').update(name).digest('hex').slice(0, 32).split('');
	hex[12] = '5';
	hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
	const h = hex.join('');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Dify finds-or-creates one end user per `user` string; a stable id models that. */
export function endUserId(sessionId: string): string {
	return stableUuid(`end-user:${sessionId}`);
}

export function nowSeconds(): number {
	return Math.floor(Date.now() / 1000);
}

// ---------------------------------------------------------------------------------------------
// Files

const DOCUMENT_EXTENSIONS = new Set([
	'txt', 'md', 'markdown', 'mdx', 'pdf', 'html', 'xlsx', 'xls', 'vtt', 'properties',
	'doc', 'docx', 'csv', 'eml', 'msg', 'pptx', 'ppt', 'xml', 'epub',
]);
const IMAGE_EXTENSIONS = new Set(['jpg', 'jpeg', 'png', 'gif', 'webp', 'svg']);
const VIDEO_EXTENSIONS = new Set(['mp4', 'mov', 'mpeg', 'webm']);
const AUDIO_EXTENSIONS = new Set(['mp3', 'm4a', 'wav', 'webm', 'amr', 'mpga']);
/** Dify's blacklist is empty by default; operators commonly fill it with executables like these. */
const BLOCKED_EXTENSIONS = new Set(['exe', 'bat', 'cmd', 'com', 'scr', 'vbs', 'ps1', 'msi', 'dll']);

const MIME_BY_EXTENSION: Record<string, string> = {
	pdf: 'application/pdf',
	txt: 'text/plain',
	md: 'text/markdown',
	html: 'text/html',
	csv: 'text/csv',
	json: 'application/json',
	docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
	png: 'image/png',
	jpg: 'image/jpeg',
	jpeg: 'image/jpeg',
	mp3: 'audio/mpeg',
	mp4: 'video/mp4',
};

function extensionOf(filename: string): string {
	const dot = filename.lastIndexOf('.');
	return dot > 0 ? filename.slice(dot + 1).toLowerCase() : '';
}

type FileType = 'document' | 'image' | 'audio' | 'video' | 'custom';

function fileTypeOf(extension: string): FileType {
	if (IMAGE_EXTENSIONS.has(extension)) return 'image';
	if (DOCUMENT_EXTENSIONS.has(extension)) return 'document';
	if (VIDEO_EXTENSIONS.has(extension)) return 'video';
	if (AUDIO_EXTENSIONS.has(extension)) return 'audio';
	return 'custom';
}

/** Dify picks the size limit by extension: image, then video, then audio, else the general one. */
function sizeLimitBytes(extension: string, limits: UploadLimitsMb): number {
	const megabytes = IMAGE_EXTENSIONS.has(extension)
		? limits.image
		: VIDEO_EXTENSIONS.has(extension)
			? limits.video
			: AUDIO_EXTENSIONS.has(extension)
				? limits.audio
				: limits.other;
	return megabytes * 1024 * 1024;
}

const SIGNING_KEY = 'dify-standin-file-signing';

/** The shape of Dify's signed, time-limited preview links (not verified by anyone here). */
function signedPreviewUrl(origin: string, fileId: string): string {
	const timestamp = String(nowSeconds());
	const nonce = randomBytes(16).toString('hex');
	const sign = createHmac('sha256', SIGNING_KEY)
		.update(`file-preview|${fileId}|${timestamp}|${nonce}`)
		.digest('base64url');
	return `${origin}/files/${fileId}/file-preview?timestamp=${timestamp}&nonce=${nonce}&sign=${sign}`;
}

export interface UploadedFile {
	id: string;
	name: string;
	size: number;
	extension: string;
	mimeType: string;
	createdBy: string;
	createdAt: number;
	sha256: string;
}

/** Uploaded files: metadata only, the bytes were hashed and dropped on arrival. */
export class UploadStore {
	private readonly files = new Map<string, UploadedFile>();

	get(id: string): UploadedFile | undefined {
		return this.files.get(id);
	}

	clear(): void {
		this.files.clear();
	}

	/** Applies Dify's upload checks in its order and answers the 201 body. */
	accept(summary: MultipartSummary, limits: UploadLimitsMb, version: DifyVersion, origin: string): Record<string, unknown> {
		const part = summary.files.find((file) => file.field === 'file');
		if (!part) throw new ApiError(400, 'no_file_uploaded', 'Please upload your file.');
		if (!part.contentType) throw new ApiError(415, 'unsupported_file_type', 'File type not allowed.');
		if (summary.files.length > 1) throw new ApiError(400, 'too_many_files', 'Only one file is allowed.');
		if (!part.filename) throw new ApiError(400, 'filename_not_exists_error', 'The specified filename does not exist.');

		let name = part.filename;
		const extension = extensionOf(name);
		if (/[/\\]/.test(name)) throw invalidParam('Filename contains invalid characters');
		if (BLOCKED_EXTENSIONS.has(extension)) {
			throw invalidParam(`File extension '.${extension}' is not allowed for security reasons`);
		}
		if (name.length > 200) name = `${name.split('.')[0].slice(0, 200)}.${extension}`;
		// 1.13 really answers with its unformatted message template.
		if (part.size > sizeLimitBytes(extension, limits)) throw new ApiError(413, 'file_too_large', 'File size exceeded. {message}');

		const user = summary.fields.user || DEFAULT_USER;
		const file: UploadedFile = {
			id: randomUUID(),
			name,
			size: part.size,
			extension,
			mimeType: part.contentType.split(';')[0].trim().toLowerCase(),
			createdBy: endUserId(user),
			createdAt: nowSeconds(),
			sha256: part.sha256,
		};
		this.files.set(file.id, file);

		const body: Record<string, unknown> = {
			id: file.id,
			name: file.name,
			size: file.size,
			extension: file.extension,
			mime_type: file.mimeType,
			created_by: file.createdBy,
			created_at: file.createdAt,
			preview_url: null,
			source_url: signedPreviewUrl(origin, file.id),
		};
		if (version === '1.11') return body;
		// 1.15+ names a plugin's file reference second; null for files uploaded here.
		if (version === '1.16') {
			const { id, ...rest } = body;
			return { id, reference: null, ...rest, original_url: null, user_id: null, tenant_id: TENANT_ID, conversation_id: null, file_key: null };
		}
		return { ...body, original_url: null, user_id: null, tenant_id: TENANT_ID, conversation_id: null, file_key: null };
	}
}

/** The file dict Dify puts into variables once a file input is resolved. */
function resolvedFile(
	source: { kind: 'upload'; file: UploadedFile } | { kind: 'url'; url: string },
	type: FileType,
	origin: string,
): Record<string, unknown> {
	if (source.kind === 'upload') {
		const { file } = source;
		return {
			dify_model_identity: '__dify__file__',
			id: null,
			tenant_id: TENANT_ID,
			type,
			transfer_method: 'local_file',
			remote_url: null,
			related_id: file.id,
			filename: file.name,
			extension: `.${file.extension}`,
			mime_type: file.mimeType,
			size: file.size,
			url: signedPreviewUrl(origin, file.id),
		};
	}
	const filename = decodeURIComponent(new URL(source.url).pathname.split('/').pop() ?? '') || 'file';
	const extension = extensionOf(filename);
	return {
		dify_model_identity: '__dify__file__',
		id: null,
		tenant_id: TENANT_ID,
		type,
		transfer_method: 'remote_url',
		remote_url: source.url,
		related_id: null,
		filename,
		extension: extension ? `.${extension}` : '',
		mime_type: MIME_BY_EXTENSION[extension] ?? 'application/octet-stream',
		size: -1,
		url: source.url,
	};
}

// ---------------------------------------------------------------------------------------------
// Input validation (dify-api.md §3.4 and §6)

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveFileInput(
	variable: DifyInputVariable,
	mapping: unknown,
	uploads: UploadStore,
	origin: string,
): Record<string, unknown> {
	if (!isPlainObject(mapping)) throw invalidParam(`${variable.variable} in input form must be a file`);
	const method = mapping.transfer_method;
	if (method === undefined || method === null) throw invalidParam('transfer_method is required in file mapping');
	if (method !== 'local_file' && method !== 'remote_url') {
		throw invalidParam(`${pythonRepr(method)} is not a valid FileTransferMethod`);
	}
	const declared = mapping.type ?? 'custom';
	if (!['document', 'image', 'audio', 'video', 'custom'].includes(declared as string)) {
		throw invalidParam(`${pythonRepr(declared)} is not a valid FileType`);
	}

	let source: { kind: 'upload'; file: UploadedFile } | { kind: 'url'; url: string };
	let filename: string;
	if (method === 'local_file') {
		const id = mapping.upload_file_id;
		const canonical = typeof id === 'string' ? canonicalUuid(id) : undefined;
		if (!canonical) throw invalidParam('Invalid upload file id format');
		const file = uploads.get(canonical);
		if (!file) throw invalidParam('Invalid upload file');
		source = { kind: 'upload', file };
		filename = file.name;
	} else {
		const url = mapping.url ?? mapping.remote_url;
		if (typeof url !== 'string' || !url.startsWith('http') || !URL.canParse(url)) throw invalidParam('Invalid file url');
		source = { kind: 'url', url };
		filename = new URL(url).pathname.split('/').pop() ?? '';
	}

	const detected = fileTypeOf(extensionOf(filename));
	if (declared !== detected) {
		throw invalidParam('Detected file type does not match the specified type. Please verify the file.');
	}
	const allowedTypes: string[] = variable.allowed_file_types ?? [];
	const allowedExtensions = (variable.allowed_file_extensions ?? []).map((ext) => ext.replace(/^\./, '').toLowerCase());
	const typeAllowed =
		allowedTypes.includes(detected) || (allowedTypes.includes('custom') && allowedExtensions.includes(extensionOf(filename)));
	const methodAllowed = (variable.allowed_file_upload_methods ?? FILE_UPLOAD_METHODS).includes(method);
	if (!typeAllowed || !methodAllowed) throw invalidParam(`File validation failed for file: ${filename}`);
	return resolvedFile(source, detected, origin);
}

/** Python's int()/float() on a string, as Dify coerces numeric text. */
function parseNumberText(variable: string, text: string): number | null {
	if (text === '') return null;
	const trimmed = text.trim();
	const pattern = trimmed.includes('.') ? /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i : /^[+-]?\d+$/;
	if (!pattern.test(trimmed)) throw invalidParam(`${variable} in input form must be a valid number`);
	return Number(trimmed);
}

function validateVariable(
	variable: DifyInputVariable,
	raw: unknown,
	uploads: UploadStore,
	origin: string,
): unknown {
	const value = typeof raw === 'string' ? raw.replace(/\u0000/g, '') : raw;
	const name = variable.variable;
	if (value === undefined || value === null) {
		if (variable.required) throw invalidParam(`${name} is required in input form`);
		return variable.default ?? null;
	}
	switch (variable.type) {
		case 'text-input':
		case 'paragraph':
		case 'select': {
			if (typeof value !== 'string') throw invalidParam(`(type '${variable.type}') ${name} in input form must be a string`);
			const options = variable.options ?? [];
			if (variable.type === 'select' && !options.includes(value)) {
				throw invalidParam(`${name} in input form must be one of the following: ${pythonRepr(options)}`);
			}
			if (variable.max_length !== undefined && [...value].length > variable.max_length) {
				throw invalidParam(`${name} in input form must be less than ${variable.max_length} characters`);
			}
			return value;
		}
		case 'number':
			if (typeof value === 'number') return value;
			if (typeof value === 'string') return parseNumberText(name, value);
			// 1.13 raises a TypeError here, which escapes as a plain 500.
			throw new ApiError(500, 'internal_server_error', INTERNAL_ERROR_MESSAGE);
		case 'file':
			return resolveFileInput(variable, value, uploads, origin);
		default:
			return value;
	}
}

/**
 * The inputs a run starts with: every form variable, validated and coerced, in form order;
 * keys the form does not declare are dropped, as Dify does.
 */
export function validateRunInputs(
	raw: Record<string, unknown>,
	uploads: UploadStore,
	origin: string,
): Record<string, unknown> {
	const inputs: Record<string, unknown> = {};
	for (const variable of formVariables()) {
		inputs[variable.variable] = validateVariable(variable, raw[variable.variable], uploads, origin);
	}
	return inputs;
}

// ---------------------------------------------------------------------------------------------
// Runs

/** Which Review form the `paused` scenario opens (StandinOptions.reviewForm). */
export type ReviewFormKind = 'simple' | 'full';

export interface StoredRun {
	id: string;
	taskId: string;
	workflowId: string;
	scenario: ScenarioName;
	responseMode: DifyResponseMode;
	user: string;
	endUserId: string;
	/** What the workflow saw: the validated inputs plus the `sys.*` variables. */
	inputs: Record<string, unknown>;
	status: DifyWorkflowStatus;
	outputs: Record<string, unknown> | null;
	error: string | null;
	elapsedTime: number;
	totalTokens: number;
	totalSteps: number;
	exceptionsCount: number;
	createdAt: number;
	finishedAt: number | null;
	/** Wall-clock milliseconds at creation, for elapsed times. */
	startedAtMs: number;
	stopRequested: boolean;
	/** Node executions so far, by execution id, for the events endpoint's state snapshot. */
	nodeEvents: Map<string, { started: Record<string, unknown>; finished?: Record<string, unknown> }>;
	/** While paused: the human_input_required data of its open forms, and the workflow_paused data. */
	openForms: Array<Record<string, unknown>>;
	reviewForm?: ReviewFormKind;
	pausedData: DifyWorkflowPausedData | null;
	/** Started by a workspace account (installed app), not an end user: no end user may re-attach to it. */
	byAccount?: boolean;
}

/** Receives each event a watched run publishes: its JSON and its name ('' when unknown). */
export type RunWatcher = (json: string, name: string) => void;

export interface NewRun {
	workflowId: string;
	scenario: ScenarioName;
	responseMode: DifyResponseMode;
	user: string;
	inputs: Record<string, unknown>;
	/** 1.15+ reports a pre-run failure as a run whose task id is its run id. */
	taskIdIsRunId?: boolean;
}

export function elapsedSince(startedAtMs: number): number {
	return Math.round(Date.now() - startedAtMs) / 1000;
}

/** Runs made through the API; their state follows the events they emitted. */
export class RunStore {
	readonly runs = new Map<string, StoredRun>();
	private readonly byTask = new Map<string, StoredRun>();
	private readonly stopWatchers = new Map<string, Set<() => void>>();
	private readonly watchers = new Map<string, Set<RunWatcher>>();
	private lifetimeController = new AbortController();
	/** Called for every form a run opens (the server keeps the forms). */
	onForm?: (run: StoredRun, form: Record<string, unknown>) => void;

	/** Aborts when the store is cleared or the stand-in closes: background runs end with it. */
	get lifetime(): AbortSignal {
		return this.lifetimeController.signal;
	}

	/**
	 * Subscribes to the events a run publishes from now on, as Dify's Redis relay does: nothing
	 * that was published before is replayed.
	 */
	watch(runId: string, watcher: RunWatcher): () => void {
		let set = this.watchers.get(runId);
		if (!set) {
			set = new Set();
			this.watchers.set(runId, set);
		}
		set.add(watcher);
		return () => {
			set.delete(watcher);
			if (set.size === 0 && this.watchers.get(runId) === set) this.watchers.delete(runId);
		};
	}

	watched(runId: string): boolean {
		return this.watchers.has(runId);
	}

	/** Hands one serialised event of a run to its watchers. */
	publish(runId: string, json: string, name: string): void {
		const set = this.watchers.get(runId);
		if (!set) return;
		for (const watcher of [...set]) watcher(json, name);
	}

	create(fields: NewRun): StoredRun {
		const id = randomUUID();
		const run: StoredRun = {
			id,
			taskId: fields.taskIdIsRunId ? id : randomUUID(),
			workflowId: fields.workflowId,
			scenario: fields.scenario,
			responseMode: fields.responseMode,
			user: fields.user,
			endUserId: endUserId(fields.user),
			inputs: {
				...fields.inputs,
				'sys.files': [],
				'sys.user_id': fields.user,
				'sys.app_id': APP_ID,
				'sys.workflow_id': fields.workflowId,
				'sys.workflow_run_id': id,
			},
			status: 'running',
			outputs: null,
			error: null,
			elapsedTime: 0,
			totalTokens: 0,
			totalSteps: 0,
			exceptionsCount: 0,
			createdAt: nowSeconds(),
			finishedAt: null,
			startedAtMs: Date.now(),
			stopRequested: false,
			nodeEvents: new Map(),
			openForms: [],
			pausedData: null,
		};
		this.runs.set(run.id, run);
		this.byTask.set(run.taskId, run);
		return run;
	}

	get(id: string): StoredRun | undefined {
		return this.runs.get(id);
	}

	/** Dify's stop endpoint accepts any task id; only a live one has an effect. */
	requestStop(taskId: string): void {
		const run = this.byTask.get(taskId);
		if (!run) return;
		run.stopRequested = true;
		for (const wake of this.stopWatchers.get(run.id) ?? []) wake();
	}

	onStop(runId: string, listener: () => void): () => void {
		let watchers = this.stopWatchers.get(runId);
		if (!watchers) {
			watchers = new Set();
			this.stopWatchers.set(runId, watchers);
		}
		watchers.add(listener);
		return () => {
			watchers.delete(listener);
			if (watchers.size === 0) this.stopWatchers.delete(runId);
		};
	}

	/** Records what an emitted event says about the run, so run detail and logs agree with the stream. */
	apply(run: StoredRun, event: Record<string, unknown>): void {
		const name = event.event;
		if (name === 'node_started' || name === 'node_finished') {
			const data = event.data as Record<string, unknown>;
			const id = String(data.id);
			const known = run.nodeEvents.get(id);
			if (name === 'node_started') run.nodeEvents.set(id, { started: data, finished: known?.finished });
			else if (known) known.finished = data;
			return;
		}
		if (name === 'human_input_required') {
			const data = event.data as Record<string, unknown>;
			run.openForms.push(data);
			this.onForm?.(run, data);
			return;
		}
		if (name === 'workflow_started') {
			if ((event.data as { reason?: string }).reason === 'resumption') {
				run.status = 'running';
				run.openForms = [];
				run.pausedData = null;
			}
			return;
		}
		if (event.event === 'workflow_finished') {
			const data = event.data as DifyRunData;
			run.status = data.status;
			run.outputs = data.outputs;
			run.error = data.error;
			run.elapsedTime = data.elapsed_time;
			run.totalTokens = data.total_tokens;
			run.totalSteps = data.total_steps;
			run.finishedAt = data.finished_at;
			run.exceptionsCount = typeof data.exceptions_count === 'number' ? data.exceptions_count : 0;
		} else if (event.event === 'workflow_paused') {
			const data = event.data as DifyWorkflowPausedData;
			run.status = 'paused';
			run.pausedData = data;
			run.outputs = {};
			run.elapsedTime = data.elapsed_time;
			run.totalTokens = data.total_tokens;
			run.totalSteps = data.total_steps;
			run.finishedAt = null;
		} else if (event.event === 'error') {
			run.status = 'failed';
			run.error = typeof event.message === 'string' ? event.message : null;
			run.elapsedTime = elapsedSince(run.startedAtMs);
			run.finishedAt = nowSeconds();
		}
	}

	clear(): void {
		this.runs.clear();
		this.byTask.clear();
		this.watchers.clear();
		this.lifetimeController.abort();
		this.lifetimeController = new AbortController();
	}
}

/** `GET /workflows/run/{id}` (dify-api.md §8.1), per version. */
export function runDetail(run: StoredRun | undefined, version: DifyVersion): Record<string, unknown> {
	if (!run) {
		if (version !== '1.11') throw new ApiError(404, 'not_found', 'Workflow run not found.');
		return {
			id: null,
			workflow_id: null,
			status: null,
			inputs: null,
			outputs: null,
			error: null,
			total_steps: null,
			total_tokens: null,
			created_at: null,
			finished_at: null,
			elapsed_time: null,
		};
	}
	const outputs = run.outputs ?? {};
	return {
		id: run.id,
		workflow_id: run.workflowId,
		status: run.status,
		// The database keeps inputs (and, before 1.13, outputs) as json.dumps text.
		inputs: pythonJsonDumps({ ...run.inputs, 'sys.timestamp': run.createdAt }),
		outputs: version === '1.11' ? pythonJsonDumps(outputs) : outputs,
		error: run.error,
		total_steps: run.totalSteps,
		total_tokens: run.totalTokens,
		created_at: run.createdAt,
		finished_at: run.finishedAt,
		elapsed_time: run.elapsedTime,
	};
}

// ---------------------------------------------------------------------------------------------
// Logs (dify-api.md §8.4)

/** Where a run came from, as its log row says. */
export type LogCreatedFrom = 'service-api' | 'web-app' | 'installed-app';

/** How a log row says a run was made, for runs not made through the Service API. */
export interface LogOrigin {
	createdFrom: LogCreatedFrom;
	/** `app-run`, `webhook`, `schedule`, `plugin`, … */
	triggeredFrom: string;
	byAccount: boolean;
}

interface LogRecord extends LogOrigin {
	id: string;
	run: StoredRun;
	/** Insertion order: breaks ties between rows created in the same second. */
	sequence: number;
}

/** The newest seeded row is at the time of the reference examples, 2026-06-30T08:00:00Z. */
const SEED_NEWEST = 1782806400;
const SEED_SPACING_SECONDS = 5400;
const SEED_TOPICS = ['富士山', 'Kyoto', 'Mont Blanc', '東京タワー', 'Kilimanjaro', 'Zürich', 'Aconcagua', 'Matterhorn', 'Denali'];
const SEED_USERS = ['user-42', 'batch-job-7', 'alice', DEFAULT_USER];

function seededRecord(index: number, count: number): LogRecord {
	const id = stableUuid(`seed-run:${index}`);
	const workflowId = index < count / 2 ? OLDER_WORKFLOW_ID : CURRENT_WORKFLOW_ID;
	const byAccount = index % 9 === 4;
	const user = byAccount ? OWNER_ACCOUNT.email : SEED_USERS[index % SEED_USERS.length];
	const topic = SEED_TOPICS[index % SEED_TOPICS.length];
	const status: DifyWorkflowStatus = index % 7 === 3 ? 'failed' : index % 11 === 5 ? 'stopped' : 'succeeded';
	const createdAt = SEED_NEWEST - (count - 1 - index) * SEED_SPACING_SECONDS;
	const elapsedTime = 0.8 + (index % 5) * 0.35 + 0.012345;
	const run: StoredRun = {
		id,
		taskId: stableUuid(`seed-task:${index}`),
		workflowId,
		scenario: status === 'failed' ? 'fail' : 'llm',
		responseMode: index % 2 === 0 ? 'streaming' : 'blocking',
		user,
		endUserId: endUserId(user),
		inputs: {
			topic,
			scenario: 'llm',
			chunks: null,
			delay_ms: null,
			doc: null,
			'sys.files': [],
			'sys.user_id': user,
			'sys.app_id': APP_ID,
			'sys.workflow_id': workflowId,
			'sys.workflow_run_id': id,
		},
		status,
		outputs: status === 'succeeded' ? { answer: `${topic}は日本で最も高い山です。` } : {},
		error:
			status === 'failed'
				? 'ZeroDivisionError: division by zero'
				: status === 'stopped'
					? 'Stopped by user.'
					: null,
		elapsedTime: Math.round(elapsedTime * 1e6) / 1e6,
		totalTokens: status === 'succeeded' ? 70 : 0,
		totalSteps: status === 'succeeded' ? 3 : 2,
		exceptionsCount: 0,
		createdAt,
		finishedAt: createdAt + Math.ceil(elapsedTime),
		startedAtMs: createdAt * 1000,
		stopRequested: status === 'stopped',
		nodeEvents: new Map(),
		openForms: [],
		pausedData: null,
	};
	return {
		id: stableUuid(`seed-log:${index}`),
		run,
		createdFrom: byAccount ? 'installed-app' : 'service-api',
		triggeredFrom: 'app-run',
		byAccount,
		sequence: index,
	};
}

/** dateutil's isoparse, for the forms clients send: date, date-time, fractions, Z or offsets. */
export function parseIsoDate(text: string): number | undefined {
	const match =
		/^(\d{4})-?(\d{2})-?(\d{2})(?:.(\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/.exec(
			text.trim(),
		);
	if (!match) return undefined;
	const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = match;
	const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
	if (month < 1 || month > 12 || hour > 24 || minute > 59 || second > 59) return undefined;
	const epochMs = Date.UTC(year, month - 1, day, hour, minute, second);
	if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
	let offsetMinutes = 0;
	if (zone && zone !== 'Z') {
		const digits = zone.replace(':', '');
		offsetMinutes = (digits[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || '0'));
	}
	return epochMs / 1000 + Number(`0.${fraction || '0'}`) - offsetMinutes * 60;
}

function parseBoundedInt(
	issues: PydanticIssue[],
	field: string,
	text: string | undefined,
	fallback: number,
	max: number,
): number {
	if (text === undefined || text === '') return fallback;
	if (!/^\s*[+-]?\d+\s*$/.test(text)) {
		issues.push({
			field,
			message: 'Input should be a valid integer, unable to parse string as an integer',
			type: 'int_parsing',
			input: text,
		});
		return fallback;
	}
	const value = Number(text);
	if (value < 1) {
		issues.push({ field, message: 'Input should be greater than or equal to 1', type: 'greater_than_equal', input: text });
	} else if (value > max) {
		issues.push({ field, message: `Input should be less than or equal to ${max}`, type: 'less_than_equal', input: text });
	}
	return value;
}

const LOG_STATUSES = ['succeeded', 'failed', 'stopped'];

/** Log rows: deterministic seeded history plus one row per run made. */
export class LogStore {
	private readonly seeded: LogRecord[];
	private made: LogRecord[] = [];
	private sequence: number;

	constructor(seedCount: number) {
		this.seeded = Array.from({ length: seedCount }, (_, index) => seededRecord(index, seedCount));
		this.sequence = seedCount;
	}

	add(run: StoredRun, origin: LogOrigin = { createdFrom: 'service-api', triggeredFrom: 'app-run', byAccount: false }): void {
		this.made.push({ id: randomUUID(), run, ...origin, sequence: this.sequence++ });
	}

	/** Seeded rows have run details too, so that ids found in logs can be looked up. */
	seededRun(id: string): StoredRun | undefined {
		return this.seeded.find((record) => record.run.id === id)?.run;
	}

	clearMade(): void {
		this.made = [];
	}

	query(query: Record<string, string>): DifyLogPage {
		const given = (name: string) => (query[name] === undefined || query[name] === '' ? undefined : query[name]);
		const issues: PydanticIssue[] = [];
		const status = given('status');
		if (status !== undefined && !LOG_STATUSES.includes(status)) {
			issues.push({
				field: 'status',
				message: "Input should be 'succeeded', 'failed' or 'stopped'",
				type: 'literal_error',
				input: status,
			});
		}
		const page = parseBoundedInt(issues, 'page', given('page'), 1, 99999);
		const limit = parseBoundedInt(issues, 'limit', given('limit'), 20, 100);
		if (issues.length > 0) throw pydanticError('WorkflowLogQuery', issues);

		const bound = (name: string): number | undefined => {
			const text = given(name);
			if (text === undefined) return undefined;
			const parsed = parseIsoDate(text);
			if (parsed === undefined) throw invalidParam(`Invalid isoformat string: ${pythonRepr(text)}`);
			return parsed;
		};
		const before = bound('created_at__before');
		const after = bound('created_at__after');
		const account = given('created_by_account');
		if (account !== undefined && account !== OWNER_ACCOUNT.email) throw invalidParam(`Account not found: ${account}`);
		const sessionId = given('created_by_end_user_session_id');
		const keywordText = given('keyword');
		// The text match uses the first 30 characters; a whole run id matches that run exactly.
		const keyword = keywordText?.slice(0, 30).toLowerCase();
		const keywordRunId = keywordText === undefined ? undefined : canonicalUuid(keywordText);

		const rows = [...this.seeded, ...this.made]
			.filter(({ run, byAccount }) => {
				if (status !== undefined && run.status !== status) return false;
				if (before !== undefined && run.createdAt > before) return false;
				if (after !== undefined && run.createdAt < after) return false;
				if (account !== undefined && !byAccount) return false;
				if (sessionId !== undefined && (byAccount || run.user !== sessionId)) return false;
				if (keyword !== undefined) {
					const haystacks = [JSON.stringify(run.inputs), JSON.stringify(run.outputs ?? {}), byAccount ? '' : run.user];
					const matches = haystacks.some((text) => text.toLowerCase().includes(keyword)) || run.id === keywordRunId;
					if (!matches) return false;
				}
				return true;
			})
			.sort((a, b) => b.run.createdAt - a.run.createdAt || b.sequence - a.sequence);

		return {
			page,
			limit,
			total: rows.length,
			has_more: rows.length > page * limit,
			data: rows.slice((page - 1) * limit, page * limit).map(logEntry),
		};
	}
}

function logEntry(record: LogRecord): DifyLogEntry {
	const { run } = record;
	const version = publishedWorkflow(run.workflowId)?.version ?? PUBLISHED_WORKFLOWS[0].version;
	return {
		id: record.id,
		workflow_run: {
			id: run.id,
			version,
			status: run.status,
			triggered_from: record.triggeredFrom,
			error: run.error,
			elapsed_time: run.elapsedTime,
			total_tokens: run.totalTokens,
			total_steps: run.totalSteps,
			created_at: run.createdAt,
			finished_at: run.finishedAt,
			exceptions_count: run.exceptionsCount,
		},
		details: null,
		created_from: record.createdFrom,
		created_by_role: record.byAccount ? 'account' : 'end_user',
		created_by_account: record.byAccount ? { ...OWNER_ACCOUNT } : null,
		created_by_end_user: record.byAccount
			? null
			: { id: run.endUserId, type: 'service_api', is_anonymous: run.user === DEFAULT_USER, session_id: run.user },
		created_at: run.createdAt,
	};
}
