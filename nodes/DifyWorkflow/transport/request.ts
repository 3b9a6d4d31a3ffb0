import type { IExecuteFunctions, INode, Logger, NodeEgressFilter, RequestHelperFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';

import type { Dispatcher } from 'undici';
import { EnvHttpProxyAgent, request } from 'undici';

import type { ErrorHints } from './errors';
import {
	asDifyError,
	connectionFailureToError,
	egressBlockedToError,
	egressRefusal,
	errorCode,
	httpFailureToError,
	notJsonToError,
	redactedError,
	redirectToError,
	timeoutToError,
} from './errors';
import type { MultipartFile } from './multipart';
import type { RetryPolicy } from './retry';
import { MAX_RETRIES, retryDelayMs, sleep } from './retry';
import { encodeMultipart } from './multipart';
import { CancelRelay } from './cancelRelay';
import { maskSecret, StreamRedaction } from './redaction';
import { ProgressClock, SilenceWatch } from './silence';
import type { DifySseFrame, EventNameSet } from './sse';
import { parseFrame, SseFrameError, SseFrameReader } from './sse';

/** The Dify API credential as n8n hands it over. */
export interface DifyCredentials {
	baseUrl: string;
	apiKey: string;
}

type QueryValue = string | number | boolean | undefined;

/**
 * What the calling operation tells the user when a call fails in a way the operation's own options
 * govern: the transport says what happened, the operation what to change.
 */
export interface CallAdvice {
	/** No answer within the call's bound. */
	timeout?: string;
	/** A stream carried no event within its bound (keep-alive pings do not count). */
	silence?: string;
	/** A stream broke after it began. */
	broken?: string;
}

/** What the operation that asked for a download tells the user when it fails. */
export interface DownloadAdvice {
	/** The file is larger than the limit it was given. */
	tooLarge?: string;
	/** The file could not be fetched. */
	failed?: string;
}

interface CallBase {
	path: string;
	query?: Record<string, QueryValue>;
	/** Bound for the whole answer of a JSON call; for a stream, the longest silence allowed. */
	timeoutMs?: number;
	/** Operation-specific advice, by Dify error code or HTTP status. */
	hints?: ErrorHints;
	/** Operation-specific advice for failures with no answer from Dify. */
	advice?: CallAdvice;
	/** Which failures are retried; by default GET calls are reads and the rest are not retried. */
	retry?: RetryPolicy;
	/** Made even when the execution is being stopped (the stop call that ends a cancelled run). */
	ignoreCancel?: boolean;
}

export interface JsonCall extends CallBase {
	method: 'GET' | 'POST';
	body?: unknown;
}

export interface StreamCall extends CallBase {
	/** POST (the default) sends `body` as JSON; GET reads an existing run's events. */
	method?: 'GET' | 'POST';
	body?: unknown;
	/** The events the caller looks at; the others are dropped unread (the first frame always comes). */
	only?: EventNameSet;
	/**
	 * The run's progress so far, when this stream goes on from an earlier one: the silence allowed
	 * (timeoutMs) then counts from the run's last event, not from this request.
	 */
	progress?: ProgressClock;
}

export interface UploadCall extends CallBase {
	fields: Record<string, string>;
	file: MultipartFile;
}

/** What a streaming call returned: either SSE frames, or JSON from a server that would not stream. */
export type StreamResponse =
	| { kind: 'events'; frames: AsyncIterable<DifySseFrame[]> }
	| { kind: 'json'; body: unknown };

export const DEFAULT_TIMEOUT_MS = 60_000;

/** Bytes kept of an error body: enough for Dify's JSON or a proxy page's title. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** Redirects a file download follows; Dify's signed links redirect at most once or twice (object storage). */
const MAX_DOWNLOAD_REDIRECTS = 5;
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

let sharedDispatcher: Dispatcher | undefined;
const dispatcherByEgress = new WeakMap<NodeEgressFilter, Dispatcher>();

/**
 * One keep-alive pool for every execution in this n8n process (one per outbound policy, when n8n
 * has one). It honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY, as n8n's own HTTP calls do; under a
 * policy, every connection's DNS answer is checked against it, as n8n's own clients do, so a host
 * that passed the check before the request cannot resolve elsewhere when connecting.
 */
function dispatcher(egress: NodeEgressFilter | undefined): Dispatcher {
	if (!egress) return (sharedDispatcher ??= new EnvHttpProxyAgent({ keepAliveTimeout: 10_000 }));
	let pool = dispatcherByEgress.get(egress);
	if (!pool) {
		pool = new EnvHttpProxyAgent({ keepAliveTimeout: 10_000, connect: { lookup: egress.createSecureLookup() } });
		dispatcherByEgress.set(egress, pool);
	}
	return pool;
}

/** An address as messages show it: no credentials, no signed query string. */
function shownAddress(url: URL): string {
	return `${url.protocol}//${url.host}${url.pathname}`;
}

/** What a download gives: its bytes as they arrive, bounded, and what the server said they are. */
export interface DownloadedFile {
	body: Readable;
	contentType?: string;
}

/** Validates and normalises the credential's base URL: trimmed, no trailing slash. */
export function normaliseBaseUrl(node: INode, raw: unknown): string {
	const text = typeof raw === 'string' ? raw.trim().replace(/\/+$/, '') : '';
	let url: URL | undefined;
	try {
		url = new URL(text);
	} catch {
		url = undefined;
	}
	if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
		throw new NodeOperationError(node, `The Base URL of the Dify API credential is not a valid http(s) URL: "${text}"`, {
			description: 'Set it to https://api.dify.ai/v1 for Dify Cloud, or to your Dify host followed by /v1.',
		});
	}
	return text;
}

/** The base URL as shown in messages: without any user:password part. */
export function displayUrl(baseUrl: string): string {
	const url = new URL(baseUrl);
	url.username = '';
	url.password = '';
	return url.toString().replace(/\/+$/, '');
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string {
	const value = headers[name];
	return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/**
 * Closes a response body the node no longer reads. undici reports the abort as an 'error' event,
 * which would crash n8n if nobody listened for it.
 */
function closeBody(body: Dispatcher.ResponseData['body']): void {
	if (body.destroyed) return;
	body.on('error', () => {});
	body.destroy();
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of body) {
		const buffer = chunk as Buffer;
		chunks.push(buffer);
		size += buffer.length;
		if (size >= ERROR_BODY_LIMIT) {
			closeBody(body);
			break;
		}
	}
	return Buffer.concat(chunks).toString('utf8').slice(0, ERROR_BODY_LIMIT);
}

/** A retry wait, unless it would end after the deadline: then the failure is shown at once. */
function within(deadline: number | undefined, wait: number | undefined): number | undefined {
	return wait !== undefined && deadline !== undefined && Date.now() + wait >= deadline ? undefined : wait;
}

const brokenStreams = new WeakSet<Error>();

/** Whether an error is a stream whose connection broke after it began: a run may be re-attached then. */
export function isBrokenStream(error: unknown): boolean {
	return error instanceof Error && brokenStreams.has(error);
}

/** Marks an abort caused by the stream's silence, as opposed to the execution being cancelled. */
class SilenceTimeout extends Error {
	constructor(readonly ms: number) {
		super(`no event for ${ms} ms`);
	}
}

/**
 * The one place that knows how Dify is reached: URL, authentication, undici, timeouts,
 * cancellation, and how failures become n8n errors. Operations say what to ask; this says how.
 */
export class DifyTransport {
	readonly shownBaseUrl: string;
	private readonly cancelRelay?: CancelRelay;

	constructor(
		readonly node: INode,
		readonly baseUrl: string,
		private readonly apiKey: string,
		private readonly cancelSignal?: AbortSignal,
		private readonly logger?: Logger,
		/** n8n's outbound policy (SSRF protection); absent before n8n 2.41. */
		private readonly egress?: NodeEgressFilter,
	) {
		this.shownBaseUrl = displayUrl(baseUrl);
		if (cancelSignal) this.cancelRelay = new CancelRelay(cancelSignal);
	}

	/** Whether the n8n execution was stopped. */
	get cancelled(): boolean {
		return this.cancelSignal?.aborted === true;
	}

	/** Calls a JSON endpoint and returns its parsed body. */
	async json<T>(itemIndex: number, call: JsonCall): Promise<T> {
		const response = await this.send(itemIndex, call.method, call, {
			body: call.body === undefined ? undefined : JSON.stringify(call.body),
			contentType: call.body === undefined ? undefined : 'application/json',
		});
		return (await this.readJson(itemIndex, response, call)) as T;
	}

	/** Posts a JSON body (or GETs a run's events) and returns Dify's event stream, read as the caller iterates it. */
	async stream(itemIndex: number, call: StreamCall): Promise<StreamResponse> {
		const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
		const silence = new AbortController();
		const clock = call.progress ?? new ProgressClock();
		const left = Math.max(1, timeoutMs - clock.quietFor());
		const watch = new SilenceWatch(timeoutMs, () => silence.abort(new SilenceTimeout(timeoutMs)), clock);
		const method = call.method ?? 'POST';
		let response: Dispatcher.ResponseData;
		try {
			response = await this.send(
				itemIndex,
				method,
				{ retry: method === 'GET' ? 'read' : 'start', ...call, timeoutMs },
				method === 'GET'
					? { accept: 'text/event-stream' }
					: { body: JSON.stringify(call.body), contentType: 'application/json', accept: 'text/event-stream' },
				silence.signal,
				Date.now() + left,
			);
		} catch (error) {
			watch.stop();
			// A re-attached stream that times out before it starts is still the run's silence.
			throw this.silenceError(silence.signal, call, itemIndex, clock.started) ?? error;
		}
		const contentType = headerValue(response.headers, 'content-type');
		if (!contentType.includes('text/event-stream')) {
			watch.stop();
			return { kind: 'json', body: await this.readJson(itemIndex, response, call) };
		}
		const body = response.body;
		clock.begin();
		const read = async function* (this: DifyTransport): AsyncGenerator<DifySseFrame[]> {
			try {
				const reader = new SseFrameReader(call.only);
				for await (const chunk of body) {
					const frames = reader.feed(chunk as Buffer);
					// Frames completed (dropped ones included) and bytes of a frame still arriving are progress; keep-alive pings are not.
					if (reader.progressed()) watch.progress();
					if (frames.length > 0) yield frames;
				}
				const rest = reader.end();
				if (rest.length > 0) yield rest;
			} catch (error) {
				throw this.silenceError(silence.signal, call, itemIndex, true) ?? this.streamFailure(error, itemIndex, call.advice);
			} finally {
				watch.stop();
				// Dify 1.13 may keep the socket open after the last event: leaving means closing it.
				closeBody(body);
			}
		};
		return { kind: 'events', frames: read.call(this) };
	}

	/** Uploads one file as multipart/form-data, streaming its content. */
	async upload<T>(itemIndex: number, call: UploadCall): Promise<T> {
		const multipart = encodeMultipart(call.fields, call.file);
		try {
			// The file is streamed once and cannot be sent again: uploads are never retried.
			const response = await this.send(itemIndex, 'POST', { ...call, retry: 'none' }, {
				body: multipart.body,
				contentType: multipart.contentType,
				contentLength: multipart.contentLength,
			});
			return (await this.readJson(itemIndex, response, call)) as T;
		} finally {
			// A request that failed before reading the body (or that Dify answered early) never
			// reached the file's end, which is what closes it: its descriptor would stay open.
			multipart.close();
		}
	}

	/** Parses one frame's JSON; a frame that is not an event object fails the item clearly. */
	event<T>(itemIndex: number, frame: DifySseFrame): T {
		try {
			return parseFrame<T>(frame);
		} catch (error) {
			throw this.streamFailure(error, itemIndex);
		}
	}

	/**
	 * Downloads a file Dify links to in a run's outputs, at most `maxBytes` of it. The link is
	 * signed, so no API key is sent and redirects (to object storage, say) are followed, each hop
	 * under n8n's outbound policy; a relative link is resolved against the base URL's host.
	 */
	async download(itemIndex: number, link: string, maxBytes: number, advice: DownloadAdvice = {}): Promise<DownloadedFile> {
		const failure = (where: string, why: string, cause?: string) =>
			new NodeOperationError(this.node, `Could not download the output file at ${where}: ${why}`, {
				itemIndex,
				description: cause ?? advice.failed ?? 'Check that n8n can reach that address.',
			});
		let url: URL;
		try {
			url = new URL(link, this.baseUrl);
		} catch {
			throw failure(link.slice(0, 200), 'its address is not a URL');
		}
		const cancel = this.cancelSignal && this.cancelRelay;
		for (let hop = 0; ; hop++) {
			if (url.protocol !== 'http:' && url.protocol !== 'https:') {
				throw failure(shownAddress(url), `only http and https links are downloaded, not ${url.protocol}`);
			}
			await this.admit(url, itemIndex, `the output file at ${shownAddress(url)}`);
			let response: Dispatcher.ResponseData;
			try {
				response = await request(url, {
					method: 'GET',
					headers: { accept: '*/*' },
					dispatcher: dispatcher(this.egress),
					signal: cancel,
					headersTimeout: DOWNLOAD_TIMEOUT_MS,
					bodyTimeout: DOWNLOAD_TIMEOUT_MS,
				});
			} catch (error) {
				if (this.cancelled || egressRefusal(error)) throw this.readFailure(error, itemIndex);
				const code = errorCode(error) ?? (error instanceof Error ? error.message : String(error));
				throw failure(shownAddress(url), `the connection failed (${this.redact(code)})`);
			}
			const { statusCode } = response;
			const location = headerValue(response.headers, 'location');
			if (statusCode >= 300 && statusCode < 400 && location) {
				closeBody(response.body);
				if (hop >= MAX_DOWNLOAD_REDIRECTS) {
					throw failure(shownAddress(url), `it redirected more than ${MAX_DOWNLOAD_REDIRECTS} times`);
				}
				const next = new URL(location, url);
				try {
					this.egress?.validateRedirectSync(next.toString());
				} catch (error) {
					throw this.blocked(error, itemIndex, `the output file at ${shownAddress(next)}`);
				}
				url = next;
				continue;
			}
			if (statusCode < 200 || statusCode >= 300) {
				closeBody(response.body);
				throw failure(
					shownAddress(url),
					`the server answered HTTP ${statusCode}`,
					statusCode === 403 || statusCode === 404 || statusCode === 410
						? "Dify's file links are signed and expire (FILES_ACCESS_TIMEOUT on the Dify server, 5 minutes by default): run the workflow again, or download the file soon after the run."
						: undefined,
				);
			}
			const declared = Number(headerValue(response.headers, 'content-length'));
			if (Number.isFinite(declared) && declared > maxBytes) {
				closeBody(response.body);
				throw this.tooLarge(itemIndex, shownAddress(url), maxBytes, advice);
			}
			return {
				body: this.bounded(response.body, maxBytes, itemIndex, shownAddress(url), advice, failure),
				contentType: headerValue(response.headers, 'content-type') || undefined,
			};
		}
	}

	/** Passes a body through, failing it once more than `maxBytes` arrived (a length header may lie or lack). */
	private bounded(
		body: Readable,
		maxBytes: number,
		itemIndex: number,
		where: string,
		advice: DownloadAdvice,
		failure: (where: string, why: string) => NodeOperationError,
	): Readable {
		let seen = 0;
		let failed = false;
		const limit = new Transform({
			transform: (chunk: Buffer, _encoding, done) => {
				seen += chunk.length;
				if (seen <= maxBytes) return done(null, chunk);
				failed = true;
				done(this.tooLarge(itemIndex, where, maxBytes, advice));
				closeBody(body as Dispatcher.ResponseData['body']);
			},
		});
		body.on('error', (error) => {
			if (failed) return;
			failed = true;
			limit.destroy(failure(where, `the connection broke (${errorCode(error) ?? error.message})`));
		});
		return body.pipe(limit);
	}

	private tooLarge(itemIndex: number, where: string, maxBytes: number, advice: DownloadAdvice): NodeOperationError {
		const mb = Math.round((maxBytes / 1024 / 1024) * 100) / 100;
		return new NodeOperationError(this.node, `The output file at ${where} is larger than ${mb} MB`, {
			itemIndex,
			description: advice.tooLarge ?? `The download stopped at ${mb} MB.`,
		});
	}

	/** Asks n8n's outbound policy whether the address may be reached, before any connection. */
	private async admit(url: URL, itemIndex: number, what: string): Promise<void> {
		if (!this.egress) return;
		const verdict = await this.egress.validateUrl(url);
		if (!verdict.ok) throw this.blocked(verdict.error, itemIndex, what);
	}

	/** n8n refused an address under its outbound policy: say so, and who can change it. */
	private blocked(error: unknown, itemIndex: number, what: string): NodeOperationError {
		return egressBlockedToError(this.node, error, what, itemIndex);
	}

	private url(call: CallBase): string {
		const url = new URL(this.baseUrl + call.path);
		for (const [key, value] of Object.entries(call.query ?? {})) {
			if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
		}
		return url.toString();
	}

	private async send(
		itemIndex: number,
		method: 'GET' | 'POST',
		call: CallBase,
		payload: {
			body?: string | Readable;
			contentType?: string;
			contentLength?: number;
			accept?: string;
		},
		extraSignal?: AbortSignal,
		deadline?: number,
	): Promise<Dispatcher.ResponseData> {
		const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
		const headers: Record<string, string> = { accept: payload.accept ?? 'application/json' };
		headers.authorization = `Bearer ${this.apiKey}`;
		if (payload.contentType) headers['content-type'] = payload.contentType;
		if (payload.contentLength !== undefined) headers['content-length'] = String(payload.contentLength);
		const cancel = call.ignoreCancel ? undefined : this.cancelSignal;
		// What waits between retries listen to, and what undici listens to: a stream's own signal
		// combines cancel and silence (once per run); a plain call gets the cheap relay.
		const signal = cancel && extraSignal ? AbortSignal.any([cancel, extraSignal]) : (extraSignal ?? cancel);
		const requestSignal = extraSignal ? signal : cancel && this.cancelRelay;
		const policy = call.retry ?? (method === 'GET' ? 'read' : 'none');
		// Retries end within the call's Timeout: its bound covers every attempt and every wait.
		const end = deadline ?? Date.now() + timeoutMs;
		const url = this.url(call);
		await this.admit(new URL(url), itemIndex, `Dify at ${this.shownBaseUrl}`);
		let response: Dispatcher.ResponseData;
		for (let attempt = 0; ; attempt++) {
			const left = Math.max(1, end - Date.now());
			try {
				response = await request(url, {
					method,
					headers,
					body: payload.body,
					dispatcher: dispatcher(this.egress),
					signal: requestSignal,
					// A stream's silence (its headers included) is watched by stream() alone: a second timer
					// here would race it and name the same wait differently.
					headersTimeout: extraSignal ? 0 : left,
					bodyTimeout: extraSignal ? 0 : left,
				});
			} catch (error) {
				const code = errorCode(error);
				const wait = signal?.aborted || egressRefusal(error) ? undefined : within(end, retryDelayMs(policy, attempt, { code }));
				if (wait === undefined) throw this.readFailure(error, itemIndex, timeoutMs, call.advice);
				await this.pause(wait, attempt, `${method} ${call.path} failed (${code})`, signal, itemIndex);
				continue;
			}
			const retryAfter = headerValue(response.headers, 'retry-after') || undefined;
			const wait =
				response.statusCode >= 400
					? within(end, retryDelayMs(policy, attempt, { status: response.statusCode, retryAfter }))
					: undefined;
			if (wait === undefined) break;
			closeBody(response.body);
			await this.pause(wait, attempt, `Dify answered HTTP ${response.statusCode} to ${method} ${call.path}`, signal, itemIndex);
		}
		if (response.statusCode >= 200 && response.statusCode < 300) return response;
		if (response.statusCode >= 300 && response.statusCode < 400) {
			closeBody(response.body);
			throw redirectToError(this.node, this.shownBaseUrl, response.statusCode, headerValue(response.headers, 'location'), itemIndex);
		}
		const text = this.redact(await readLimited(response.body).catch(() => ''));
		throw httpFailureToError(
			this.node,
			{
				status: response.statusCode,
				body: asDifyError(text),
				rawText: this.redact(text),
				contentType: headerValue(response.headers, 'content-type'),
				retryAfter: headerValue(response.headers, 'retry-after') || undefined,
				baseUrl: this.shownBaseUrl,
				path: call.path,
			},
			itemIndex,
			call.hints,
		);
	}

	/** Waits before a retry and says so in n8n's log: a slow call should not look like a hang. */
	private async pause(
		ms: number,
		attempt: number,
		what: string,
		signal: AbortSignal | undefined,
		itemIndex: number,
	): Promise<void> {
		this.logger?.warn(
			`Dify Workflow: ${what}; retrying in ${(ms / 1000).toFixed(1)} s (retry ${attempt + 1} of ${MAX_RETRIES})`,
			{ node: this.node.name, itemIndex },
		);
		try {
			await sleep(ms, signal);
		} catch (error) {
			throw this.readFailure(error, itemIndex);
		}
	}

	private async readJson(itemIndex: number, response: Dispatcher.ResponseData, call: CallBase): Promise<unknown> {
		let text: string;
		try {
			text = await response.body.text();
		} catch (error) {
			throw this.readFailure(error, itemIndex, call.timeoutMs ?? DEFAULT_TIMEOUT_MS, call.advice);
		}
		try {
			return JSON.parse(text) as unknown;
		} catch {
			throw notJsonToError(this.node, this.shownBaseUrl, response.statusCode, headerValue(response.headers, 'content-type'), itemIndex);
		}
	}

	/** Maps a failure with no HTTP answer (connection, TLS, timeout, cancellation). */
	private readFailure(error: unknown, itemIndex: number, timeoutMs?: number, advice?: CallAdvice): Error {
		if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
		const code = (error as { code?: string } | undefined)?.code;
		if (this.cancelSignal?.aborted) {
			return new NodeOperationError(this.node, 'The execution was stopped while waiting for Dify', {
				itemIndex,
			});
		}
		const refusal = egressRefusal(error);
		if (refusal) return this.blocked(refusal, itemIndex, `Dify at ${this.shownBaseUrl}`);
		if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
			return timeoutToError(this.node, this.shownBaseUrl, timeoutMs ?? DEFAULT_TIMEOUT_MS, itemIndex, advice?.timeout);
		}
		return redactedError(connectionFailureToError(this.node, error, this.shownBaseUrl, itemIndex), (text) => this.redact(text));
	}

	/** A stream that broke after it began: the connection, not the address, is at fault. */
	private streamFailure(error: unknown, itemIndex: number, advice?: CallAdvice): Error {
		if (error instanceof NodeApiError || error instanceof NodeOperationError || this.cancelSignal?.aborted) {
			return this.readFailure(error, itemIndex);
		}
		const detail = this.redact(error instanceof Error ? error.message : String(error));
		const parseProblem = error instanceof SseFrameError;
		const failure = new NodeApiError(this.node, { message: detail }, {
			message: parseProblem
				? detail
				: `The connection to Dify at ${this.shownBaseUrl} broke in the middle of the event stream`,
			description: parseProblem
				? `Something between n8n and Dify altered the event stream, or the Dify server is not a compatible version.${advice?.broken ? ` ${advice.broken}` : ''}`
				: `${advice?.broken ? `${advice.broken} ` : ''}[${detail}]`,
			itemIndex,
		});
		if (!parseProblem) brokenStreams.add(failure);
		return failure;
	}

	private silenceError(
		signal: AbortSignal,
		call: StreamCall,
		itemIndex: number,
		streaming: boolean,
	): Error | undefined {
		if (!(signal.reason instanceof SilenceTimeout) || this.cancelSignal?.aborted) return undefined;
		const seconds = Math.round(signal.reason.ms / 1000);
		return new NodeApiError(this.node, { message: 'stream timeout' }, {
			message: streaming
				? `Dify sent no workflow event for ${seconds} s, so the node stopped waiting`
				: `Dify did not start the event stream within ${seconds} s`,
			description: `Keep-alive pings do not count as progress.${call.advice?.silence ? ` ${call.advice.silence}` : ''}`,
			itemIndex,
		});
	}

	/** Removes the API key from text sent on in pieces, a piece at a time (live text to a streaming caller). */
	liveRedaction(): StreamRedaction {
		return new StreamRedaction(this.apiKey);
	}

	/** Removes the API key from text that came from elsewhere (a proxy echoing headers, say). */
	redact(text: string): string {
		return maskSecret(text, this.apiKey);
	}

	/**
	 * Removes the API key from every string of a JSON value, keys included, in place: what leaves
	 * the node is built from what Dify sent, and Dify (or a proxy) may quote the request's headers.
	 */
	redactJson<T>(value: T): T {
		if (typeof value === 'string') return this.redact(value) as T;
		if (value === null || typeof value !== 'object') return value;
		if (Array.isArray(value)) {
			for (let index = 0; index < value.length; index++) value[index] = this.redactJson(value[index] as unknown);
			return value;
		}
		const record = value as Record<string, unknown>;
		for (const key of Object.keys(record)) {
			const shown = this.redact(key);
			const redacted = this.redactJson(record[key]);
			if (shown !== key) delete record[key];
			record[shown] = redacted;
		}
		return value;
	}
}

/** The credential's API key, trimmed; a missing one says where it goes. */
export function readApiKey(node: INode, raw: unknown): string {
	const apiKey = typeof raw === 'string' ? raw.trim() : '';
	if (!apiKey) {
		throw new NodeOperationError(node, 'The Dify API credential has no API key', {
			description: "Paste the workflow app's API key (it starts with app-) into the Dify API credential.",
		});
	}
	return apiKey;
}

/** What the transport needs of n8n: an execution, or the editor loading options. */
type TransportContext = Pick<IExecuteFunctions, 'getCredentials' | 'getNode' | 'logger'> &
	Partial<Pick<IExecuteFunctions, 'getExecutionCancelSignal'>> & {
		helpers?: Partial<Pick<RequestHelperFunctions, 'getSecureEgressFilter'>>;
	};

/** Builds the transport for one execution (or one options request) from the Dify API credential. */
export async function createDifyTransport(ctx: TransportContext, cancelSignal?: AbortSignal): Promise<DifyTransport> {
	const credentials = await ctx.getCredentials<DifyCredentials>('difyApi');
	const node = ctx.getNode();
	const apiKey = readApiKey(node, credentials.apiKey);
	const cancel = cancelSignal ?? (typeof ctx.getExecutionCancelSignal === 'function' ? ctx.getExecutionCancelSignal() : undefined);
	// n8n 2.41 hands nodes with their own HTTP client its outbound policy; older versions have none.
	const egress = typeof ctx.helpers?.getSecureEgressFilter === 'function' ? ctx.helpers.getSecureEgressFilter() : undefined;
	return new DifyTransport(node, normaliseBaseUrl(node, credentials.baseUrl), apiKey, cancel, ctx.logger, egress);
}
