import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import type {
	DifyErrorBody,
	DifyResponseMode,
	DifyStopResponse,
	DifyWorkflowStatus,
} from '../../nodes/DifyWorkflow/types';
import { randomUUID } from 'node:crypto';

import type { DifyVersion, LogCreatedFrom, PydanticIssue, ReviewFormKind, ScenarioName, StoredRun, UploadLimitsMb } from './app';
import {
	APP_INFO,
	OWNER_ACCOUNT,
	SCENARIO_NAMES,
	APP_SITE,
	ApiError,
	canonicalUuid,
	CURRENT_WORKFLOW_ID,
	hasRunEvents,
	INTERNAL_ERROR_MESSAGE,
	invalidParam,
	LogStore,
	appParameters,
	publishedWorkflow,
	pydanticError,
	runDetail,
	RunStore,
	UploadStore,
	validateRunInputs,
} from './app';
import { pythonJsonDumps } from './json-python';
import { MultipartError, multipartBoundary, readMultipart } from './multipart';
import type { MultipartSummary } from './multipart';
import type { PlaySettings, RunBinding } from './runner';
import { IDLE_LIMIT_MS, playBlocking, playDetached, streamSteps } from './runner';
import type { Step } from './scenarios';
import { blockingResponse, endSteps, heldSteps, invalidInputSteps, OUTPUT_FILES, pauseSteps, resumeSteps, runSteps } from './scenarios';
import { FormStore } from './humanInput';
import { finishedFrame, runHasFinished, watchRun } from './watch';
import type { Chunking, LineEnding } from './sse-writer';

export type { StoredRun } from './app';

/**
 * A Dify stand-in: a real HTTP server on 127.0.0.1 that speaks Dify's Service API for one
 * workflow app (dify-api.md), for integration and end-to-end tests, demos and benchmarks.
 */

export const STANDIN_API_KEY = 'app-DifyStandInDemoKey000001';

export interface StandinOptions {
	/** Default '127.0.0.1'. */
	host?: string;
	/** Default 0: an ephemeral port. */
	port?: number;
	/** Default STANDIN_API_KEY. */
	apiKey?: string;
	/**
	 * Default '1.16'. Leading `event: ping` from 1.13 on. After an `error` event the stream stays
	 * open (1.13), closes (1.11), or gets a synthetic failed workflow_finished and closes (1.16).
	 * Invalid inputs of a streaming run: HTTP 400 (1.11), ping then silence (1.13), a synthetic
	 * failed run (1.16). Only 1.16 has the events endpoint, Human Input forms, the paused blocking
	 * body, reasoning_chunk, rate_limit_error and trace_session_id checks.
	 */
	version?: DifyVersion;
	/** Dify Cloud's sandbox plan: running a chosen workflow version is refused (1.16). */
	sandboxPlan?: boolean;
	/** Default 'awkward'. See sse-writer.ts. */
	chunking?: Chunking;
	/** Default '\n'. */
	lineEnding?: LineEnding;
	/** Default 10000: keep-alive pings while a run is busy. */
	pingIntervalMs?: number;
	/** Default 0: delay between the events of a run. */
	stepDelayMs?: number;
	/**
	 * Default 120000 (Dify: 300000): how long a run's stream (1.13+) and the events endpoint stay open
	 * without an event before the relay closes them cleanly; keep-alive pings do not count.
	 */
	idleLimitMs?: number;
	/** Default 10/100/50/15, Dify's defaults. */
	uploadLimitsMb?: UploadLimitsMb;
	/** Default 45 deterministic historical log rows. */
	seedLogs?: number;
	/**
	 * Default 'simple': the Review form of the `paused` scenario asks one paragraph. 'full' asks a
	 * paragraph with a default, a select and a document file (1.15+ input kinds).
	 */
	reviewForm?: ReviewFormKind;
}

export interface RecordedRequest {
	method: string;
	/** The path as it arrived, '/v1' included. */
	path: string;
	/** First value of each query parameter. */
	query: Record<string, string>;
	headers: Record<string, string | string[] | undefined>;
	/** The body, when it parsed as JSON. */
	json?: unknown;
	/** The events endpoint: how many events (replayed and live) this request was sent so far. */
	eventsSent?: number;
	multipart?: MultipartSummary;
}

export interface FaultSpec {
	status?: number;
	json?: unknown;
	html?: string;
	text?: string;
	headers?: Record<string, string>;
	/**
	 * - 'hang-headers': read the request, never answer.
	 * - 'reset': destroy the connection (TCP RST) as soon as the request arrives.
	 * - 'stall-after-events': a streaming run sends `afterEvents` events (default 0), then goes
	 *   silent without closing; any other request hangs.
	 * - 'redirect': status (default 307) with `location` (default: the same URL).
	 * - 'cut-after-events': the events endpoint sends `afterEvents` events (default 0), then the
	 *   connection breaks inside the next one (the run goes on); any other request hangs.
	 */
	kind?: 'hang-headers' | 'reset' | 'stall-after-events' | 'redirect' | 'cut-after-events';
	location?: string;
	afterEvents?: number;
}

/**
 * A run made the way Dify's web app, an installed app, a schedule, a webhook or a plugin makes
 * one: not through the Service API, so no client holds its stream.
 */
export interface ExternalRun {
	/** Default 'web-app' ('installed-app' for an account). */
	createdFrom?: LogCreatedFrom;
	/** Default 'app-run'; Dify also writes 'schedule', 'webhook', 'plugin', … */
	triggeredFrom?: string;
	/** The end user's session id; default a new one per run. Ignored for an account. */
	user?: string;
	/** Started by the workspace owner's account (an installed app) instead of an end user. */
	account?: boolean;
	/** 'hold' (the default) stays running until endRun; a scenario plays at once ('paused' pauses at a form). */
	scenario?: ScenarioName | 'hold';
	inputs?: Record<string, unknown>;
	/** Unix seconds; default now. Lets tests put runs in one second, or in the past. */
	createdAt?: number;
}

/** How endRun ends a held (or paused) run. */
export interface RunEnd {
	status: Exclude<DifyWorkflowStatus, 'running' | 'paused' | 'scheduled'>;
	outputs?: Record<string, unknown>;
	error?: string | null;
}

export interface DifyStandin {
	/** 'http://127.0.0.1:PORT/v1' */
	url: string;
	port: number;
	apiKey: string;
	/** Every request, in order of arrival. */
	requests: RecordedRequest[];
	/** Runs made through the API, by workflow_run_id. */
	runs: Map<string, StoredRun>;
	/**
	 * The next `times` (default 1) requests that match get the fault instead of the normal answer.
	 * A string path matches the path with or without the '/v1' prefix; a RegExp is tried on both.
	 */
	failNext(match: { method?: string; path: string | RegExp }, fault: FaultSpec, times?: number): void;
	/** Task ids the stop endpoint received, in order. */
	stoppedTasks: string[];
	/** SSE responses still open. */
	openStreams(): number;
	/** Adds a run as Dify's web app, a schedule or an account would (also `POST /_standin/runs`). */
	addRun(spec?: ExternalRun): Promise<StoredRun>;
	/** Ends a running or paused run (also `POST /_standin/runs/{id}/end`). */
	endRun(runId: string, end: RunEnd): Promise<StoredRun>;
	/** Makes a held run reach a Human Input node and pause (also `POST /_standin/runs/{id}/pause`). */
	pauseRun(runId: string): Promise<StoredRun>;
	/** Forgets requests, faults, stops, runs and uploads; seeded log rows stay. */
	reset(): void;
	/** Stops listening and destroys every open connection. */
	close(): Promise<void>;
}

interface Settings extends PlaySettings {
	host: string;
	port: number;
	apiKey: string;
	uploadLimitsMb: UploadLimitsMb;
	seedLogs: number;
	sandboxPlan: boolean;
	reviewForm: ReviewFormKind;
}

function resolveSettings(options: StandinOptions): Settings {
	return {
		host: options.host ?? '127.0.0.1',
		port: options.port ?? 0,
		apiKey: options.apiKey ?? STANDIN_API_KEY,
		version: options.version ?? '1.16',
		chunking: options.chunking ?? 'awkward',
		lineEnding: options.lineEnding ?? '\n',
		pingIntervalMs: options.pingIntervalMs ?? 10_000,
		stepDelayMs: options.stepDelayMs ?? 0,
		idleLimitMs: options.idleLimitMs ?? IDLE_LIMIT_MS,
		uploadLimitsMb: options.uploadLimitsMb ?? { image: 10, video: 100, audio: 50, other: 15 },
		seedLogs: options.seedLogs ?? 45,
		sandboxPlan: options.sandboxPlan ?? false,
		reviewForm: options.reviewForm ?? 'simple',
	};
}

interface PendingFault {
	method?: string;
	path: string | RegExp;
	fault: FaultSpec;
	remaining: number;
}

interface RequestContext {
	req: IncomingMessage;
	res: ServerResponse;
	record: RecordedRequest;
	params: string[];
	body: Buffer;
	/** From a 'cut-after-events' fault. */
	cutAfterEvents?: number;
	/** From a 'stall-after-events' fault. */
	stallAfterEvents?: number;
}

interface Route {
	method: 'GET' | 'POST';
	pattern: RegExp;
	/** Uploads read their own body, as a stream, after authentication. */
	streamsBody?: boolean;
	/** Routes that start runs honour 'stall-after-events'; others hang under it. */
	startsRuns?: boolean;
	/** The events endpoint honours 'cut-after-events'; others hang under it. */
	watchesRuns?: boolean;
	/** Signed file links need no API key, as in Dify. */
	public?: boolean;
	handle: (ctx: RequestContext) => Promise<void> | void;
}

/** The worker picks a resumed run up a moment after the submit was answered. */
const FORM_RESUME_DELAY_MS = 50;

/** JSON request bodies beyond this are refused; Dify's own limit is of the same order. */
const MAX_JSON_BODY_BYTES = 16 * 1024 * 1024;

/** werkzeug's page for a path that matches no route (Dify before 1.14 for the events endpoint, say). */
const NOT_FOUND_PAGE =
	'<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';

/** The release each played version reports in the API's index. */
const SERVER_VERSIONS: Record<DifyVersion, string> = { '1.11': '1.11.2', '1.13': '1.13.3', '1.16': '1.16.1' };

/** No route matches the path. */
class RoutingMiss extends Error {}

function unauthorized(message: string): ApiError {
	return new ApiError(401, 'unauthorized', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstValues(params: URLSearchParams): Record<string, string> {
	const query: Record<string, string> = {};
	for (const [key, value] of params) if (!(key in query)) query[key] = value;
	return query;
}

/** Reads a whole body up to `limit` bytes; beyond that it keeps draining but returns undefined. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of req as AsyncIterable<Buffer>) {
		size += chunk.length;
		if (size <= limit) chunks.push(chunk);
	}
	return size <= limit ? Buffer.concat(chunks) : undefined;
}

function parseJson(bytes: Buffer | undefined): { ok: true; value: unknown } | { ok: false; error: string } {
	try {
		return { ok: true, value: JSON.parse((bytes ?? Buffer.alloc(0)).toString('utf8')) };
	} catch (error) {
		return { ok: false, error: (error as Error).message };
	}
}

/** Dify resolves `user` from the JSON body before anything else in it (dify-api.md §3.1). */
function requireUser(body: unknown): string {
	const user = isObject(body) ? body.user : undefined;
	if (typeof user === 'number' && user !== 0) return String(user);
	if (typeof user !== 'string' || user === '') throw invalidParam('Arg user must be provided.');
	return user;
}

interface RunPayload {
	inputs: Record<string, unknown>;
	responseMode: DifyResponseMode;
}

/** The pydantic model check of the run body, with pydantic's wording. */
function parseRunPayload(body: Record<string, unknown>): RunPayload {
	const issues: PydanticIssue[] = [];
	if (!('inputs' in body)) {
		issues.push({ field: 'inputs', message: 'Field required', type: 'missing', input: body });
	} else if (!isObject(body.inputs)) {
		issues.push({ field: 'inputs', message: 'Input should be a valid dictionary', type: 'dict_type', input: body.inputs });
	}
	const mode = body.response_mode;
	if (mode !== undefined && mode !== null && mode !== 'streaming' && mode !== 'blocking') {
		issues.push({
			field: 'response_mode',
			message: "Input should be 'blocking' or 'streaming'",
			type: 'literal_error',
			input: mode,
		});
	}
	const files = body.files;
	if (files !== undefined && files !== null && !Array.isArray(files)) {
		issues.push({ field: 'files', message: 'Input should be a valid list', type: 'list_type', input: files });
	}
	if (issues.length > 0) throw pydanticError('WorkflowRunPayload', issues);
	// `files` (sys.files) only counts when the app enables file upload, which this one does not.
	return {
		inputs: body.inputs as Record<string, unknown>,
		responseMode: mode === 'streaming' ? 'streaming' : 'blocking',
	};
}

class Standin implements DifyStandin {
	url = '';
	port = 0;
	readonly apiKey: string;
	readonly requests: RecordedRequest[] = [];
	readonly stoppedTasks: string[] = [];
	readonly runs: Map<string, StoredRun>;

	private readonly server: Server;
	private readonly sockets = new Set<Socket>();
	private readonly streams = new Set<ServerResponse>();
	private faults: PendingFault[] = [];
	private readonly store = new RunStore();
	private readonly logs: LogStore;
	private readonly uploads = new UploadStore();
	private readonly forms = new FormStore();
	private readonly routes: Route[];
	private closing: Promise<void> | undefined;

	constructor(private readonly settings: Settings) {
		this.apiKey = settings.apiKey;
		this.runs = this.store.runs;
		this.logs = new LogStore(settings.seedLogs);
		this.store.onForm = (run, form) => this.forms.add(run, form);
		this.routes = this.buildRoutes();
		// Uploads of any size and speed must get through: no overall request deadline.
		this.server = createServer({ requestTimeout: 0 }, (req, res) => void this.handle(req, res));
		this.server.on('connection', (socket: Socket) => {
			this.sockets.add(socket);
			socket.once('close', () => this.sockets.delete(socket));
		});
	}

	/** Scheme, host and port: the base of links the stand-in hands out. */
	private get origin(): string {
		return this.url.replace(/\/v1$/, '');
	}

	listen(): Promise<void> {
		return new Promise((resolve, reject) => {
			this.server.once('error', reject);
			this.server.listen(this.settings.port, this.settings.host, () => {
				this.server.off('error', reject);
				this.port = (this.server.address() as AddressInfo).port;
				const host = this.settings.host;
				const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
				this.url = `http://${shown}:${this.port}/v1`;
				resolve();
			});
		});
	}

	failNext(match: { method?: string; path: string | RegExp }, fault: FaultSpec, times = 1): void {
		this.faults.push({ method: match.method?.toUpperCase(), path: match.path, fault, remaining: times });
	}

	openStreams(): number {
		return this.streams.size;
	}

	async addRun(spec: ExternalRun = {}): Promise<StoredRun> {
		const byAccount = spec.account === true;
		const user = byAccount ? OWNER_ACCOUNT.email : (spec.user ?? `web-${randomUUID().slice(0, 8)}`);
		const held = (spec.scenario ?? 'hold') === 'hold';
		const scenario = held ? 'llm' : (spec.scenario as ScenarioName);
		const inputs = { topic: 'Mount Fuji', ...spec.inputs, scenario };
		const run = this.store.create({ workflowId: CURRENT_WORKFLOW_ID, scenario, responseMode: 'streaming', user, inputs });
		if (spec.createdAt !== undefined) run.createdAt = spec.createdAt;
		run.byAccount = byAccount;
		this.logs.add(run, {
			createdFrom: spec.createdFrom ?? (byAccount ? 'installed-app' : 'web-app'),
			triggeredFrom: spec.triggeredFrom ?? 'app-run',
			byAccount,
		});
		const steps = held ? heldSteps(run) : runSteps(run, this.settings.version);
		await playDetached(steps, this.settings, { run, store: this.store });
		return run;
	}

	async endRun(runId: string, end: RunEnd): Promise<StoredRun> {
		const run = this.goingRun(runId);
		await playDetached(endSteps(run, end.status, end.outputs ?? {}, end.error ?? null), this.settings, { run, store: this.store });
		return run;
	}

	async pauseRun(runId: string): Promise<StoredRun> {
		const run = this.goingRun(runId);
		if (run.status !== 'running') throw invalidParam(`Only a running run can pause (this one is ${run.status})`);
		await playDetached(pauseSteps(run, this.settings.version), this.settings, { run, store: this.store });
		return run;
	}

	private goingRun(runId: string): StoredRun {
		const run = this.store.get(runId);
		if (!run) throw new ApiError(404, 'not_found', 'Workflow run not found.');
		if (runHasFinished(run)) throw invalidParam(`The run has already ended (${run.status})`);
		return run;
	}

	reset(): void {
		this.requests.length = 0;
		this.stoppedTasks.length = 0;
		this.faults = [];
		this.store.clear();
		this.logs.clearMade();
		this.uploads.clear();
		this.forms.clear();
	}

	close(): Promise<void> {
		this.closing ??= new Promise<void>((resolve) => {
			// Runs playing in the background end with the stand-in.
			this.store.clear();
			this.server.close(() => resolve());
			for (const socket of this.sockets) socket.destroy();
		});
		return this.closing;
	}

	private buildRoutes(): Route[] {
		const json = (body: unknown) => (ctx: RequestContext) => this.sendJson(ctx.res, 200, body);
		return [
			// The API's index needs no key and names the release (dify-api.md §12.9).
			{
				method: 'GET',
				pattern: /^\/v1\/?$/,
				public: true,
				handle: json({ welcome: 'Dify OpenAPI', api_version: 'v1', server_version: SERVER_VERSIONS[this.settings.version] }),
			},
			{ method: 'GET', pattern: /^\/v1\/info$/, handle: json(APP_INFO) },
			{ method: 'GET', pattern: /^\/v1\/parameters$/, handle: json(appParameters(this.settings.uploadLimitsMb)) },
			{ method: 'GET', pattern: /^\/v1\/site$/, handle: json(APP_SITE) },
			{ method: 'GET', pattern: /^\/v1\/meta$/, handle: json({ tool_icons: {} }) },
			// Dify serves file previews beside the API, not under /v1, with signed query strings.
			{ method: 'GET', pattern: /^\/files\/([^/]+)\/file-preview$/, public: true, handle: (ctx) => this.filePreview(ctx) },
			{ method: 'POST', pattern: /^\/v1\/workflows\/run$/, startsRuns: true, handle: (ctx) => this.run(ctx) },
			{ method: 'GET', pattern: /^\/v1\/workflows\/run\/([^/]+)$/, handle: (ctx) => this.runDetail(ctx) },
			{
				method: 'POST',
				pattern: /^\/v1\/workflows\/([^/]+)\/run$/,
				startsRuns: true,
				handle: (ctx) => this.run(ctx, ctx.params[0]),
			},
			{ method: 'POST', pattern: /^\/v1\/workflows\/tasks\/([^/]+)\/stop$/, handle: (ctx) => this.stop(ctx) },
			{ method: 'POST', pattern: /^\/v1\/files\/upload$/, streamsBody: true, handle: (ctx) => this.upload(ctx) },
			{ method: 'GET', pattern: /^\/v1\/workflows\/logs$/, handle: (ctx) => this.sendJson(ctx.res, 200, this.logs.query(ctx.record.query)) },
			...(hasRunEvents(this.settings.version) ? this.runEventRoutes() : []),
			// The stand-in's own control surface, not Dify's API: runs made behind a client's back.
			{ method: 'POST', pattern: /^\/_standin\/runs$/, public: true, handle: (ctx) => this.addRunsFromRequest(ctx) },
			{ method: 'POST', pattern: /^\/_standin\/runs\/([^/]+)\/end$/, public: true, handle: (ctx) => this.endRunFromRequest(ctx) },
			{
				method: 'POST',
				pattern: /^\/_standin\/runs\/([^/]+)\/pause$/,
				public: true,
				handle: async (ctx) => {
					const run = await this.pauseRun(ctx.params[0]);
					this.sendJson(ctx.res, 200, { id: run.id, status: run.status });
				},
			},
		];
	}

	/** `POST /_standin/runs` with an ExternalRun and an optional `count`: the runs made, oldest first. */
	private async addRunsFromRequest(ctx: RequestContext): Promise<void> {
		const body = this.requireJson(ctx);
		if (!isObject(body)) throw invalidParam('The body must be a JSON object');
		const count = typeof body.count === 'number' ? Math.max(1, Math.floor(body.count)) : 1;
		if (body.scenario !== undefined && body.scenario !== 'hold' && !SCENARIO_NAMES.includes(body.scenario as ScenarioName)) {
			throw invalidParam(`Unknown scenario: ${String(body.scenario)}`);
		}
		const made: StoredRun[] = [];
		for (let n = 0; n < count; n++) made.push(await this.addRun(body as ExternalRun));
		this.sendJson(ctx.res, 201, {
			runs: made.map((run) => ({ id: run.id, task_id: run.taskId, user: run.user, status: run.status, created_at: run.createdAt })),
		});
	}

	/** `POST /_standin/runs/{id}/end` with a RunEnd. */
	private async endRunFromRequest(ctx: RequestContext): Promise<void> {
		const body = this.requireJson(ctx);
		if (!isObject(body) || typeof body.status !== 'string') throw invalidParam('The body must name a status');
		const run = await this.endRun(ctx.params[0], body as unknown as RunEnd);
		this.sendJson(ctx.res, 200, { id: run.id, status: run.status, finished_at: run.finishedAt });
	}

	/** 1.14+: re-attach to a run, and answer its Human Input forms with the app key. */
	private runEventRoutes(): Route[] {
		return [
			{ method: 'GET', pattern: /^\/v1\/workflow\/([^/]+)\/events$/, watchesRuns: true, handle: (ctx) => this.runEvents(ctx) },
			{
				method: 'GET',
				pattern: /^\/v1\/form\/human_input\/([^/]+)$/,
				handle: (ctx) => this.sendJson(ctx.res, 200, this.forms.definition(ctx.params[0]), { trailingNewline: false }),
			},
			{ method: 'POST', pattern: /^\/v1\/form\/human_input\/([^/]+)$/, handle: (ctx) => this.submitForm(ctx) },
		];
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		// Split by hand: a URL parser would read a path such as '//info' as a host name.
		const target = req.url ?? '/';
		const queryStart = target.indexOf('?');
		const path = queryStart < 0 ? target : target.slice(0, queryStart);
		const method = (req.method ?? 'GET').toUpperCase();
		const record: RecordedRequest = {
			method,
			path,
			query: firstValues(new URLSearchParams(queryStart < 0 ? '' : target.slice(queryStart + 1))),
			headers: { ...(req.headers as IncomingHttpHeaders) },
		};
		this.requests.push(record);
		try {
			const fault = this.takeFault(method, path);
			const passed = fault?.kind === 'stall-after-events' || fault?.kind === 'cut-after-events';
			if (fault && !passed) return await this.applyFault(req, res, record, fault);

			const found = this.route(method, path);
			if (found === 'options') return this.answerOptions(res, path);
			const { route, params } = found;
			const ctx: RequestContext = { req, res, record, params, body: Buffer.alloc(0) };
			if (fault?.kind === 'cut-after-events') {
				if (!route.watchesRuns) return await this.hang(req, record);
				ctx.cutAfterEvents = fault.afterEvents ?? 0;
			} else if (fault) {
				if (!route.startsRuns) return await this.hang(req, record);
				ctx.stallAfterEvents = fault.afterEvents ?? 0;
			}
			if (!route.streamsBody) {
				const body = await readBody(req, MAX_JSON_BODY_BYTES);
				const parsed = body && body.length > 0 ? parseJson(body) : undefined;
				if (parsed?.ok) record.json = parsed.value;
				if (!body) throw new ApiError(413, 'request_entity_too_large', 'The data value transmitted exceeds the capacity limit.');
				ctx.body = body;
			}
			if (!route.public) this.authenticate(req);
			await route.handle(ctx);
		} catch (error) {
			this.fail(req, res, error);
		}
	}

	/** Flask routing: an unknown path is 404, a known path with another method 405 (before auth). */
	private route(method: string, path: string): { route: Route; params: string[] } | 'options' {
		const candidates = this.routes
			.map((route) => ({ route, match: route.pattern.exec(path) }))
			.filter((candidate): candidate is { route: Route; match: RegExpExecArray } => candidate.match !== null);
		if (candidates.length === 0) throw new RoutingMiss();
		if (method === 'OPTIONS') return 'options';
		const wanted = method === 'HEAD' ? 'GET' : method;
		const chosen = candidates.find((candidate) => candidate.route.method === wanted);
		if (!chosen) {
			throw new ApiError(405, 'method_not_allowed', 'The method is not allowed for the requested URL.', {
				Allow: this.allowedMethods(path),
			});
		}
		const params = chosen.match.slice(1).map((param) => {
			try {
				return decodeURIComponent(param);
			} catch {
				return param;
			}
		});
		return { route: chosen.route, params };
	}

	private allowedMethods(path: string): string {
		const methods = new Set(['OPTIONS']);
		for (const route of this.routes) {
			if (!route.pattern.test(path)) continue;
			methods.add(route.method);
			if (route.method === 'GET') methods.add('HEAD');
		}
		return [...methods].sort().join(', ');
	}

	private answerOptions(res: ServerResponse, path: string): void {
		res.writeHead(200, { Allow: this.allowedMethods(path), 'Content-Length': '0' });
		res.end();
	}

	/** dify-api.md §7.1: the header must contain a space, the scheme is `bearer` in any case. */
	private authenticate(req: IncomingMessage): void {
		const header = req.headers.authorization;
		if (header === undefined || !header.includes(' ')) {
			throw unauthorized("Authorization header must be provided and start with 'Bearer'");
		}
		const [, scheme = '', token = ''] = /^\s*(\S*)\s+([\s\S]*)$/.exec(header) ?? [];
		if (scheme.toLowerCase() !== 'bearer') throw unauthorized("Authorization scheme must be 'Bearer'");
		if (token !== this.apiKey) throw unauthorized('Access token is invalid');
	}

	// -------------------------------------------------------------------------------------------
	// Endpoints

	/** `request.get_json()`: a JSON content type and a parsable body, or werkzeug's errors. */
	private requireJson(ctx: RequestContext): unknown {
		const type = (ctx.req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
		if (type !== 'application/json' && !/^application\/[^/]+\+json$/.test(type)) {
			throw new ApiError(
				415,
				'unsupported_media_type',
				"Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
			);
		}
		if (ctx.body.toString('utf8').trim() === '') {
			throw new ApiError(400, 'bad_request', 'Invalid JSON payload received or JSON payload is empty.');
		}
		const parsed = parseJson(ctx.body);
		if (!parsed.ok) throw new ApiError(400, 'bad_request', `Failed to decode JSON object: ${parsed.error}`);
		return parsed.value;
	}

	private pinnedWorkflowId(text: string): string {
		const id = canonicalUuid(text);
		if (!id) throw new ApiError(400, 'bad_request', `Invalid workflow_id format: '${text}'. `);
		if (!publishedWorkflow(id)) throw new ApiError(404, 'not_found', `Workflow not found with id: ${id}`);
		return id;
	}

	private async run(ctx: RequestContext, workflowParam?: string): Promise<void> {
		const body = this.requireJson(ctx);
		const user = requireUser(body);
		if (workflowParam !== undefined && this.settings.sandboxPlan && this.settings.version === '1.16') {
			throw new ApiError(
				403,
				'workflow_version_execution_not_allowed',
				'Workflow version execution is not available on your current plan. Please upgrade to a paid plan.',
			);
		}
		const payload = parseRunPayload(body as Record<string, unknown>);
		if (this.settings.version === '1.16') this.checkTraceSessionId(ctx, body as Record<string, unknown>);
		const workflowId = workflowParam === undefined ? CURRENT_WORKFLOW_ID : this.pinnedWorkflowId(workflowParam);
		const streaming = payload.responseMode === 'streaming';

		let inputs: Record<string, unknown>;
		try {
			inputs = validateRunInputs(payload.inputs, this.uploads, this.origin);
		} catch (error) {
			// Since 1.13 a streaming run validates inside the worker, after the response has begun.
			if (!(error instanceof ApiError) || !streaming || this.settings.version === '1.11') throw error;
			const run =
				this.settings.version === '1.16'
					? this.createRun({ workflowId, user, responseMode: 'streaming', inputs: {}, taskIdIsRunId: true })
					: undefined;
			const binding = run ? { run, store: this.store } : undefined;
			return await this.stream(ctx, invalidInputSteps(this.settings.version, error.message, run), binding);
		}

		const run = this.createRun({ workflowId, user, responseMode: payload.responseMode, inputs });
		const binding: RunBinding = { run, store: this.store };
		const steps = runSteps(run, this.settings.version);
		if (streaming) return await this.stream(ctx, steps, binding);
		if (ctx.stallAfterEvents !== undefined) return await this.hang(ctx.req, ctx.record);

		const outcome = await playBlocking(ctx.res, steps, this.settings, binding);
		if (outcome.kind === 'error') throw new ApiError(outcome.status, outcome.code, outcome.message);
		if (outcome.kind === 'answer') {
			// The blocking answer is a plain Flask response: no trailing newline, charset named.
			this.sendJson(ctx.res, 200, blockingResponse(run, this.settings.version), { trailingNewline: false, charset: true });
		}
	}

	/** 1.15+ (dify-api.md §12.7): the first source present, header, query or body, must be 1-200 characters. */
	private checkTraceSessionId(ctx: RequestContext, body: Record<string, unknown>): void {
		const header = ctx.req.headers['x-trace-session-id'];
		const value =
			header !== undefined ? header : 'trace_session_id' in ctx.record.query ? ctx.record.query.trace_session_id : body.trace_session_id;
		if (value === undefined || value === null) return;
		if (typeof value !== 'string') throw new ApiError(400, 'bad_request', 'trace_session_id must be a string.');
		const length = value.trim().length;
		if (length < 1 || length > 200) {
			throw new ApiError(400, 'bad_request', 'trace_session_id must be 1 to 200 characters after trimming.');
		}
	}

	/** `GET /workflow/{id}/events`: only the end user that started the run may re-attach. */
	private async runEvents(ctx: RequestContext): Promise<void> {
		const { query } = ctx.record;
		if (!query.user) throw invalidParam('Arg user must be provided.');
		const run = this.store.get(ctx.params[0]);
		// Dify re-attaches only the end user that started a run: never to a run an account started.
		if (!run || run.byAccount || run.user !== query.user) throw new ApiError(404, 'not_found', 'Workflow run not found');
		if (runHasFinished(run)) {
			ctx.res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
			ctx.res.end(finishedFrame(run, this.settings.lineEnding));
			return;
		}
		const flag = (name: string) => /^true$/i.test(query[name] ?? '');
		const { res } = ctx;
		this.streams.add(res);
		res.once('close', () => this.streams.delete(res));
		await watchRun(res, run, this.store, this.settings, {
			snapshot: flag('include_state_snapshot'),
			continueOnPause: flag('continue_on_pause'),
			cutAfterEvents: ctx.cutAfterEvents,
			onSent: () => (ctx.record.eventsSent = (ctx.record.eventsSent ?? 0) + 1),
		});
	}

	/** `POST /form/human_input/{token}`: closes the form; the run resumes shortly after, in the background. */
	private submitForm(ctx: RequestContext): void {
		const body = this.requireJson(ctx);
		requireUser(body);
		if (!isObject(body)) throw pydanticError('HumanInputFormSubmitPayload', [{ field: 'inputs', message: 'Field required', type: 'missing', input: body }]);
		const { run, submission } = this.forms.submit(ctx.params[0], body);
		this.sendJson(ctx.res, 200, {});
		const binding: RunBinding = { run, store: this.store };
		const lifetime = this.store.lifetime;
		setTimeout(() => {
			if (!lifetime.aborted) void playDetached(resumeSteps(run, submission), this.settings, binding);
		}, FORM_RESUME_DELAY_MS);
	}

	private createRun(fields: {
		workflowId: string;
		user: string;
		responseMode: DifyResponseMode;
		inputs: Record<string, unknown>;
		taskIdIsRunId?: boolean;
	}): StoredRun {
		const scenario = (typeof fields.inputs.scenario === 'string' ? fields.inputs.scenario : 'llm') as ScenarioName;
		const run = this.store.create({ ...fields, scenario });
		run.reviewForm = this.settings.reviewForm;
		this.logs.add(run);
		return run;
	}

	private async stream(ctx: RequestContext, steps: Iterable<Step>, binding?: RunBinding): Promise<void> {
		const { res } = ctx;
		this.streams.add(res);
		res.once('close', () => this.streams.delete(res));
		await streamSteps(res, steps, this.settings, binding, ctx.stallAfterEvents);
	}

	private runDetail(ctx: RequestContext): void {
		const id = ctx.params[0];
		const run = this.store.get(id) ?? this.logs.seededRun(id);
		this.sendJson(ctx.res, 200, runDetail(run, this.settings.version));
	}

	private stop(ctx: RequestContext): void {
		requireUser(this.requireJson(ctx));
		const taskId = ctx.params[0];
		this.stoppedTasks.push(taskId);
		this.store.requestStop(taskId);
		const answer: DifyStopResponse = { result: 'success' };
		this.sendJson(ctx.res, 200, answer);
	}

	private async upload(ctx: RequestContext): Promise<void> {
		const boundary = multipartBoundary(ctx.req.headers['content-type']);
		let summary: MultipartSummary = { fields: {}, files: [] };
		if (boundary) {
			try {
				summary = await readMultipart(ctx.req, boundary);
			} catch (error) {
				if (!(error instanceof MultipartError)) throw error;
				if (error.status === 413) throw new ApiError(413, 'request_entity_too_large', error.message);
				throw new ApiError(400, 'bad_request', 'The browser (or proxy) sent a request that this server could not understand.');
			}
		} else {
			await readBody(ctx.req, 0);
		}
		ctx.record.multipart = summary;
		const file = this.uploads.accept(summary, this.settings.uploadLimitsMb, this.settings.version, this.origin);
		this.sendJson(ctx.res, 201, file);
	}

	// -------------------------------------------------------------------------------------------
	// Faults

	private takeFault(method: string, path: string): FaultSpec | undefined {
		const relative = path.startsWith('/v1/') ? path.slice(3) : path;
		const index = this.faults.findIndex((pending) => {
			if (pending.method && pending.method !== method) return false;
			if (typeof pending.path === 'string') return pending.path === path || pending.path === relative;
			pending.path.lastIndex = 0;
			if (pending.path.test(path)) return true;
			pending.path.lastIndex = 0;
			return pending.path.test(relative);
		});
		if (index < 0) return undefined;
		const pending = this.faults[index];
		if (--pending.remaining <= 0) this.faults.splice(index, 1);
		return pending.fault;
	}

	private async recordBody(req: IncomingMessage, record: RecordedRequest): Promise<void> {
		const body = await readBody(req, MAX_JSON_BODY_BYTES);
		const parsed = body && body.length > 0 ? parseJson(body) : undefined;
		if (parsed?.ok) record.json = parsed.value;
	}

	/** Reads the request and never answers; the client's timeout or close() ends it. */
	private async hang(req: IncomingMessage, record: RecordedRequest): Promise<void> {
		if (!req.readableEnded) await this.recordBody(req, record);
	}

	private async applyFault(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, fault: FaultSpec): Promise<void> {
		if (fault.kind === 'reset') {
			const socket = req.socket;
			if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
			else socket.destroy();
			return;
		}
		await this.recordBody(req, record);
		if (fault.kind === 'hang-headers') return;

		const headers: Record<string, string> = {};
		let body = '';
		if (fault.json !== undefined) {
			headers['Content-Type'] = 'application/json';
			body = `${pythonJsonDumps(fault.json)}\n`;
		} else if (fault.html !== undefined) {
			headers['Content-Type'] = 'text/html; charset=utf-8';
			body = fault.html;
		} else if (fault.text !== undefined) {
			headers['Content-Type'] = 'text/plain; charset=utf-8';
			body = fault.text;
		}
		let status = fault.status ?? 500;
		if (fault.kind === 'redirect') {
			status = fault.status ?? 307;
			const location = fault.location ?? `${this.origin}${req.url ?? '/'}`;
			headers.Location = location;
			if (!body) {
				headers['Content-Type'] = 'text/html; charset=utf-8';
				body = `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href="${location}">${location}</a>. If not, click the link.\n`;
			}
		}
		const bytes = Buffer.from(body, 'utf8');
		res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length), ...fault.headers });
		res.end(bytes);
	}

	// -------------------------------------------------------------------------------------------
	// Responses

	/**
	 * A JSON answer in Python's json.dumps style; flask-restx resources end it with a newline and
	 * send a bare `application/json`.
	 */
	private filePreview(ctx: RequestContext): void {
		const file = OUTPUT_FILES[ctx.params[0]];
		if (!file || !ctx.record.query.sign) {
			this.sendJson(ctx.res, 404, { code: 'not_found', message: 'File not found.', status: 404 });
			return;
		}
		ctx.res.writeHead(200, {
			'content-type': file.mimeType,
			'content-length': String(file.content.length),
			'content-disposition': `inline; filename="${file.filename}"`,
		});
		ctx.res.end(file.content);
	}

	private sendJson(
		res: ServerResponse,
		status: number,
		body: unknown,
		options: { trailingNewline?: boolean; charset?: boolean; headers?: Record<string, string> } = {},
	): void {
		const text = pythonJsonDumps(body) + (options.trailingNewline === false ? '' : '\n');
		const bytes = Buffer.from(text, 'utf8');
		res.writeHead(status, {
			'Content-Type': options.charset ? 'application/json; charset=utf-8' : 'application/json',
			'Content-Length': String(bytes.length),
			...options.headers,
		});
		res.end(bytes);
	}

	private fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
		// Nothing can be said on a response already under way or to a client that has gone.
		if (res.headersSent || res.destroyed || req.socket.destroyed) {
			res.destroy();
			return;
		}
		if (error instanceof RoutingMiss) {
			// A path no route knows is Flask's own 404 page: flask-restx answers only for its routes.
			res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(NOT_FOUND_PAGE) });
			res.end(NOT_FOUND_PAGE);
			return;
		}
		if (!(error instanceof ApiError)) {
			console.error('Dify stand-in: unexpected error', error);
		}
		const apiError =
			error instanceof ApiError ? error : new ApiError(500, 'internal_server_error', INTERNAL_ERROR_MESSAGE);
		const body: DifyErrorBody = { code: apiError.code, message: apiError.message, status: apiError.status };
		const headers = { ...apiError.headers };
		if (apiError.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="api"';
		this.sendJson(res, apiError.status, body, { headers });
	}
}

export async function startDifyStandin(options: StandinOptions = {}): Promise<DifyStandin> {
	const standin = new Standin(resolveSettings(options));
	await standin.listen();
	return standin;
}
