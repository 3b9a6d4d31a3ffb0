import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';

import { createParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { EnvHttpProxyAgent, request } from 'undici';

/**
 * The floors: what the same work costs with nothing but undici (and, for streams,
 * eventsource-parser). They talk to the same stand-in as the node and read every byte.
 */

export interface Target {
	/** 'http://127.0.0.1:PORT/v1' */
	url: string;
	apiKey: string;
}

/** Configured as the node's own pool is (transport/request.ts), so keep-alive behaves the same. */
export function floorAgent(): Dispatcher {
	return new EnvHttpProxyAgent({ keepAliveTimeout: 10_000 });
}

export interface RawStreamResult {
	events: number;
	bytes: number;
	ms: number;
	/** From the call to the first dispatched event. */
	firstEventMs: number;
}

/** Starts a streaming run and reads its SSE body to the end, doing nothing with the events. */
export async function rawStream(target: Target, agent: Dispatcher, inputs: Record<string, unknown>): Promise<RawStreamResult> {
	const started = performance.now();
	let firstEventAt = 0;
	let events = 0;
	let bytes = 0;
	const { statusCode, body } = await request(`${target.url}/workflows/run`, {
		method: 'POST',
		headers: {
			authorization: `Bearer ${target.apiKey}`,
			'content-type': 'application/json',
			accept: 'text/event-stream',
		},
		body: JSON.stringify({ inputs, user: 'bench', response_mode: 'streaming' }),
		dispatcher: agent,
	});
	if (statusCode !== 200) throw new Error(`The stand-in answered HTTP ${statusCode} to a streaming run: ${await body.text()}`);
	const parser = createParser({
		onEvent() {
			if (events === 0) firstEventAt = performance.now();
			events++;
		},
	});
	// The decoder the node uses: TextDecoder costs about four times more on Node.js 20, and a floor
	// that spent it would hide the node's own costs behind a slower decoder.
	const decoder = new StringDecoder('utf8');
	for await (const chunk of body) {
		bytes += (chunk as Buffer).length;
		parser.feed(decoder.write(chunk as Buffer));
	}
	parser.feed(decoder.end());
	const ended = performance.now();
	return { events, bytes, ms: ended - started, firstEventMs: firstEventAt - started };
}

/** `count` runs, `concurrency` at a time, each read to the end; the wall time of all of them. */
export async function rawStreams(
	target: Target,
	agent: Dispatcher,
	inputs: Record<string, unknown>,
	count: number,
	concurrency: number,
): Promise<number> {
	const started = performance.now();
	let next = 0;
	const worker = async () => {
		while (next < count) {
			next++;
			await rawStream(target, agent, inputs);
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
	return performance.now() - started;
}

export interface GetInfoVariant {
	/** Keep the answers as n8n items until the end, as a node's output is kept. */
	keep?: boolean;
	/**
	 * Hand every request one long-lived AbortSignal, as a node would with the execution's cancel
	 * signal if it passed it straight to undici (the transport relays it through an EventEmitter
	 * instead: transport/cancelRelay.ts).
	 */
	abortSignal?: boolean;
}

/** `calls` sequential GET /info calls, each body parsed as JSON; the wall time of all of them. */
export async function rawGetInfo(target: Target, agent: Dispatcher, calls: number, variant: GetInfoVariant = {}): Promise<number> {
	const kept: Array<{ json: unknown; pairedItem: { item: number } }> = [];
	const signal = variant.abortSignal ? new AbortController().signal : undefined;
	const started = performance.now();
	for (let i = 0; i < calls; i++) {
		const { statusCode, body } = await request(`${target.url}/info`, {
			method: 'GET',
			headers: { authorization: `Bearer ${target.apiKey}`, accept: 'application/json' },
			dispatcher: agent,
			signal,
		});
		const info = (await body.json()) as { name?: unknown };
		if (statusCode !== 200 || typeof info.name !== 'string') throw new Error(`GET /info answered HTTP ${statusCode}`);
		if (variant.keep) kept.push({ json: info, pairedItem: { item: i } });
	}
	const ms = performance.now() - started;
	if (kept.length !== (variant.keep ? calls : 0)) throw new Error('Answers went missing');
	return ms;
}

export interface RawUploadResult {
	ms: number;
	/** The size Dify reported for the stored file. */
	size: number;
}

/** Uploads a file from disk as multipart/form-data, streamed, with a Content-Length. */
export async function rawUpload(
	target: Target,
	agent: Dispatcher,
	file: { path: string; size: number; fileName: string; mimeType: string },
): Promise<RawUploadResult> {
	const boundary = '----benchFloorBoundary7MA4YWxkTrZu0gW';
	const head = Buffer.from(
		`--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nbench\r\n` +
			`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.fileName}"\r\n` +
			`Content-Type: ${file.mimeType}\r\n\r\n`,
	);
	const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
	async function* parts(): AsyncGenerator<Uint8Array> {
		yield head;
		for await (const chunk of createReadStream(file.path)) yield chunk as Buffer;
		yield tail;
	}
	const started = performance.now();
	const { statusCode, body } = await request(`${target.url}/files/upload`, {
		method: 'POST',
		headers: {
			authorization: `Bearer ${target.apiKey}`,
			accept: 'application/json',
			'content-type': `multipart/form-data; boundary=${boundary}`,
			'content-length': String(head.length + file.size + tail.length),
		},
		body: Readable.from(parts(), { objectMode: false }),
		dispatcher: agent,
		headersTimeout: 10 * 60_000,
		bodyTimeout: 10 * 60_000,
	});
	const answer = (await body.json()) as { size?: number; message?: string };
	if (statusCode !== 201) throw new Error(`The upload was refused (HTTP ${statusCode}): ${answer.message ?? ''}`);
	return { ms: performance.now() - started, size: Number(answer.size) };
}

export interface RawReattachResult {
	ms: number;
	/** From the moment the stream broke to the first event of the re-attached one. */
	gapMs: number;
	/** Whether the run's end (workflow_finished) was read, on the first stream or the second. */
	finished: boolean;
}

/**
 * A streaming run read as cheaply as a client can that re-attaches: when its stream breaks before
 * workflow_finished, it asks the run's events endpoint (with the state snapshot) for the rest.
 */
export async function rawStreamReattaching(target: Target, agent: Dispatcher, inputs: Record<string, unknown>): Promise<RawReattachResult> {
	const started = performance.now();
	let runId = '';
	let finished = false;
	let brokeAt = 0;
	let firstAgainAt = 0;
	const read = async (url: string, init: { method: 'GET' | 'POST'; body?: string }, again: boolean): Promise<void> => {
		const { statusCode, body } = await request(url, {
			...init,
			headers: {
				authorization: `Bearer ${target.apiKey}`,
				accept: 'text/event-stream',
				...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			dispatcher: agent,
		});
		if (statusCode !== 200) throw new Error(`The stand-in answered HTTP ${statusCode}: ${await body.text()}`);
		const parser = createParser({
			onEvent(message) {
				if (again && firstAgainAt === 0) firstAgainAt = performance.now();
				// The run's id comes with the first event; the end is the only other event looked at.
				if (runId === '') runId = (JSON.parse(message.data) as { workflow_run_id: string }).workflow_run_id;
				if (message.data.startsWith('{"event":"workflow_finished"')) finished = true;
			},
		});
		const decoder = new StringDecoder('utf8');
		for await (const chunk of body) parser.feed(decoder.write(chunk as Buffer));
		parser.feed(decoder.end());
	};
	try {
		await read(`${target.url}/workflows/run`, { method: 'POST', body: JSON.stringify({ inputs, user: 'bench', response_mode: 'streaming' }) }, false);
	} catch (error) {
		if (runId === '') throw error;
	}
	if (!finished) {
		brokeAt = performance.now();
		const query = new URLSearchParams({ user: 'bench', include_state_snapshot: 'true' });
		await read(`${target.url}/workflow/${runId}/events?${query}`, { method: 'GET' }, true);
	}
	return { ms: performance.now() - started, gapMs: brokeAt === 0 ? NaN : firstAgainAt - brokeAt, finished };
}

/**
 * Reads every log row created at or after `sinceIso`, 100 a page, as the trigger's poll does, each
 * body parsed as JSON; the rows and the pages read.
 */
export async function rawLogPages(target: Target, agent: Dispatcher, sinceIso: string): Promise<{ rows: number; pages: number }> {
	let rows = 0;
	let pages = 0;
	for (let page = 1; ; page++) {
		const url = `${target.url}/workflows/logs?created_at__after=${encodeURIComponent(sinceIso)}&page=${page}&limit=100`;
		const { statusCode, body } = await request(url, {
			method: 'GET',
			headers: { authorization: `Bearer ${target.apiKey}`, accept: 'application/json' },
			dispatcher: agent,
		});
		const result = (await body.json()) as { data?: unknown[]; has_more?: boolean };
		if (statusCode !== 200 || !Array.isArray(result.data)) throw new Error(`GET /workflows/logs answered HTTP ${statusCode}`);
		pages++;
		rows += result.data.length;
		if (!result.has_more || result.data.length === 0) return { rows, pages };
	}
}

/** Adds runs to the stand-in as Dify's web app would (its own endpoint, beside the API). */
export async function addExternalRuns(target: Target, agent: Dispatcher, count: number): Promise<void> {
	const { statusCode, body } = await request(`${target.url.replace(/\/v1$/, '')}/_standin/runs`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ count, scenario: 'llm', createdFrom: 'web-app' }),
		dispatcher: agent,
	});
	const text = await body.text();
	if (statusCode !== 201) throw new Error(`POST /_standin/runs answered HTTP ${statusCode}: ${text}`);
}
