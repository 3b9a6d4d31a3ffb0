import type { IExecuteFunctions, INode, Logger } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { Readable } from 'node:stream';

import type { Dispatcher } from 'undici';
import { EnvHttpProxyAgent, request } from 'undici';

import type { DifyErrorBody } from '../types';
import type { ErrorHints } from './errors';
import { connectionFailureToError, errorCode, httpFailureToError } from './errors';
import type { MultipartFile } from './multipart';
import type { RetryPolicy } from './retry';
import { MAX_RETRIES, retryDelayMs, sleep } from './retry';
import { encodeMultipart } from './multipart';
import { CancelRelay } from './cancelRelay';
import { SilenceWatch } from './silence';
import type { DifySseFrame, EventNameSet } from './sse';
import { parseFrame, SseFrameError, SseFrameReader } from './sse';

/** The Dify API credential as n8n hands it over. */
export interface DifyCredentials {
	baseUrl: string;
	apiKey: string;
}

type QueryValue = string | number | boolean | undefined;

interface CallBase {
	path: string;
	query?: Record<string, QueryValue>;
	/** Bound for the whole answer of a JSON call; for a stream, the longest silence allowed. */
	timeoutMs?: number;
	/** Operation-specific advice, by Dify error code or HTTP status. */
	hints?: ErrorHints;
	/** Which failures are retried; by default GET calls are reads and the rest are not retried. */
	retry?: RetryPolicy;
	/** Made even when the execution is being stopped (the stop call that ends a cancelled run). */
	ignoreCancel?: boolean;
	/** An absolute address instead of base URL + path (a signed file link). */
	url?: string;
	/** Sent without the API key. */
	anonymous?: boolean;
}

export interface JsonCall extends CallBase {
	method: 'GET' | 'POST';
	body?: unknown;
}

export interface StreamCall extends CallBase {
	body: unknown;
	/** The events the caller looks at; the others are dropped unread (the first frame always comes). */
	only?: EventNameSet;
	/** Names the parameter that sets timeoutMs, for the message of a silent stream. */
	timeoutParameter: string;
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

let sharedDispatcher: Dispatcher | undefined;

/**
 * One keep-alive pool for every execution in this n8n process. It honours HTTP_PROXY,
 * HTTPS_PROXY and NO_PROXY, as n8n's own HTTP calls do.
 */
function dispatcher(): Dispatcher {
	sharedDispatcher ??= new EnvHttpProxyAgent({ keepAliveTimeout: 10_000 });
	return sharedDispatcher;
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
function displayUrl(baseUrl: string): string {
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

function asDifyError(text: string): DifyErrorBody | undefined {
	try {
		const parsed = JSON.parse(text) as Partial<DifyErrorBody>;
		if (parsed && typeof parsed === 'object' && typeof parsed.message === 'string') {
			return {
				code: typeof parsed.code === 'string' ? parsed.code : '',
				message: parsed.message,
				status: typeof parsed.status === 'number' ? parsed.status : 0,
			};
		}
	} catch {}
	return undefined;
}

/** A retry wait, unless it would end after the deadline: then the failure is shown at once. */
function within(deadline: number | undefined, wait: number | undefined): number | undefined {
	return wait !== undefined && deadline !== undefined && Date.now() + wait >= deadline ? undefined : wait;
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

	/** Posts a JSON body and returns Dify's event stream, read as the caller iterates it. */
	async stream(itemIndex: number, call: StreamCall): Promise<StreamResponse> {
		const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
		const silence = new AbortController();
		const watch = new SilenceWatch(timeoutMs, () => silence.abort(new SilenceTimeout(timeoutMs)));
		let response: Dispatcher.ResponseData;
		try {
			response = await this.send(
				itemIndex,
				'POST',
				{ retry: 'start', ...call, timeoutMs },
				{ body: JSON.stringify(call.body), contentType: 'application/json', accept: 'text/event-stream' },
				silence.signal,
				Date.now() + timeoutMs,
			);
		} catch (error) {
			watch.stop();
			throw this.silenceError(error, silence.signal, call, itemIndex, false) ?? error;
		}
		const contentType = headerValue(response.headers, 'content-type');
		if (!contentType.includes('text/event-stream')) {
			watch.stop();
			return { kind: 'json', body: await this.readJson(itemIndex, response, call) };
		}
		const body = response.body;
		const read = async function* (this: DifyTransport): AsyncGenerator<DifySseFrame[]> {
			try {
				const reader = new SseFrameReader(call.only);
				for await (const chunk of body) {
					const frames = reader.feed(chunk as Buffer);
					// Every read with data is progress, frames dropped unread included; a keep-alive ping is not.
					if (reader.progressed()) watch.progress();
					if (frames.length > 0) yield frames;
				}
				const rest = reader.end();
				if (rest.length > 0) yield rest;
			} catch (error) {
				throw this.silenceError(error, silence.signal, call, itemIndex, true) ?? this.streamFailure(error, itemIndex);
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
		// The file is streamed once and cannot be sent again: uploads are never retried.
		const response = await this.send(itemIndex, 'POST', { ...call, retry: 'none' }, {
			body: multipart.body,
			contentType: multipart.contentType,
			contentLength: multipart.contentLength,
		});
		return (await this.readJson(itemIndex, response, call)) as T;
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
	 * Downloads a file Dify links to in a run's outputs. The link is signed, so no API key is sent
	 * (it may point at another host); a relative link is resolved against the base URL's host.
	 */
	async download(itemIndex: number, link: string): Promise<{ body: Readable; contentType?: string }> {
		let url: URL;
		try {
			url = new URL(link, this.baseUrl);
		} catch {
			throw new NodeApiError(this.node, { message: 'bad file link' }, {
				message: `Dify linked an output file with an address that is not a URL: ${link.slice(0, 200)}`,
				itemIndex,
			});
		}
		const response = await this.send(
			itemIndex,
			'GET',
			{ path: url.pathname, url: url.toString(), anonymous: true, timeoutMs: 10 * 60_000 },
			{ accept: '*/*' },
		);
		return { body: response.body, contentType: headerValue(response.headers, 'content-type') || undefined };
	}

	private url(call: CallBase): string {
		if (call.url) return call.url;
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
		if (!call.anonymous) headers.authorization = `Bearer ${this.apiKey}`;
		if (payload.contentType) headers['content-type'] = payload.contentType;
		if (payload.contentLength !== undefined) headers['content-length'] = String(payload.contentLength);
		const cancel = call.ignoreCancel ? undefined : this.cancelSignal;
		// What waits between retries listen to, and what undici listens to: a stream's own signal
		// combines cancel and silence (once per run); a plain call gets the cheap relay.
		const signal = cancel && extraSignal ? AbortSignal.any([cancel, extraSignal]) : (extraSignal ?? cancel);
		const requestSignal = extraSignal ? signal : cancel && this.cancelRelay;
		const policy = call.retry ?? (method === 'GET' ? 'read' : 'none');
		let response: Dispatcher.ResponseData;
		for (let attempt = 0; ; attempt++) {
			try {
				response = await request(this.url(call), {
					method,
					headers,
					body: payload.body,
					dispatcher: dispatcher(),
					signal: requestSignal,
					headersTimeout: timeoutMs,
					// A stream's silence is watched per event by stream(); a JSON body gets the same bound as its headers.
					bodyTimeout: extraSignal ? 0 : timeoutMs,
				});
			} catch (error) {
				const code = errorCode(error);
				const wait = signal?.aborted ? undefined : within(deadline, retryDelayMs(policy, attempt, { code }));
				if (wait === undefined) throw this.readFailure(error, itemIndex, timeoutMs);
				await this.pause(wait, attempt, `${method} ${call.path} failed (${code})`, signal, itemIndex);
				continue;
			}
			const retryAfter = headerValue(response.headers, 'retry-after') || undefined;
			const wait =
				response.statusCode >= 400
					? within(deadline, retryDelayMs(policy, attempt, { status: response.statusCode, retryAfter }))
					: undefined;
			if (wait === undefined) break;
			closeBody(response.body);
			await this.pause(wait, attempt, `Dify answered HTTP ${response.statusCode} to ${method} ${call.path}`, signal, itemIndex);
		}
		if (response.statusCode >= 200 && response.statusCode < 300) return response;
		if (response.statusCode >= 300 && response.statusCode < 400) {
			closeBody(response.body);
			const location = headerValue(response.headers, 'location');
			throw new NodeApiError(this.node, { status: response.statusCode, location }, {
				message: `Dify's API at ${this.shownBaseUrl} answered with a redirect (HTTP ${response.statusCode}) to ${location || 'an unnamed place'}`,
				description:
					'The node does not follow redirects, so the API key is never sent to another address. Set the Base URL of the Dify API credential to the address the redirect points to (for example https instead of http).',
				httpCode: String(response.statusCode),
				itemIndex,
			});
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
			throw this.readFailure(error, itemIndex, call.timeoutMs ?? DEFAULT_TIMEOUT_MS);
		}
		try {
			return JSON.parse(text) as unknown;
		} catch {
			const contentType = headerValue(response.headers, 'content-type');
			throw new NodeApiError(this.node, { status: response.statusCode }, {
				message: `Dify's API at ${this.shownBaseUrl} answered HTTP ${response.statusCode} with a body that is not JSON (${contentType || 'no content type'})`,
				description:
					"Something other than Dify's API answered, often the Dify web app when the Base URL lacks /v1. Set the Base URL of the Dify API credential to your Dify API address, ending with /v1.",
				httpCode: String(response.statusCode),
				itemIndex,
			});
		}
	}

	/** Maps a failure with no HTTP answer (connection, TLS, timeout, cancellation). */
	private readFailure(error: unknown, itemIndex: number, timeoutMs?: number): Error {
		if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
		const code = (error as { code?: string } | undefined)?.code;
		if (this.cancelSignal?.aborted) {
			return new NodeOperationError(this.node, 'The execution was stopped while waiting for Dify', {
				itemIndex,
			});
		}
		if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
			return new NodeApiError(this.node, { message: 'timeout' }, {
				message: `Dify did not answer within ${Math.round((timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s at ${this.shownBaseUrl}`,
				description:
					'The Dify server is slow or unreachable. For long workflow runs use the streaming response mode and raise the Timeout option.',
				itemIndex,
			});
		}
		const mapped = connectionFailureToError(this.node, error, this.shownBaseUrl, itemIndex);
		mapped.message = this.redact(mapped.message);
		if (mapped.description) mapped.description = this.redact(mapped.description);
		return mapped;
	}

	/** A stream that broke after it began: the connection, not the address, is at fault. */
	private streamFailure(error: unknown, itemIndex: number): Error {
		if (error instanceof NodeApiError || error instanceof NodeOperationError || this.cancelSignal?.aborted) {
			return this.readFailure(error, itemIndex);
		}
		const detail = this.redact(error instanceof Error ? error.message : String(error));
		const parseProblem = error instanceof SseFrameError;
		return new NodeApiError(this.node, { message: detail }, {
			message: parseProblem
				? detail
				: `The connection to Dify at ${this.shownBaseUrl} broke in the middle of the event stream`,
			description: parseProblem
				? 'Something between n8n and Dify altered the event stream, or the Dify server is not a compatible version. The run may have gone on in Dify: check it with Get Run.'
				: `The run may have gone on in Dify: check it with Get Run. [${detail}]`,
			itemIndex,
		});
	}

	private silenceError(
		error: unknown,
		signal: AbortSignal,
		call: StreamCall,
		itemIndex: number,
		streaming: boolean,
	): Error | undefined {
		if (!(signal.reason instanceof SilenceTimeout) || this.cancelSignal?.aborted) return undefined;
		void error;
		const seconds = Math.round(signal.reason.ms / 1000);
		return new NodeApiError(this.node, { message: 'stream timeout' }, {
			message: streaming
				? `Dify sent no workflow event for ${seconds} s, so the node stopped waiting`
				: `Dify did not start the event stream within ${seconds} s`,
			description: `Keep-alive pings do not count as progress. Raise the ${call.timeoutParameter} option if a step of the workflow really runs longer without sending events; otherwise check the run in Dify (a run that fails before it starts may send nothing in Dify 1.13).`,
			itemIndex,
		});
	}

	/** Removes the API key from text that came from elsewhere (a proxy echoing headers, say). */
	redact(text: string): string {
		return this.apiKey && text.includes(this.apiKey) ? text.split(this.apiKey).join('***') : text;
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

/** What the transport needs of n8n: an execution, or the editor loading options. */
type TransportContext = Pick<IExecuteFunctions, 'getCredentials' | 'getNode' | 'logger'> &
	Partial<Pick<IExecuteFunctions, 'getExecutionCancelSignal'>>;

/** Builds the transport for one execution (or one options request) from the Dify API credential. */
export async function createDifyTransport(ctx: TransportContext): Promise<DifyTransport> {
	const credentials = await ctx.getCredentials<DifyCredentials>('difyApi');
	const node = ctx.getNode();
	const apiKey = typeof credentials.apiKey === 'string' ? credentials.apiKey.trim() : '';
	if (!apiKey) {
		throw new NodeOperationError(node, 'The Dify API credential has no API key', {
			description: "Paste the workflow app's API key (it starts with app-) into the Dify API credential.",
		});
	}
	const cancelSignal = typeof ctx.getExecutionCancelSignal === 'function' ? ctx.getExecutionCancelSignal() : undefined;
	return new DifyTransport(node, normaliseBaseUrl(node, credentials.baseUrl), apiKey, cancelSignal, ctx.logger);
}
