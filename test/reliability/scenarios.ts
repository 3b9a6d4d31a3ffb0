import type { IDataObject } from 'n8n-workflow';

import type { DifyNodeRun } from '../integration/dify-node';
import { runDifyNode } from '../integration/dify-node';
import type { DifyStandin, StandinOptions } from '../standin/server';
import { startDifyStandin } from '../standin/server';
import { timed } from './harness';
import type { LocalServer } from './servers';
import { sentEvents } from '../integration/raw-stream';
import { beginStream, closedPort, frame, RunEvents, startLocalServer, writeApart } from './servers';

/**
 * The faults of issue 6, each a self-contained play: it starts its own servers on loopback, runs
 * the node once through n8n's engine with the API key it is given, measures what the server
 * sent independently of the node, and closes everything. faults.test.ts checks each one;
 * secrets.test.ts plays them all again with a recognisable key and looks for it everywhere.
 */

export interface Played {
	run: DifyNodeRun;
	elapsedMs: number;
	/** The base URL the node was given. */
	baseUrl: string;
	/** Events the server sent, counted without the node (by a raw client or by construction). */
	sent?: string[];
	/** Requests that reached the server the fault is about. */
	requests: number;
	/** Server-side streams still open once the node returned (after a short grace period). */
	openAfter?: number;
	/** Scenario-specific facts for its check. */
	facts: Record<string, unknown>;
}

export interface Scenario {
	id: string;
	title: string;
	/**
	 * The longest the node may take by its configuration: the Timeout option plus the retry waits
	 * it is designed to make. A play that runs longer than this plus a margin is a hang.
	 */
	boundMs: number;
	play(apiKey: string): Promise<Played>;
	check(played: Played): void;
}

/** A Timeout (seconds) for scenarios that must end by the silence timeout, and one for those that must not. */
export const SHORT_TIMEOUT_S = 1;
export const LONG_TIMEOUT_S = 3;
/** Backoff before retries 1–3 is 0.5 s, 1 s and 2 s, each with up to 20 % jitter. */
const THREE_RETRIES_MS = 4_200;

const TOPIC = '富士山';

export interface RunParameters {
	inputs?: unknown;
	user?: string;
	responseMode?: 'streaming' | 'blocking';
	output?: 'final' | 'events';
	options?: IDataObject;
}

/**
 * Stops an execution that is still going after this long, as the Stop button would: a hang then
 * fails its scenario's checks in seconds instead of holding the suite until jest's timeout.
 */
export const WATCHDOG_MS = 9_000;

/** Runs Workflow → Run with this suite's defaults: streaming, final output, the long timeout. */
export function runOperation(
	baseUrl: string,
	apiKey: string,
	parameters: RunParameters = {},
	extra: { items?: IDataObject[]; continueOnFail?: boolean; errorOutput?: boolean } = {},
): Promise<DifyNodeRun> {
	return runDifyNode({
		signal: AbortSignal.timeout(WATCHDOG_MS),
		parameters: {
			resource: 'workflow',
			operation: 'run',
			inputs: JSON.stringify({ topic: TOPIC }),
			user: 'user-42',
			responseMode: 'streaming',
			output: 'final',
			...parameters,
			options: { timeout: LONG_TIMEOUT_S, ...parameters.options },
		} as never,
		baseUrl,
		apiKey,
		...extra,
	});
}

/** Polls until `count()` is 0 or a second has passed; the node closes its side, the server notices soon after. */
async function settled(count: () => number): Promise<number> {
	for (let i = 0; i < 50 && count() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
	return count();
}

async function withStandin<T>(options: StandinOptions, work: (standin: DifyStandin) => Promise<T>): Promise<T> {
	const standin = await startDifyStandin(options);
	try {
		return await work(standin);
	} finally {
		await standin.close();
	}
}

async function withServers<T>(servers: Array<Promise<LocalServer>>, work: (servers: LocalServer[]) => Promise<T>): Promise<T> {
	const started = await Promise.allSettled(servers);
	const ready = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
	try {
		const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
		if (failed) throw failed.reason;
		return await work(ready);
	} finally {
		await Promise.all(ready.map(async (server) => await server.close()));
	}
}

const runRequests = (standin: DifyStandin) => standin.requests.filter((r) => r.path.endsWith('/run')).length;

/**
 * A streaming run of a stand-in scenario in `events` output under Continue On Fail, next to a
 * raw client that counts what the stand-in sends for the same scenario.
 */
function standinEventsPlay(
	standinOptions: StandinOptions,
	inputs: Record<string, unknown>,
	setup: { timeoutS?: number; rawLimitMs?: number; prepare?: (standin: DifyStandin) => void } = {},
): (apiKey: string) => Promise<Played> {
	return (apiKey) =>
		withStandin({ ...standinOptions, apiKey }, async (standin) => {
			setup.prepare?.(standin);
			const [sent, { value: run, elapsedMs }] = await Promise.all([
				sentEvents(standin.url, apiKey, inputs, { limitMs: setup.rawLimitMs }),
				timed(() =>
					runOperation(
						standin.url,
						apiKey,
						{ inputs, output: 'events', options: { timeout: setup.timeoutS ?? LONG_TIMEOUT_S } },
						{ continueOnFail: true },
					),
				),
			]);
			return {
				run,
				elapsedMs,
				baseUrl: standin.url,
				sent: sent.events.map((event) => event.event as string),
				requests: runRequests(standin),
				openAfter: await settled(() => standin.openStreams()),
				facts: { rawEnd: sent.end },
			};
		});
}

/** A run in `final` output against the stand-in with one fault on the run endpoint. */
function standinFaultPlay(
	fault: Parameters<DifyStandin['failNext']>[1],
	options: { times?: number; parameters?: RunParameters; standin?: StandinOptions } = {},
): (apiKey: string) => Promise<Played> {
	return (apiKey) =>
		withStandin({ ...options.standin, apiKey }, async (standin) => {
			standin.failNext({ method: 'POST', path: '/workflows/run' }, fault, options.times);
			const { value: run, elapsedMs } = await timed(() => runOperation(standin.url, apiKey, options.parameters));
			return {
				run,
				elapsedMs,
				baseUrl: standin.url,
				requests: runRequests(standin),
				openAfter: await settled(() => standin.openStreams()),
				facts: { runsStarted: standin.runs.size },
			};
		});
}

/** A run in `final` (or the given) output against one local server. */
export function localPlay(
	handler: Parameters<typeof startLocalServer>[0],
	options: { tls?: boolean; parameters?: RunParameters; continueOnFail?: boolean; baseUrl?: (server: LocalServer) => string } = {},
): (apiKey: string) => Promise<Played> {
	return (apiKey) =>
		withServers([startLocalServer(handler, { tls: options.tls })], async ([server]) => {
			const baseUrl = options.baseUrl?.(server) ?? server.url;
			const { value: run, elapsedMs } = await timed(() =>
				runOperation(baseUrl, apiKey, options.parameters, { continueOnFail: options.continueOnFail }),
			);
			return {
				run,
				elapsedMs,
				baseUrl,
				requests: server.requests.length,
				openAfter: await settled(() => server.openResponses()),
				facts: {},
			};
		});
}

// ---------------------------------------------------------------------------------------------
// What the checks look at

/** The error the user sees: the node's error, or the error item under Continue On Fail. */
export function shownError(played: Played): { message?: string; description?: string | null; httpCode?: string | null; name?: string } {
	if (played.run.error) {
		const { message, description, httpCode, name } = played.run.error;
		return { message, description, httpCode, name };
	}
	const last = played.run.items.at(-1)?.json;
	if (!last || typeof last.error !== 'string') return {};
	return { message: last.error, description: last.description as string | undefined, httpCode: last.httpCode as string | undefined };
}

/**
 * Nothing lost in `events` output under Continue On Fail: every event the server sent is an
 * item, in order, followed by exactly one error item; all of them belong to the one input item.
 */
function expectEventsThenOneError(played: Played): void {
	const { items } = played.run;
	expect(played.run.error).toBeUndefined();
	expect(played.sent).toBeDefined();
	expect(items.slice(0, -1).map((item) => item.json.event)).toEqual(played.sent);
	expect(items).toHaveLength(played.sent!.length + 1);
	expect(items.slice(0, -1).every((item) => item.json.error === undefined)).toBe(true);
	expect(typeof items.at(-1)?.json.error).toBe('string');
	expect(items.every((item) => (item.pairedItem as { item: number }).item === 0)).toBe(true);
}

/** Nothing lost in `events` output of a run that succeeded: one item per event the server sent. */
function expectEveryEvent(played: Played): void {
	expect(played.run.error).toBeUndefined();
	expect(played.run.items.map((item) => item.json.event)).toEqual(played.sent);
}

function expectSucceeded(played: Played): IDataObject {
	expect(shownError(played)).toEqual({});
	expect(played.run.items).toHaveLength(1);
	expect(played.run.items[0].json.status).toBe('succeeded');
	return played.run.items[0].json;
}

// ---------------------------------------------------------------------------------------------
// Servers for faults the stand-in does not play

const TEN_MB = 10 * 1024 * 1024;

/** A frame that a proxy cut short and glued to the next: `data:` JSON that never closes. */
const MALFORMED_FRAME = '{"event": "text_chunk", "data": {"text": "Mount';

/** Text whose multi-byte characters the UTF-8 scenario cuts in half (3-byte kanji, 4-byte emoji). */
const SPLIT_TEXT = '富士山🗻は高い';

/** Writes `bytes` in pieces cut at the given offsets, each a separate network read for the client. */
async function writeCut(res: Parameters<typeof writeApart>[0], bytes: Buffer, cuts: number[]): Promise<void> {
	let at = 0;
	for (const cut of [...cuts, bytes.length]) {
		await writeApart(res, bytes.subarray(at, cut));
		at = cut;
	}
}

const NGINX_502 =
	'<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.27.3</center>\r\n</body>\r\n</html>\r\n';
const NEXT_404 = '<!DOCTYPE html><html><head><title>404: This page could not be found.</title></head><body><h1>404</h1></body></html>';
const NGINX_400_PLAIN_HTTP =
	'<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const ENVOY_503 = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
const TOO_MANY = { code: 'too_many_requests', message: 'Too many requests. Please try again later.', status: 429 };
const INTERNAL = {
	code: 'internal_server_error',
	message:
		'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.',
	status: 500,
};

// ---------------------------------------------------------------------------------------------
// The catalogue

export const FAULTS: Scenario[] = [
	{
		id: 'drop-mid-line',
		title: 'the connection drops in the middle of a `data:` line',
		boundMs: LONG_TIMEOUT_S * 1000,
		play: standinEventsPlay({ version: '1.13' }, { topic: TOPIC, scenario: 'drop' }),
		check(played) {
			expect(played.facts.rawEnd).toBe('broken');
			expectEventsThenOneError(played);
			expect(shownError(played).message).toBe(`The connection to Dify at ${played.baseUrl} broke in the middle of the event stream`);
			expect(shownError(played).description).toMatch(/^The run may have gone on in Dify: check it with Get Run\./);
		},
	},
	{
		id: 'closed-without-terminal',
		title: 'the server closes the stream cleanly without a terminal event',
		boundMs: LONG_TIMEOUT_S * 1000,
		play: standinEventsPlay({ version: '1.13' }, { topic: TOPIC, scenario: 'truncated' }),
		check(played) {
			expect(played.facts.rawEnd).toBe('closed');
			expectEventsThenOneError(played);
			expect(shownError(played).message).toBe('The event stream from Dify ended before the run finished');
			expect(shownError(played).description).toMatch(/Dify closed the stream without a workflow_finished event\. The run [0-9a-f-]{36} may still be going on/);
			expect(played.run.items.at(-1)?.json.workflow_run_id).toEqual(expect.any(String));
		},
	},
	{
		id: 'pings-only',
		title: 'only keep-alive pings arrive',
		boundMs: SHORT_TIMEOUT_S * 1000,
		play: standinEventsPlay({ pingIntervalMs: 100 }, { topic: TOPIC, scenario: 'pings' }, { timeoutS: SHORT_TIMEOUT_S, rawLimitMs: 1500 }),
		check(played) {
			expect(played.facts.rawEnd).toBe('cut');
			expectEventsThenOneError(played);
			expect(played.sent).toEqual([]);
			expect(shownError(played).message).toBe('Dify sent no workflow event for 1 s, so the node stopped waiting');
			expect(shownError(played).description).toMatch(/Keep-alive pings do not count as progress\. Raise the Timeout option/);
			expect(played.openAfter).toBe(0);
		},
	},
	{
		id: 'error-event-open-socket',
		title: 'an `error` event arrives and the server keeps the socket open (Dify 1.13)',
		boundMs: LONG_TIMEOUT_S * 1000,
		play: standinEventsPlay({ version: '1.13' }, { topic: TOPIC, scenario: 'error' }),
		check(played) {
			expect(played.facts.rawEnd).toBe('terminal');
			expectEventsThenOneError(played);
			expect(played.sent?.at(-1)).toBe('error');
			expect(shownError(played)).toMatchObject({
				message: 'Dify reported an error during the run: Internal Server Error, please contact support.',
				httpCode: '500',
			});
			// The node closed the stream itself: the stand-in would have held it open for two minutes.
			expect(played.openAfter).toBe(0);
		},
	},
	{
		id: 'headers-never-arrive',
		title: 'response headers never arrive (streaming)',
		boundMs: SHORT_TIMEOUT_S * 1000,
		play: standinFaultPlay({ kind: 'hang-headers' }, { parameters: { options: { timeout: SHORT_TIMEOUT_S } } }),
		check(played) {
			expect(shownError(played)).toMatchObject({ message: 'Dify did not start the event stream within 1 s', name: 'NodeApiError' });
			expect(shownError(played).description).toMatch(/Raise the Timeout option/);
			expect(played.requests).toBe(1);
		},
	},
	{
		id: 'headers-never-arrive-blocking',
		title: 'response headers never arrive (blocking)',
		boundMs: SHORT_TIMEOUT_S * 1000,
		play: standinFaultPlay({ kind: 'hang-headers' }, { parameters: { responseMode: 'blocking', options: { timeout: SHORT_TIMEOUT_S } } }),
		check(played) {
			expect(shownError(played)).toMatchObject({ message: `Dify did not answer within 1 s at ${played.baseUrl}`, name: 'NodeApiError' });
			expect(shownError(played).description).toMatch(/raise the Timeout option/);
			expect(played.requests).toBe(1);
		},
	},
	{
		id: 'headers-never-arrive-form',
		title: "response headers never arrive for the app's input form (GET /parameters, asked before the run)",
		boundMs: SHORT_TIMEOUT_S * 1000,
		play: (apiKey) =>
			withStandin({ apiKey }, async (standin) => {
				standin.failNext({ method: 'GET', path: '/parameters' }, { kind: 'hang-headers' });
				const { value: run, elapsedMs } = await timed(() => runOperation(standin.url, apiKey, { options: { timeout: SHORT_TIMEOUT_S } }));
				return { run, elapsedMs, baseUrl: standin.url, requests: runRequests(standin), facts: {} };
			}),
		check(played) {
			// The Timeout option bounds every wait of the run, the form it asks for first included.
			expect(shownError(played).message).toMatch(/^Dify did not (answer|start the event stream) within 1 s/);
			expect(played.requests).toBe(0);
		},
	},
	{
		id: 'body-stalls',
		title: 'the body stalls after some events',
		boundMs: SHORT_TIMEOUT_S * 1000,
		// Twice: once for the raw client that counts, once for the node.
		play: standinEventsPlay({}, { topic: TOPIC }, {
			timeoutS: SHORT_TIMEOUT_S,
			rawLimitMs: 1500,
			prepare: (standin) => standin.failNext({ method: 'POST', path: '/workflows/run' }, { kind: 'stall-after-events', afterEvents: 3 }, 2),
		}),
		check(played) {
			expect(played.facts.rawEnd).toBe('cut');
			expect(played.sent).toHaveLength(3);
			expectEventsThenOneError(played);
			expect(shownError(played).message).toBe('Dify sent no workflow event for 1 s, so the node stopped waiting');
			expect(played.openAfter).toBe(0);
		},
	},
	{
		id: '429-retry-after',
		title: '429 with `Retry-After: 1`, once',
		boundMs: 1_000,
		play: standinFaultPlay({ status: 429, json: TOO_MANY, headers: { 'Retry-After': '1' } }),
		check(played) {
			expectSucceeded(played);
			expect(played.requests).toBe(2);
			expect(played.facts.runsStarted).toBe(1);
		},
	},
	{
		id: '429-no-retry-after',
		title: '429 without `Retry-After`, every time',
		boundMs: THREE_RETRIES_MS,
		play: standinFaultPlay({ status: 429, json: TOO_MANY }, { times: 4 }),
		check(played) {
			// Dify answered every time: the user must see its 429, not a timeout, whether the node
			// gave up after its three retries or because the next wait would pass the Timeout.
			expect(shownError(played)).toMatchObject({ message: TOO_MANY.message, httpCode: '429', name: 'NodeApiError' });
			expect(shownError(played).description).toMatch(
				/^Dify's rate limit or the app's limit of concurrent runs was reached\. Wait and try again, or turn on Retry On Fail in the node's settings\. \[Dify: HTTP 429/,
			);
			expect(played.requests).toBeGreaterThanOrEqual(2);
			expect(played.requests).toBeLessThanOrEqual(4);
			expect(played.facts.runsStarted).toBe(0);
		},
	},
	{
		id: '429-long-retry-after',
		title: '429 with a `Retry-After` longer than a minute',
		boundMs: 0,
		play: standinFaultPlay({ status: 429, json: TOO_MANY, headers: { 'Retry-After': '3600' } }),
		check(played) {
			expect(shownError(played)).toMatchObject({ message: TOO_MANY.message, httpCode: '429' });
			expect(shownError(played).description).toMatch(/ Dify asked to wait 3600 s\. \[Dify: HTTP 429, code too_many_requests, at /);
			expect(played.requests).toBe(1);
		},
	},
	{
		id: '500-dify-json',
		title: "500 with Dify's JSON error",
		boundMs: 0,
		play: standinFaultPlay({ status: 500, json: INTERNAL }),
		check(played) {
			expect(shownError(played)).toMatchObject({ message: INTERNAL.message, httpCode: '500', name: 'NodeApiError' });
			expect(shownError(played).description).toBe(
				`Dify had an internal error. Retrying may help; if it persists, check the Dify server logs. [Dify: HTTP 500, code internal_server_error, at ${played.baseUrl}/workflows/run]`,
			);
			// A run is never repeated on a 5xx: Dify may have started it.
			expect(played.requests).toBe(1);
		},
	},
	{
		id: '502-html',
		title: '502 with an HTML page (nginx)',
		boundMs: 0,
		play: standinFaultPlay({ status: 502, html: NGINX_502 }),
		check(played) {
			expect(shownError(played)).toMatchObject({
				message: `Dify's API at ${played.baseUrl} answered HTTP 502 with a non-JSON body: 502 Bad Gateway`,
				httpCode: '502',
			});
			expect(shownError(played).description).toMatch(/^A proxy or gateway in front of Dify answered instead of Dify/);
			expect(played.requests).toBe(1);
		},
	},
	{
		id: '503-text',
		title: '503 with a plain-text body',
		boundMs: 0,
		play: standinFaultPlay({ status: 503, text: ENVOY_503 }),
		check(played) {
			expect(shownError(played)).toMatchObject({
				message: `Dify's API at ${played.baseUrl} answered HTTP 503 with a non-JSON body: ${ENVOY_503}`,
				httpCode: '503',
			});
			expect(played.requests).toBe(1);
		},
	},
	{
		id: 'reset-run',
		title: 'the connection is reset before any answer (run)',
		boundMs: 0,
		play: standinFaultPlay({ kind: 'reset' }),
		check(played) {
			expect(shownError(played)).toMatchObject({ message: `Could not reach Dify at ${played.baseUrl}: the connection was reset`, name: 'NodeApiError' });
			// Dify may have received the run before the reset: repeating it could run the workflow twice.
			expect(played.requests).toBe(1);
		},
	},
	{
		id: 'reset-read-pages',
		title: 'the connection is reset before any answer (Get Logs, a read over three pages)',
		boundMs: THREE_RETRIES_MS,
		play: (apiKey) =>
			withStandin({ apiKey, seedLogs: 230 }, async (standin) => {
				standin.failNext({ method: 'GET', path: '/workflows/logs' }, { kind: 'reset' });
				const pages = () => standin.requests.filter((r) => r.path === '/v1/workflows/logs').map((r) => r.query.page);
				const { value: run, elapsedMs } = await timed(() =>
					runDifyNode({
						parameters: { resource: 'workflow', operation: 'getLogs', returnAll: true },
						baseUrl: standin.url,
						apiKey,
						signal: AbortSignal.timeout(WATCHDOG_MS),
					}),
				);
				return { run, elapsedMs, baseUrl: standin.url, requests: pages().length, facts: { pages: pages() } };
			}),
		check(played) {
			expect(shownError(played)).toEqual({});
			// Nothing lost or doubled across the retried page.
			expect(played.run.items).toHaveLength(230);
			expect(new Set(played.run.items.map((item) => item.json.id)).size).toBe(230);
			expect(played.facts.pages).toEqual(['1', '1', '2', '3']);
		},
	},
	{
		id: 'connection-refused',
		title: 'connection refused',
		boundMs: THREE_RETRIES_MS,
		async play(apiKey) {
			const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
			const { value: run, elapsedMs } = await timed(() => runOperation(baseUrl, apiKey));
			return { run, elapsedMs, baseUrl, requests: 0, facts: {} };
		},
		check(played) {
			expect(shownError(played)).toMatchObject({
				message: `Could not reach Dify at ${played.baseUrl}: the connection was refused: nothing listens at that host and port`,
				name: 'NodeApiError',
			});
			expect(shownError(played).description).toMatch(/\[ECONNREFUSED: /);
		},
	},
	{
		id: 'unknown-host',
		title: 'unknown host',
		boundMs: LONG_TIMEOUT_S * 1000,
		async play(apiKey) {
			const baseUrl = 'http://dify-standin.invalid/v1';
			const { value: run, elapsedMs } = await timed(() => runOperation(baseUrl, apiKey));
			return { run, elapsedMs, baseUrl, requests: 0, facts: {} };
		},
		check(played) {
			// Without a resolver the sandbox answers EAI_AGAIN instead of ENOTFOUND.
			expect(shownError(played).message).toMatch(
				/^Could not reach Dify at http:\/\/dify-standin\.invalid\/v1: the host name (is unknown|could not be resolved \(DNS did not answer\))$/,
			);
		},
	},
	{
		id: 'tls-self-signed',
		title: 'a TLS certificate error (self-signed server)',
		boundMs: 0,
		play: localPlay(async (req, res) => {
			await beginStream(req, res);
			res.end();
		}, { tls: true }),
		check(played) {
			expect(shownError(played)).toMatchObject({ message: `Could not reach Dify at ${played.baseUrl}: its TLS certificate is self-signed` });
			expect(shownError(played).description).toMatch(/NODE_EXTRA_CA_CERTS/);
			// The handshake failed before any HTTP: the key never left n8n.
			expect(played.requests).toBe(0);
		},
	},
	{
		id: 'malformed-json-events',
		title: 'a frame whose JSON is malformed (`events` output)',
		boundMs: 0,
		async play(apiKey) {
			const run = new RunEvents();
			const frames = [frame(run.started()), frame(run.textChunk('Mount ')), frame(MALFORMED_FRAME), frame(run.textChunk('Fuji')), frame(run.finished({ answer: 'Mount Fuji' }))];
			const play = localPlay(async (req, res) => {
				await beginStream(req, res);
				res.end(frames.join(''));
			}, { parameters: { output: 'events' }, continueOnFail: true });
			// Events up to the malformed one are what the node can vouch for; the rest is the error.
			return { ...(await play(apiKey)), sent: ['workflow_started', 'text_chunk'] };
		},
		check(played) {
			expectEventsThenOneError(played);
			expect(shownError(played).message).toBe(`Dify sent an event that is not a JSON object: ${MALFORMED_FRAME}`);
			expect(shownError(played).description).toMatch(/^Something between n8n and Dify altered the event stream/);
		},
	},
	{
		id: 'malformed-json-final',
		title: 'a malformed text chunk (`final` output)',
		boundMs: 0,
		play: localPlay(async (req, res) => {
			const run = new RunEvents();
			await beginStream(req, res);
			res.end([frame(run.started()), frame(MALFORMED_FRAME), frame(run.finished({ answer: 'Mount Fuji' }))].join(''));
		}),
		check(played) {
			// `final` output never parses text chunks: the result comes whole from workflow_finished.
			expect(expectSucceeded(played).outputs).toEqual({ answer: 'Mount Fuji' });
		},
	},
	{
		id: 'malformed-json-terminal',
		title: 'a malformed `workflow_finished` frame (`final` output)',
		boundMs: 0,
		play: localPlay(async (req, res) => {
			const run = new RunEvents();
			await beginStream(req, res);
			res.end([frame(run.started()), frame('{"event": "workflow_finished", "data": {"status": "succ')].join(''));
		}),
		check(played) {
			expect(shownError(played).message).toBe('Dify sent an event that is not a JSON object: {"event": "workflow_finished", "data": {"status": "succ');
		},
	},
	{
		id: 'ten-mb-event',
		title: 'a 10 MB single event',
		boundMs: LONG_TIMEOUT_S * 1000,
		async play(apiKey) {
			const run = new RunEvents();
			const big = 'Fuji '.repeat(TEN_MB / 5);
			const frames = [frame(run.started()), frame(run.textChunk(big)), frame(run.finished({ answer: big }))];
			const play = localPlay(async (req, res) => {
				await beginStream(req, res);
				for (const piece of frames) if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
				res.end();
			}, { parameters: { output: 'events' } });
			return { ...(await play(apiKey)), sent: ['workflow_started', 'text_chunk', 'workflow_finished'], facts: { size: big.length } };
		},
		check(played) {
			expectEveryEvent(played);
			const [, chunk, finished] = played.run.items.map((item) => item.json);
			expect(((chunk.data as IDataObject).text as string).length).toBe(played.facts.size);
			expect((((finished.data as IDataObject).outputs as IDataObject).answer as string).length).toBe(played.facts.size);
		},
	},
	{
		id: 'unknown-event-type',
		title: 'an unknown event type',
		boundMs: LONG_TIMEOUT_S * 1000,
		play: standinEventsPlay({}, { topic: TOPIC, scenario: 'unknown-event' }),
		check(played) {
			expectEveryEvent(played);
			expect(played.sent).toContain('future_event');
		},
	},
	{
		id: 'crlf-framing',
		title: 'CRLF framing',
		boundMs: LONG_TIMEOUT_S * 1000,
		play: standinEventsPlay({ lineEnding: '\r\n' }, { topic: TOPIC }),
		check(played) {
			expectEveryEvent(played);
			expect(played.sent?.at(-1)).toBe('workflow_finished');
		},
	},
	{
		id: 'utf8-split',
		title: 'a UTF-8 character split across network chunks',
		boundMs: LONG_TIMEOUT_S * 1000,
		play: localPlay(async (req, res) => {
			const run = new RunEvents();
			await beginStream(req, res);
			const chunk = Buffer.from(frame(run.textChunk(SPLIT_TEXT)), 'utf8');
			// Cut after the first byte of 富 and inside the 4-byte 🗻, in separate reads.
			const kanji = chunk.indexOf(Buffer.from('富'));
			const emoji = chunk.indexOf(Buffer.from('🗻'));
			await writeApart(res, frame(run.started()));
			await writeCut(res, chunk, [kanji + 1, emoji + 2]);
			const finished = Buffer.from(frame(run.finished({ answer: SPLIT_TEXT })), 'utf8');
			const end = finished.indexOf(Buffer.from('は'));
			await writeCut(res, finished, [end + 1]);
			res.end();
		}, { parameters: { output: 'events' } }),
		check(played) {
			const events = played.run.items.map((item) => item.json);
			expect(events.map((event) => event.event)).toEqual(['workflow_started', 'text_chunk', 'workflow_finished']);
			expect((events[1].data as IDataObject).text).toBe(SPLIT_TEXT);
			expect(((events[2].data as IDataObject).outputs as IDataObject).answer).toBe(SPLIT_TEXT);
		},
	},
	{
		id: 'redirect',
		title: 'a redirect (http to https, to another host)',
		boundMs: 0,
		async play(apiKey) {
			return await withServers([startLocalServer((_, res) => void res.end('{}'), { tls: true })], async ([elsewhere]) => {
				const target = `${elsewhere.url}/workflows/run`;
				const played = await standinFaultPlay({ kind: 'redirect', status: 301, location: target })(apiKey);
				return { ...played, facts: { ...played.facts, target, elsewhereRequests: elsewhere.requests.length } };
			});
		},
		check(played) {
			expect(shownError(played)).toMatchObject({
				message: `Dify's API at ${played.baseUrl} answered with a redirect (HTTP 301) to ${played.facts.target}`,
				httpCode: '301',
			});
			expect(shownError(played).description).toMatch(/does not follow redirects, so the API key is never sent to another address/);
			expect(played.facts.elsewhereRequests).toBe(0);
		},
	},
	{
		id: 'base-url-trailing-slash',
		title: 'base URL with a trailing slash',
		boundMs: LONG_TIMEOUT_S * 1000,
		play: (apiKey) =>
			withStandin({ apiKey }, async (standin) => {
				const baseUrl = `${standin.url}/`;
				const { value: run, elapsedMs } = await timed(() => runOperation(baseUrl, apiKey));
				return { run, elapsedMs, baseUrl, requests: runRequests(standin), facts: { paths: standin.requests.map((r) => r.path) } };
			}),
		check(played) {
			expectSucceeded(played);
			const paths = played.facts.paths as string[];
			expect(paths).toContain('/v1/workflows/run');
			expect(paths.every((path) => /^\/v1\/[a-z]/.test(path))).toBe(true);
		},
	},
	{
		id: 'base-url-without-v1-api',
		title: "base URL without `/v1`, Dify's API answers",
		boundMs: 0,
		play: (apiKey) =>
			withStandin({ apiKey }, async (standin) => {
				const baseUrl = standin.url.replace(/\/v1$/, '');
				const { value: run, elapsedMs } = await timed(() => runOperation(baseUrl, apiKey));
				return { run, elapsedMs, baseUrl, requests: runRequests(standin), facts: {} };
			}),
		check(played) {
			// A path outside /v1 matches none of the API's routes: Flask answers with its own HTML page.
			expect(shownError(played)).toMatchObject({
				message: `Dify's API at ${played.baseUrl} answered HTTP 404 with a non-JSON body: 404 Not Found`,
				httpCode: '404',
			});
			expect(shownError(played).description).toContain(
				`The base URL ${played.baseUrl} does not end with /v1, where Dify serves its API. Set the Base URL of the Dify API credential to ${played.baseUrl}/v1`,
			);
		},
	},
	{
		id: 'base-url-without-v1-web',
		title: "base URL without `/v1`, Dify's web app answers",
		boundMs: 0,
		play: (apiKey) =>
			withStandin({ apiKey }, async (standin) => {
				const baseUrl = standin.url.replace(/\/v1$/, '');
				// The web app answers every path outside /v1: the app form the node asks for first, and the run.
				standin.failNext({ path: /^\/(parameters|workflows\/run)$/ }, { status: 404, html: NEXT_404 }, 2);
				const { value: run, elapsedMs } = await timed(() => runOperation(baseUrl, apiKey));
				return { run, elapsedMs, baseUrl, requests: runRequests(standin), facts: {} };
			}),
		check(played) {
			expect(shownError(played)).toMatchObject({
				message: `Dify's API at ${played.baseUrl} answered HTTP 404 with a non-JSON body: 404: This page could not be found.`,
				httpCode: '404',
			});
			expect(shownError(played).description).toContain(
				`The base URL ${played.baseUrl} does not end with /v1, where Dify serves its API. Set the Base URL of the Dify API credential to ${played.baseUrl}/v1`,
			);
		},
	},
	{
		id: 'https-to-http-server',
		title: 'base URL `https://` for a server that speaks http',
		boundMs: 0,
		play: (apiKey) =>
			withStandin({ apiKey }, async (standin) => {
				const baseUrl = standin.url.replace(/^http:/, 'https:');
				const { value: run, elapsedMs } = await timed(() => runOperation(baseUrl, apiKey));
				return { run, elapsedMs, baseUrl, requests: standin.requests.length, facts: {} };
			}),
		check(played) {
			expect(shownError(played).message).toBe(
				`Could not reach Dify at ${played.baseUrl}: the TLS handshake failed (is the server speaking http, not https?)`,
			);
			// The certificate is not the problem here: advice about trust stores would send the user the wrong way.
			expect(shownError(played).description).not.toMatch(/certificate|NODE_EXTRA_CA_CERTS/);
			expect(shownError(played).description).toMatch(/http:\/\//);
			expect(played.requests).toBe(0);
		},
	},
	{
		id: 'http-to-https-server',
		title: 'base URL `http://` for a server that speaks https',
		boundMs: LONG_TIMEOUT_S * 1000,
		play: localPlay(async (req, res) => {
			await beginStream(req, res);
			res.end();
		}, { tls: true, baseUrl: (server) => server.url.replace(/^https:/, 'http:') }),
		check(played) {
			expect(shownError(played).message).toBe(`Could not reach Dify at ${played.baseUrl}: the connection was closed unexpectedly`);
			expect(played.requests).toBe(0);
		},
	},
	{
		id: 'http-to-https-nginx',
		title: 'base URL `http://` for the https port of an nginx in front of Dify',
		boundMs: 0,
		play: localPlay((_, res) => {
			res.writeHead(400, { 'Content-Type': 'text/html', Connection: 'close' });
			res.end(NGINX_400_PLAIN_HTTP);
		}),
		check(played) {
			expect(shownError(played)).toMatchObject({
				message: `Dify's API at ${played.baseUrl} answered HTTP 400 with a non-JSON body: 400 The plain HTTP request was sent to HTTPS port`,
				httpCode: '400',
			});
		},
	},
];
