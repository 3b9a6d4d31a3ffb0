import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { StringDecoder } from 'node:string_decoder';

import type { DifyStandin, StandinOptions } from './server';
import { startDifyStandin, STANDIN_API_KEY } from './server';

// ---------------------------------------------------------------------------------------------
// A small HTTP client over node:http: every test here goes through a real socket.

interface Reply {
	status: number;
	headers: IncomingHttpHeaders;
	text: string;
	json: any;
}

interface SendOptions {
	/** JSON-encoded as the body, with Content-Type application/json unless `contentType` says otherwise. */
	json?: unknown;
	raw?: string | Buffer;
	contentType?: string;
	/** null: no Authorization header. */
	auth?: string | null;
}

function send(standin: DifyStandin, method: string, path: string, options: SendOptions = {}): Promise<Reply> {
	const headers: Record<string, string> = {};
	const auth = options.auth === undefined ? `Bearer ${standin.apiKey}` : options.auth;
	if (auth !== null) headers.authorization = auth;
	let body: Buffer | undefined;
	if (options.json !== undefined) {
		body = Buffer.from(JSON.stringify(options.json));
		headers['content-type'] = options.contentType ?? 'application/json';
	} else if (options.raw !== undefined) {
		body = Buffer.from(options.raw);
		if (options.contentType) headers['content-type'] = options.contentType;
	}
	if (body) headers['content-length'] = String(body.length);
	return new Promise((resolve, reject) => {
		const req = httpRequest(`${standin.url}${path}`, { method, headers, agent: false }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (chunk: Buffer) => chunks.push(chunk));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let json: unknown;
				try {
					json = JSON.parse(text);
				} catch {
					json = undefined;
				}
				resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
			});
			res.on('error', reject);
		});
		req.on('error', reject);
		req.end(body);
	});
}

interface StreamResult {
	/** 0 when no response came before the client gave up. */
	status: number;
	headers: IncomingHttpHeaders;
	/** Body chunks exactly as the client received them. */
	chunks: Buffer[];
	bytes: Buffer;
	events: any[];
	pings: number;
	/** 'end': the server ended cleanly; 'aborted': the connection broke; 'client': we closed it. */
	how: 'end' | 'aborted' | 'client';
	json?: any;
}

interface StreamOptions {
	user?: string;
	path?: string;
	/** GET reads an events endpoint: no body. */
	method?: 'GET' | 'POST';
	responseMode?: 'streaming' | 'blocking';
	/** Closes the connection once this returns true (checked after each event). */
	closeWhen?: (event: any, events: any[]) => boolean;
	/** Closes the connection after this long without any byte (counted from the request). */
	idleMs?: number;
	/** Closes the connection after this long, whatever arrives. */
	closeAfterMs?: number;
	/** Closes the connection once this many keep-alive pings have arrived. */
	closeAfterPings?: number;
	onEvent?: (event: any) => void;
}

/** Starts a run and reads its SSE body incrementally, the way a careful client would. */
function runStream(standin: DifyStandin, inputs: Record<string, unknown>, options: StreamOptions = {}): Promise<StreamResult> {
	const body = JSON.stringify({ inputs, user: options.user ?? 'tester', response_mode: options.responseMode ?? 'streaming' });
	return new Promise((resolve, reject) => {
		const result: StreamResult = { status: 0, headers: {}, chunks: [], bytes: Buffer.alloc(0), events: [], pings: 0, how: 'end' };
		const decoder = new StringDecoder('utf8');
		let text = '';
		let done = false;
		let idleTimer: NodeJS.Timeout | undefined;
		const finish = (how: StreamResult['how']) => {
			if (done) return;
			done = true;
			clearTimeout(idleTimer);
			clearTimeout(deadline);
			result.how = how;
			result.bytes = Buffer.concat(result.chunks);
			if (result.status !== 0 && !String(result.headers['content-type']).startsWith('text/event-stream')) {
				try {
					result.json = JSON.parse(result.bytes.toString('utf8'));
				} catch {
					result.json = undefined;
				}
			}
			resolve(result);
		};
		const close = () => {
			finish('client');
			req.destroy();
		};
		const armIdle = () => {
			clearTimeout(idleTimer);
			if (options.idleMs !== undefined) idleTimer = setTimeout(close, options.idleMs);
		};
		const deadline = options.closeAfterMs === undefined ? undefined : setTimeout(close, options.closeAfterMs);

		const req = httpRequest(
			`${standin.url}${options.path ?? '/workflows/run'}`,
			{
				method: options.method ?? 'POST',
				agent: false,
				headers: { authorization: `Bearer ${standin.apiKey}`, 'content-type': 'application/json' },
			},
			(res) => {
				result.status = res.statusCode ?? 0;
				result.headers = res.headers;
				res.on('data', (chunk: Buffer) => {
					if (done) return;
					result.chunks.push(chunk);
					armIdle();
					// Normalised on the whole text: a CRLF may arrive split across two chunks.
					text = (text + decoder.write(chunk)).replace(/\r\n/g, '\n');
					let end: number;
					while ((end = text.indexOf('\n\n')) >= 0) {
						const frame = text.slice(0, end);
						text = text.slice(end + 2);
						if (frame === 'event: ping') {
							result.pings++;
							if (result.pings === options.closeAfterPings) return close();
							continue;
						}
						if (!frame.startsWith('data: ')) continue;
						const event = JSON.parse(frame.slice(6));
						result.events.push(event);
						options.onEvent?.(event);
						if (options.closeWhen?.(event, result.events)) return close();
					}
				});
				res.on('end', () => finish('end'));
				res.on('error', () => finish('aborted'));
				res.on('close', () => finish(res.complete ? 'end' : 'aborted'));
			},
		);
		armIdle();
		req.on('error', (error) => (done ? undefined : result.status === 0 ? reject(error) : finish('aborted')));
		req.end(options.method === 'GET' ? undefined : body);
	});
}

const eventNames = (result: StreamResult) => result.events.map((event) => event.event);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a condition the stand-in will meet; the bound is a hang guard, generous for a loaded machine. */
async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await delay(5);
	}
}

function multipartBody(
	parts: Array<{ name: string; value?: string; filename?: string; contentType?: string; content?: Buffer }>,
	boundary = 'standinTestBoundary7MA4YWxk',
): { body: Buffer; contentType: string } {
	const pieces: Buffer[] = [];
	for (const part of parts) {
		let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
		if (part.filename !== undefined) head += `; filename="${part.filename}"`;
		head += '\r\n';
		if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
		pieces.push(Buffer.from(`${head}\r\n`), part.content ?? Buffer.from(part.value ?? ''), Buffer.from('\r\n'));
	}
	pieces.push(Buffer.from(`--${boundary}--\r\n`));
	return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}` };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// ---------------------------------------------------------------------------------------------

const started: DifyStandin[] = [];
async function standinWith(options: StandinOptions = {}): Promise<DifyStandin> {
	const standin = await startDifyStandin(options);
	started.push(standin);
	return standin;
}

let standin: DifyStandin;
let framed: DifyStandin;

beforeAll(async () => {
	standin = await standinWith();
	framed = await standinWith({ chunking: 'frame' });
});
afterAll(async () => {
	await Promise.all(started.map((s) => s.close()));
});
beforeEach(() => {
	standin.reset();
	framed.reset();
});

describe('auth and routing', () => {
	it('answers the three 401 messages of Dify, with WWW-Authenticate', async () => {
		const cases: Array<[string | null, string]> = [
			[null, "Authorization header must be provided and start with 'Bearer'"],
			['Bearer', "Authorization header must be provided and start with 'Bearer'"],
			[`Basic ${STANDIN_API_KEY}`, "Authorization scheme must be 'Bearer'"],
			['Bearer app-SomeoneElsesKey0000000000', 'Access token is invalid'],
		];
		for (const [auth, message] of cases) {
			const reply = await send(standin, 'GET', '/info', { auth });
			expect(reply.status).toBe(401);
			expect(reply.json).toEqual({ code: 'unauthorized', message, status: 401 });
			expect(reply.headers['www-authenticate']).toBe('Bearer realm="api"');
		}
	});

	it('accepts the scheme in any case', async () => {
		const reply = await send(standin, 'GET', '/info', { auth: `bEaReR ${STANDIN_API_KEY}` });
		expect(reply.status).toBe(200);
	});

	it("routes before auth: unknown path Flask's HTML 404, known path with another method 405; the index names the release", async () => {
		const unknown = await send(standin, 'GET', '/nope', { auth: null });
		expect(unknown.status).toBe(404);
		expect(unknown.headers['content-type']).toBe('text/html; charset=utf-8');
		expect(unknown.text).toContain('<title>404 Not Found</title>');
		const index = await send(standin, 'GET', '/', { auth: null });
		expect(index.json).toEqual({ welcome: 'Dify OpenAPI', api_version: 'v1', server_version: '1.16.1' });
		const wrongMethod = await send(standin, 'DELETE', '/workflows/run', { auth: null });
		expect(wrongMethod.status).toBe(405);
		expect(wrongMethod.json.code).toBe('method_not_allowed');
		expect(wrongMethod.headers.allow).toBe('OPTIONS, POST');
	});

	it('records every request in order, with path, query, headers and JSON body', async () => {
		await send(standin, 'GET', '/info?x=1&x=2&y=%C3%A9');
		await send(standin, 'POST', '/workflows/tasks/t-1/stop', { json: { user: 'u' } });
		await send(standin, 'GET', '/missing', { auth: null });
		await send(standin, 'GET', '//info', { auth: null });
		expect(standin.requests.map((r) => [r.method, r.path])).toEqual([
			['GET', '/v1/info'],
			['POST', '/v1/workflows/tasks/t-1/stop'],
			['GET', '/v1/missing'],
			['GET', '/v1//info'],
		]);
		expect(standin.requests[0].query).toEqual({ x: '1', y: 'é' });
		expect(standin.requests[0].headers.authorization).toBe(`Bearer ${STANDIN_API_KEY}`);
		expect(standin.requests[1].json).toEqual({ user: 'u' });
	});
});

describe('app endpoints', () => {
	it('GET /info and /meta', async () => {
		expect((await send(standin, 'GET', '/meta')).json).toEqual({ tool_icons: {} });
		const reply = await send(standin, 'GET', '/info');
		expect(reply.json).toEqual({
			name: 'Stand-in Workflow',
			description: 'Answers a question about a topic. A Dify stand-in for tests and demos.',
			tags: ['demo'],
			mode: 'workflow',
			author_name: 'Dify',
		});
	});

	it('writes JSON the way Python json.dumps does, with a trailing newline', async () => {
		const reply = await send(standin, 'GET', '/site');
		expect(reply.headers['content-type']).toBe('application/json');
		expect(reply.text.startsWith('{"title": "Stand-in Workflow", ')).toBe(true);
		expect(reply.text).toContain('"icon": "\\ud83d\\uddfb"');
		expect(reply.text.endsWith('}\n')).toBe(true);
		expect(reply.json).toMatchObject({ icon_type: 'emoji', icon: '🗻', default_language: 'en-US', icon_url: null });
	});

	it('GET /parameters lists the form and the upload limits', async () => {
		const limited = await standinWith({ uploadLimitsMb: { image: 1, video: 2, audio: 3, other: 4 } });
		const reply = await send(limited, 'GET', '/parameters');
		const form = reply.json.user_input_form as Array<Record<string, any>>;
		expect(form.map((entry) => Object.keys(entry)[0])).toEqual(['text-input', 'select', 'number', 'number', 'number', 'select', 'file']);
		expect(form[0]['text-input']).toMatchObject({ variable: 'topic', required: true, max_length: 256 });
		expect(form[1].select).toMatchObject({ variable: 'scenario', required: false, default: 'llm' });
		expect(form[1].select.options).toEqual(expect.arrayContaining(['llm', 'wait-stop', 'many', 'slow']));
		expect(form[6].file).toMatchObject({
			variable: 'doc',
			allowed_file_types: ['document'],
			allowed_file_upload_methods: ['local_file', 'remote_url'],
		});
		expect(reply.json.system_parameters).toEqual({
			image_file_size_limit: 1,
			video_file_size_limit: 2,
			audio_file_size_limit: 3,
			file_size_limit: 4,
			workflow_file_upload_limit: 10,
		});
		expect(reply.json).toHaveProperty('file_upload');
		expect(reply.json.opening_statement).toBeNull();
	});
});

describe('POST /workflows/run: request checks', () => {
	const run = (options: SendOptions) => send(standin, 'POST', '/workflows/run', options);

	it('checks in Dify order: content type, JSON, user, body schema, inputs', async () => {
		const wrongType = await run({ raw: '{}', contentType: 'text/plain' });
		expect([wrongType.status, wrongType.json.code]).toEqual([415, 'unsupported_media_type']);

		const badJson = await run({ raw: '{"user": ', contentType: 'application/json' });
		expect([badJson.status, badJson.json.code]).toEqual([400, 'bad_request']);
		expect(badJson.json.message).toMatch(/^Failed to decode JSON object: /);

		const empty = await run({ raw: '', contentType: 'application/json' });
		expect(empty.json.message).toBe('Invalid JSON payload received or JSON payload is empty.');

		const noUser = await run({ json: { inputs: 'not even an object' } });
		expect(noUser.json).toEqual({ code: 'invalid_param', message: 'Arg user must be provided.', status: 400 });

		const noInputs = await run({ json: { user: 'u' } });
		expect(noInputs.status).toBe(400);
		expect(noInputs.json.message).toMatch(/^1 validation error for WorkflowRunPayload\ninputs\n {2}Field required \[type=missing/);

		const notObject = await run({ json: { user: 'u', inputs: [1] } });
		expect(notObject.json.message).toContain('Input should be a valid dictionary [type=dict_type, input_value=[1], input_type=list]');

		const badMode = await run({ json: { user: 'u', inputs: {}, response_mode: 'async' } });
		expect(badMode.json.message).toContain("response_mode\n  Input should be 'blocking' or 'streaming'");

		const missingTopic = await run({ json: { user: 'u', inputs: {}, response_mode: 'blocking' } });
		expect(missingTopic.json).toEqual({ code: 'invalid_param', message: 'topic is required in input form', status: 400 });
		expect(standin.runs.size).toBe(0);
	});

	it('validates and coerces inputs against the form, dropping unknown keys', async () => {
		const tooLong = await run({ json: { user: 'u', inputs: { topic: 'x'.repeat(257) } } });
		expect(tooLong.json.message).toBe('topic in input form must be less than 256 characters');

		const notString = await run({ json: { user: 'u', inputs: { topic: 5 } } });
		expect(notString.json.message).toBe("(type 'text-input') topic in input form must be a string");

		const badOption = await run({ json: { user: 'u', inputs: { topic: 'x', scenario: 'nope' } } });
		expect(badOption.json.message).toMatch(/^scenario in input form must be one of the following: \['llm', 'fail'/);

		const badNumber = await run({ json: { user: 'u', inputs: { topic: 'x', chunks: 'many' } } });
		expect(badNumber.json.message).toBe('chunks in input form must be a valid number');

		// 1.13 quirk: a bool for a number variable escapes as a plain 500.
		const boolNumber = await run({ json: { user: 'u', inputs: { topic: 'x', chunks: true } } });
		expect([boolNumber.status, boolNumber.json.code]).toEqual([500, 'internal_server_error']);

		const ok = await run({ json: { user: 42, inputs: { topic: 'a\u0000b', chunks: '3', delay_ms: '', extra: 1 } } });
		expect(ok.status).toBe(200);
		const stored = standin.runs.get(ok.json.workflow_run_id)!;
		expect(stored.user).toBe('42');
		expect(stored.inputs).toEqual({
			topic: 'ab',
			scenario: 'llm',
			chunks: 3,
			delay_ms: null,
			form_ttl: null,
			delivery: 'web_app',
			doc: null,
			'sys.files': [],
			'sys.user_id': '42',
			'sys.app_id': expect.any(String),
			'sys.workflow_id': '5e0a4b8c-2d1f-4a6b-8c3e-9f0a1b2c3d4e',
			'sys.workflow_run_id': ok.json.workflow_run_id,
		});
	});

	it('runs a pinned published version, refusing malformed and unknown ids', async () => {
		const older = '1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d';
		const body = { json: { user: 'u', inputs: { topic: 'x' }, response_mode: 'blocking' } };
		const malformed = await send(standin, 'POST', '/workflows/v2/run', body);
		expect(malformed.json).toEqual({ code: 'bad_request', message: "Invalid workflow_id format: 'v2'. ", status: 400 });
		const unknown = await send(standin, 'POST', '/workflows/00000000-0000-4000-8000-000000000000/run', body);
		expect(unknown.json).toEqual({
			code: 'not_found',
			message: 'Workflow not found with id: 00000000-0000-4000-8000-000000000000',
			status: 404,
		});
		const pinned = await send(standin, 'POST', `/workflows/${older}/run`, body);
		expect(pinned.status).toBe(200);
		expect(pinned.json.data.workflow_id).toBe(older);
	});
});

describe('runs, blocking', () => {
	it('answers like Python (one line, escaped, no trailing newline) and stores the run', async () => {
		const reply = await send(standin, 'POST', '/workflows/run', {
			json: { user: 'user-42', inputs: { topic: '富士山' }, response_mode: 'blocking' },
		});
		expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
		expect(reply.text).toMatch(/^\{"task_id": "[0-9a-f-]{36}", "workflow_run_id": "[0-9a-f-]{36}", "data": \{"id": /);
		expect(reply.text).toContain('"answer": "\\u5bcc\\u58eb\\u5c71\\u306f');
		expect(reply.text).toContain('\\ud83d\\uddfb');
		expect(reply.text.endsWith('}}')).toBe(true);
		expect(Object.keys(reply.json.data)).toEqual([
			'id', 'workflow_id', 'status', 'outputs', 'error', 'elapsed_time',
			'total_tokens', 'total_steps', 'created_at', 'finished_at',
		]);
		expect(reply.json.data).toMatchObject({
			status: 'succeeded',
			outputs: { answer: '富士山は日本で最も高い山です。標高は3,776メートルです🗻' },
			error: null,
			total_tokens: 70,
			total_steps: 3,
		});

		const detail = await send(standin, 'GET', `/workflows/run/${reply.json.workflow_run_id}`);
		expect(typeof detail.json.inputs).toBe('string');
		expect(detail.json.inputs).toContain('"topic": "\\u5bcc\\u58eb\\u5c71"');
		expect(JSON.parse(detail.json.inputs)).toMatchObject({ topic: '富士山', 'sys.user_id': 'user-42', 'sys.timestamp': expect.any(Number) });
		expect(detail.json).toMatchObject({ id: reply.json.workflow_run_id, status: 'succeeded', outputs: reply.json.data.outputs });

		const logs = await send(standin, 'GET', '/workflows/logs?limit=1');
		expect(logs.json.data[0].workflow_run.id).toBe(reply.json.workflow_run_id);
		expect(logs.json.data[0].created_by_end_user.session_id).toBe('user-42');
	});

	it.each([
		['fail', 200, 'failed'],
		['paused', 200, 'paused'],
		['iteration', 200, 'succeeded'],
		['loop', 200, 'succeeded'],
	])('%s answers HTTP %d with status %s', async (scenario, status, runStatus) => {
		const reply = await send(standin, 'POST', '/workflows/run', {
			json: { user: 'u', inputs: { topic: 'x', scenario }, response_mode: 'blocking' },
		});
		expect(reply.status).toBe(status);
		expect(reply.json.data.status).toBe(runStatus);
		if (scenario === 'fail') expect(reply.json.data.error).toMatch(/ZeroDivisionError: division by zero/);
		if (scenario === 'paused') expect(reply.json.data).toMatchObject({ outputs: {}, finished_at: null });
	});

	it('error answers 500 internal_server_error; truncated too (1.13); drop cuts the connection', async () => {
		const standin = await standinWith({ version: '1.13' });
		const body = (scenario: string) => ({ json: { user: 'u', inputs: { topic: 'x', scenario } } });
		const error = await send(standin, 'POST', '/workflows/run', body('error'));
		expect([error.status, error.json.code]).toEqual([500, 'internal_server_error']);
		const truncated = await send(standin, 'POST', '/workflows/run', body('truncated'));
		expect(truncated.status).toBe(500);
		await expect(send(standin, 'POST', '/workflows/run', body('drop'))).rejects.toThrow(/socket hang up|ECONNRESET/);
	});

	it('silent hangs until the client gives up', async () => {
		const result = await runStream(standin, { topic: 'x', scenario: 'silent' }, { responseMode: 'blocking', idleMs: 150 });
		expect(result.how).toBe('client');
		expect(result.chunks).toHaveLength(0);
	});

	it('wait-stop waits for the stop endpoint and answers stopped', async () => {
		const pending = send(standin, 'POST', '/workflows/run', {
			json: { user: 'u', inputs: { topic: 'x', scenario: 'wait-stop', delay_ms: 10 }, response_mode: 'blocking' },
		});
		await waitFor(() => standin.runs.size === 1);
		await delay(50);
		const [run] = [...standin.runs.values()];
		await send(standin, 'POST', `/workflows/tasks/${run.taskId}/stop`, { json: { user: 'u' } });
		const reply = await pending;
		expect(reply.json.data).toMatchObject({ status: 'stopped', error: 'Stopped by user.' });
		expect(reply.json.task_id).toBe(run.taskId);
	});
});

describe('runs, streaming', () => {
	it('streams transcript (a): leading ping, envelope, raw UTF-8, chunks that add up to the answer', async () => {
		const result = await runStream(framed, { topic: '富士山' }, { user: 'user-42' });
		expect(result.status).toBe(200);
		expect(result.headers['content-type']).toBe('text/event-stream; charset=utf-8');
		expect(result.how).toBe('end');
		expect(result.bytes.toString('utf8').startsWith('event: ping\n\ndata: {"event":"workflow_started","workflow_run_id":"')).toBe(true);
		expect(result.bytes.toString('utf8')).toContain('"text":"メートルです🗻"');
		expect(eventNames(result)).toEqual([
			'workflow_started', 'node_started', 'node_finished', 'node_started',
			'text_chunk', 'text_chunk', 'text_chunk', 'text_chunk', 'text_chunk', 'text_chunk',
			'node_finished', 'node_started', 'node_finished', 'workflow_finished',
		]);
		for (const event of result.events) {
			expect(Object.keys(event)).toEqual(['event', 'workflow_run_id', 'task_id', 'data']);
		}
		const text = result.events.filter((e) => e.event === 'text_chunk').map((e) => e.data.text).join('');
		const finished = result.events.at(-1);
		expect(finished.data).toMatchObject({
			status: 'succeeded',
			outputs: { answer: text },
			created_by: { id: expect.any(String), user: 'user-42' },
			exceptions_count: 0,
		});
		expect(result.events[0].data.inputs).toMatchObject({ topic: '富士山', 'sys.user_id': 'user-42' });
		expect(framed.runs.get(finished.workflow_run_id)).toMatchObject({ status: 'succeeded', outputs: { answer: text } });
		expect(framed.openStreams()).toBe(0);
	});

	it('fail: node_finished failed, then workflow_finished failed with the same error', async () => {
		const result = await runStream(framed, { topic: 'x', scenario: 'fail' });
		const nodeFailed = result.events.find((e) => e.event === 'node_finished' && e.data.status === 'failed');
		expect(nodeFailed.data.node_type).toBe('code');
		expect(result.events.at(-1).data).toMatchObject({ status: 'failed', error: nodeFailed.data.error, outputs: {} });
		expect(eventNames(result)).not.toContain('error');
	});

	it('iteration: transcript (c) shape', async () => {
		const result = await runStream(framed, { topic: 'x', scenario: 'iteration' });
		expect(eventNames(result).filter((name) => name.startsWith('iteration_'))).toEqual([
			'iteration_started', 'iteration_next', 'iteration_next', 'iteration_completed',
		]);
		const next = result.events.filter((e) => e.event === 'iteration_next').map((e) => e.data.index);
		expect(next).toEqual([0, 1]);
		const inner = result.events.filter((e) => e.event === 'node_finished' && e.data.iteration_id);
		expect(inner.map((e) => e.data.execution_metadata.iteration_index)).toEqual([0, 1]);
		expect(result.events.at(-1).data.outputs).toEqual({ translations: ['Apple', 'Mandarin orange'] });
	});

	it('loop: loop events, inner nodes, one node_retry, one agent_log', async () => {
		const result = await runStream(framed, { topic: 'x', scenario: 'loop' });
		const names = eventNames(result);
		expect(names.filter((name) => name.startsWith('loop_'))).toEqual(['loop_started', 'loop_next', 'loop_next', 'loop_completed']);
		expect(names.filter((name) => name === 'node_retry')).toHaveLength(1);
		expect(names.filter((name) => name === 'agent_log')).toHaveLength(1);
		const retry = result.events.find((e) => e.event === 'node_retry');
		expect(retry.data).toMatchObject({ status: 'retry', retry_index: 1, loop_id: '1782800000020' });
		expect(result.events.at(-1).data.status).toBe('succeeded');
	});

	it('paused: human_input_required, then workflow_paused, then the stream ends', async () => {
		const result = await runStream(framed, { topic: 'x', scenario: 'paused' });
		expect(eventNames(result).slice(-2)).toEqual(['human_input_required', 'workflow_paused']);
		expect(result.how).toBe('end');
		expect(result.events.at(-1).data).toMatchObject({ status: 'paused', outputs: {} });
	});

	it('tts: audio frames without data, tts_message_end before workflow_finished', async () => {
		const result = await runStream(framed, { topic: 'x', scenario: 'tts' });
		const tts = result.events.filter((e) => e.event === 'tts_message');
		expect(tts.length).toBeGreaterThan(0);
		expect(Object.keys(tts[0])).toEqual(['event', 'workflow_run_id', 'task_id', 'audio']);
		expect(eventNames(result).slice(-2)).toEqual(['tts_message_end', 'workflow_finished']);
	});

	it('unknown-event: a future event in the middle of an llm run', async () => {
		const result = await runStream(framed, { topic: 'x', scenario: 'unknown-event' });
		const future = result.events.find((e) => e.event === 'future_event');
		expect(future).toEqual({
			event: 'future_event',
			workflow_run_id: result.events[0].workflow_run_id,
			task_id: result.events[0].task_id,
			data: { x: 1 },
		});
		expect(result.events.at(-1).data.status).toBe('succeeded');
	});

	it('error on 1.13: the error event, then the socket stays open and silent', async () => {
		const framed = await standinWith({ version: '1.13', chunking: 'frame' });
		const seen = runStream(framed, { topic: 'x', scenario: 'error' }, { idleMs: 300 });
		const result = await seen;
		expect(result.how).toBe('client');
		const error = result.events.at(-1);
		expect(Object.keys(error)).toEqual(['event', 'workflow_run_id', 'code', 'message', 'status']);
		expect(error).toMatchObject({ code: 'internal_server_error', status: 500 });
		expect(eventNames(result).slice(-2)).toEqual(['text_chunk', 'error']);
		await waitFor(() => framed.openStreams() === 0);
		const [run] = [...framed.runs.values()];
		expect(run).toMatchObject({ status: 'failed', error: 'Internal Server Error, please contact support.' });
	});

	it('error on 1.11 closes after the error; on main a synthetic failed workflow_finished follows', async () => {
		const legacy = await standinWith({ version: '1.11', chunking: 'frame' });
		const old = await runStream(legacy, { topic: 'x', scenario: 'error' });
		expect(old.how).toBe('end');
		expect(old.pings).toBe(0);
		expect(eventNames(old).at(-1)).toBe('error');

		const newest = await standinWith({ version: '1.16', chunking: 'frame' });
		const latest = await runStream(newest, { topic: 'x', scenario: 'error' });
		expect(latest.how).toBe('end');
		expect(eventNames(latest).slice(-2)).toEqual(['error', 'workflow_finished']);
		expect(latest.events.at(-1).data).toMatchObject({ status: 'failed', outputs: null, created_by: {}, exceptions_count: 1 });
	});

	it('invalid inputs: 1.11 answers 400, 1.13 pings then falls silent, 1.16 reports a failed run', async () => {
		const legacy = await standinWith({ version: '1.11' });
		const old = await runStream(legacy, {});
		expect(old.status).toBe(400);
		expect(old.json).toEqual({ code: 'invalid_param', message: 'topic is required in input form', status: 400 });

		const older = await standinWith({ version: '1.13' });
		const current = await runStream(older, {}, { idleMs: 200 });
		expect(current.status).toBe(200);
		expect([current.how, current.pings, current.events.length]).toEqual(['client', 1, 0]);
		expect(older.runs.size).toBe(0);

		const newest = await standinWith({ version: '1.16' });
		const latest = await runStream(newest, {});
		expect(latest.how).toBe('end');
		expect(eventNames(latest)).toEqual(['workflow_started', 'workflow_finished']);
		expect(latest.events[0].task_id).toBe(latest.events[0].workflow_run_id);
		expect(latest.events[1].data).toMatchObject({ status: 'failed', error: 'topic is required in input form', exceptions_count: 1 });
	});

	it('truncated ends cleanly without a terminal event (1.13); drop breaks inside a data: line', async () => {
		const framed = await standinWith({ version: '1.13', chunking: 'frame' });
		const truncated = await runStream(framed, { topic: 'x', scenario: 'truncated' });
		expect(truncated.how).toBe('end');
		expect(eventNames(truncated).at(-1)).toBe('text_chunk');

		const dropped = await runStream(framed, { topic: 'x', scenario: 'drop' });
		expect(dropped.how).toBe('aborted');
		const tail = dropped.bytes.toString('utf8').split('\n\n').at(-1)!;
		expect(tail.startsWith('data: {"event":"text_chunk"')).toBe(true);
		expect(tail).not.toContain('\n');
	});

	it('silent sends only the leading ping; pings sends pings and nothing else', async () => {
		const silent = await runStream(standin, { topic: 'x', scenario: 'silent' }, { idleMs: 150 });
		expect([silent.pings, silent.events.length, silent.how]).toEqual([1, 0, 'client']);

		const pinging = await standinWith({ pingIntervalMs: 20 });
		// Five pings and no event, however slowly a loaded machine lets them come (the bound is a hang guard).
		const pings = await runStream(pinging, { topic: 'x', scenario: 'pings' }, { closeAfterPings: 5, closeAfterMs: 20_000 });
		expect([pings.pings, pings.events.length, pings.how]).toEqual([5, 0, 'client']);
	});

	it('pings arrive while a run is busy', async () => {
		// Pings ten times as often as events: a late timer still leaves the run's waits full of them.
		const pinging = await standinWith({ pingIntervalMs: 5, chunking: 'frame' });
		const result = await runStream(pinging, { topic: 'x', scenario: 'slow', delay_ms: 50 });
		expect(result.pings).toBeGreaterThan(3);
		expect(result.events.at(-1).data.status).toBe('succeeded');
	});

	it('stepDelayMs spaces the events of a run', async () => {
		const paced = await standinWith({ stepDelayMs: 15, chunking: 'frame' });
		const before = Date.now();
		const result = await runStream(paced, { topic: 'x' });
		expect(result.events).toHaveLength(14);
		expect(Date.now() - before).toBeGreaterThanOrEqual(13 * 15 - 5);
	});

	it('slow runs side by side', async () => {
		const before = Date.now();
		const first: number[] = [];
		const last: number[] = [];
		const results = await Promise.all(
			[0, 1, 2].map((run) =>
				runStream(framed, { topic: 'x', scenario: 'slow', delay_ms: 20 }, {
					onEvent: () => {
						first[run] ??= performance.now();
						last[run] = performance.now();
					},
				}),
			),
		);
		const took = Date.now() - before;
		for (const result of results) expect(result.events.at(-1).data.status).toBe('succeeded');
		// One run alone takes 14 × 20 ms.
		expect(took).toBeGreaterThanOrEqual(14 * 20 - 5);
		// Side by side, not one after another: every run had begun before any of them ended. An order,
		// not a duration, so a loaded machine cannot make it fail.
		expect(Math.max(...first)).toBeLessThan(Math.min(...last));
	});

	it('many: exactly N chunks whose texts add up to outputs.answer', async () => {
		const result = await runStream(standin, { topic: 'x', scenario: 'many', chunks: 1500 });
		const chunks = result.events.filter((e) => e.event === 'text_chunk');
		expect(chunks).toHaveLength(1500);
		expect(chunks[0].data.text).toBe('tok-1 ');
		expect(result.events.at(-1).data.outputs.answer).toBe(chunks.map((e) => e.data.text).join(''));
	});

	it('many in bulk chunking: 200,000 events in large writes', async () => {
		const bulk = await standinWith({ chunking: 'bulk' });
		const result = await runStream(bulk, { topic: 'x', scenario: 'many', chunks: 200_000 });
		expect(result.events).toHaveLength(200_002);
		expect(result.chunks.length).toBeLessThan(result.events.length / 50);
		expect(result.events.at(-1).data.outputs.answer).toHaveLength(
			Array.from({ length: 200_000 }, (_, i) => `tok-${i + 1} `).join('').length,
		);
	});
});

describe('stop', () => {
	it('ends a waiting run: node_finished stopped, then workflow_finished stopped', async () => {
		let stopping: Promise<Reply> | undefined;
		const result = await runStream(standin, { topic: 'x', scenario: 'wait-stop', delay_ms: 10 }, {
			onEvent: (event) => {
				if (event.event === 'text_chunk' && !stopping) {
					stopping = send(standin, 'POST', `/workflows/tasks/${event.task_id}/stop`, { json: { user: 'tester' } });
				}
			},
		});
		expect((await stopping!).json).toEqual({ result: 'success' });
		const names = eventNames(result);
		expect(names.slice(0, 2)).toEqual(['workflow_started', 'node_started']);
		expect(names.slice(-2)).toEqual(['node_finished', 'workflow_finished']);
		expect(result.events.at(-2).data).toMatchObject({ node_type: 'llm', status: 'stopped', error: 'Stopped by user.' });
		expect(result.events.at(-1).data).toMatchObject({ status: 'stopped', error: 'Stopped by user.' });
		expect(result.how).toBe('end');
		expect(standin.stoppedTasks).toEqual([result.events[0].task_id]);
		const detail = await send(standin, 'GET', `/workflows/run/${result.events[0].workflow_run_id}`);
		expect(detail.json.status).toBe('stopped');
	});

	it('needs a user, and answers success for any task id', async () => {
		const noUser = await send(standin, 'POST', '/workflows/tasks/abc/stop', { json: {} });
		expect(noUser.json).toEqual({ code: 'invalid_param', message: 'Arg user must be provided.', status: 400 });
		const unknown = await send(standin, 'POST', '/workflows/tasks/abc/stop', { json: { user: 'u' } });
		expect([unknown.status, unknown.text]).toEqual([200, '{"result": "success"}\n']);
		expect(standin.stoppedTasks).toEqual(['abc']);
	});
});

describe('run detail', () => {
	it('404 for an unknown id on 1.13; 200 all-null and string outputs on 1.11', async () => {
		const missing = await send(standin, 'GET', '/workflows/run/00000000-0000-4000-8000-000000000000');
		expect(missing.json).toEqual({ code: 'not_found', message: 'Workflow run not found.', status: 404 });

		const legacy = await standinWith({ version: '1.11' });
		const allNull = await send(legacy, 'GET', '/workflows/run/whatever');
		expect(allNull.status).toBe(200);
		expect(Object.values(allNull.json).every((value) => value === null)).toBe(true);
		const made = await send(legacy, 'POST', '/workflows/run', { json: { user: 'u', inputs: { topic: 'x' } } });
		const detail = await send(legacy, 'GET', `/workflows/run/${made.json.workflow_run_id}`);
		expect(JSON.parse(detail.json.outputs)).toEqual(made.json.data.outputs);
	});

	it('finds seeded historical runs too', async () => {
		const logs = await send(standin, 'GET', '/workflows/logs?limit=1');
		const id = logs.json.data[0].workflow_run.id;
		const detail = await send(standin, 'GET', `/workflows/run/${id}`);
		expect(detail.json).toMatchObject({ id, status: logs.json.data[0].workflow_run.status });
	});
});

describe('chunking', () => {
	/** Frame spans [start, end) in the whole body, end after the blank line. */
	function frameSpans(bytes: Buffer, eol: string): Array<[number, number]> {
		const spans: Array<[number, number]> = [];
		const separator = Buffer.from(eol + eol);
		let start = 0;
		let at: number;
		while ((at = bytes.indexOf(separator, start)) >= 0) {
			spans.push([start, at + separator.length]);
			start = at + separator.length;
		}
		return spans;
	}

	function boundaries(chunks: Buffer[]): number[] {
		const cuts: number[] = [];
		let offset = 0;
		for (const chunk of chunks.slice(0, -1)) cuts.push((offset += chunk.length));
		return cuts;
	}

	it('awkward: cuts inside characters, inside data: lines, between the two newlines, and batches frames', async () => {
		const result = await runStream(standin, { topic: '富士山' });
		const { bytes, chunks } = result;
		const cuts = boundaries(chunks);
		const isContinuation = (byte: number) => byte >= 0x80 && byte < 0xc0;

		const insideCharacter = cuts.filter((p) => isContinuation(bytes[p]));
		expect(insideCharacter.length).toBeGreaterThan(0);

		const insideDataLine = cuts.filter((p) => {
			const lineStart = bytes.lastIndexOf(0x0a, p - 1) + 1;
			return lineStart < p && bytes[p] !== 0x0a && bytes.subarray(lineStart, lineStart + 5).toString() === 'data:';
		});
		expect(insideDataLine.length).toBeGreaterThan(0);
		expect(cuts.some((p) => bytes.subarray(p - 3, p).toString() === 'dat')).toBe(true);

		const betweenNewlines = cuts.filter((p) => bytes[p - 1] === 0x0a && bytes[p] === 0x0a);
		expect(betweenNewlines.length).toBeGreaterThan(0);

		let offset = 0;
		const wholeFramesPerChunk = chunks.map((chunk) => {
			const [from, to] = [offset, (offset += chunk.length)];
			return frameSpans(bytes, '\n').filter(([start, end]) => start >= from && end <= to).length;
		});
		expect(Math.max(...wholeFramesPerChunk)).toBeGreaterThanOrEqual(2);

		// However cut, the stream carries the same events as a frame-per-write stream.
		expect(eventNames(result)).toEqual(eventNames(await runStream(framed, { topic: '富士山' })));
		expect(result.events.at(-1).data.outputs.answer).toBe('富士山は日本で最も高い山です。標高は3,776メートルです🗻');
	});

	it('awkward with CRLF: frames end in CRLF CRLF, and a cut falls between CR and LF', async () => {
		const crlf = await standinWith({ lineEnding: '\r\n' });
		const result = await runStream(crlf, { topic: '富士山' });
		const text = result.bytes.toString('utf8');
		expect(text.startsWith('event: ping\r\n\r\ndata: ')).toBe(true);
		expect(text.replace(/\r\n/g, '')).not.toContain('\n');
		expect(frameSpans(result.bytes, '\r\n')).toHaveLength(15);
		expect(boundaries(result.chunks).some((p) => result.bytes[p - 1] === 0x0d && result.bytes[p] === 0x0a)).toBe(true);
		expect(result.events.at(-1).data.status).toBe('succeeded');
	});

	it('frame: one write per frame', async () => {
		const result = await runStream(framed, { topic: '富士山' });
		expect(result.chunks).toHaveLength(15);
		expect(result.chunks.every((chunk) => chunk.toString('utf8').endsWith('\n\n'))).toBe(true);
	});
});

describe('logs', () => {
	const logs = (query = '') => send(standin, 'GET', `/workflows/logs${query}`);

	it('pages newest first with Dify pagination math', async () => {
		const first = await logs();
		expect(first.json).toMatchObject({ page: 1, limit: 20, total: 45, has_more: true });
		expect(first.json.data).toHaveLength(20);
		const times = first.json.data.map((row: any) => row.created_at);
		expect([...times].sort((a, b) => b - a)).toEqual(times);
		const last = await logs('?page=3&limit=20');
		expect(last.json).toMatchObject({ page: 3, total: 45, has_more: false });
		expect(last.json.data).toHaveLength(5);
		const all = await logs('?limit=100');
		expect(new Set(all.json.data.map((row: any) => row.id)).size).toBe(45);
		expect(all.json.data[0]).toMatchObject({
			workflow_run: { version: expect.any(String), triggered_from: 'app-run', exceptions_count: 0 },
			details: null,
		});
	});

	it('is deterministic across instances', async () => {
		const other = await standinWith();
		const [a, b] = await Promise.all([logs('?limit=100'), send(other, 'GET', '/workflows/logs?limit=100')]);
		expect(b.json).toEqual(a.json);
	});

	it('validates page, limit and status like pydantic', async () => {
		for (const query of ['?limit=0', '?limit=101', '?page=0', '?page=100000', '?limit=ten']) {
			const reply = await logs(query);
			expect([query, reply.status, reply.json.code]).toEqual([query, 400, 'invalid_param']);
		}
		const status = await logs('?status=running');
		expect(status.json.message).toContain("Input should be 'succeeded', 'failed' or 'stopped'");
	});

	it('filters by status, keyword, end user, account and time', async () => {
		const failed = await logs('?status=failed&limit=100');
		expect(failed.json.total).toBeGreaterThan(0);
		expect(failed.json.data.every((row: any) => row.workflow_run.status === 'failed')).toBe(true);

		const kyoto = await logs('?keyword=KYOTO&limit=100');
		expect(kyoto.json.total).toBe(5);

		const byUser = await logs('?created_by_end_user_session_id=user-42&limit=100');
		expect(byUser.json.data.every((row: any) => row.created_by_end_user.session_id === 'user-42')).toBe(true);

		const byOwner = await logs('?created_by_account=owner@example.com&limit=100');
		expect(byOwner.json.total).toBeGreaterThan(0);
		expect(byOwner.json.data.every((row: any) => row.created_by_account.email === 'owner@example.com')).toBe(true);
		const stranger = await logs('?created_by_account=who@example.com');
		expect(stranger.json).toEqual({ code: 'invalid_param', message: 'Account not found: who@example.com', status: 400 });

		const all = (await logs('?limit=100')).json.data;
		const pivot = all[10].created_at;
		const iso = new Date(pivot * 1000).toISOString();
		const before = await logs(`?created_at__before=${encodeURIComponent(iso)}&limit=100`);
		expect(before.json.total).toBe(35);
		const after = await logs(`?created_at__after=${encodeURIComponent(iso.replace('Z', '+00:00'))}&limit=100`);
		expect(after.json.total).toBe(11);
		const badDate = await logs('?created_at__after=last%20tuesday');
		expect([badDate.status, badDate.json.code]).toEqual([400, 'invalid_param']);
	});

	it('adds a row per run (findable by run id) and reset() keeps only the seeded rows', async () => {
		const made = await send(standin, 'POST', '/workflows/run', { json: { user: 'u', inputs: { topic: 'x' } } });
		const found = await logs(`?keyword=${made.json.workflow_run_id}`);
		expect(found.json.data.map((row: any) => row.workflow_run.id)).toEqual([made.json.workflow_run_id]);
		// Without dashes no text contains the keyword: only the exact run-id match can find it.
		const seededId = (await logs('?limit=100')).json.data.at(-1).workflow_run.id;
		const seeded = await logs(`?keyword=${seededId.replace(/-/g, '').toUpperCase()}`);
		expect(seeded.json.data.map((row: any) => row.workflow_run.id)).toEqual([seededId]);
		expect((await logs()).json.total).toBe(46);
		standin.reset();
		expect((await logs()).json.total).toBe(45);
		expect(standin.runs.size).toBe(0);
	});
});

describe('upload', () => {
	let limited: DifyStandin;
	beforeAll(async () => {
		limited = await standinWith({ version: '1.13', uploadLimitsMb: { image: 10, video: 100, audio: 50, other: 1 } });
	});
	beforeEach(() => limited.reset());

	const upload = (target: DifyStandin, parts: Parameters<typeof multipartBody>[0]) => {
		const { body, contentType } = multipartBody(parts);
		return send(target, 'POST', '/files/upload', { raw: body, contentType });
	};

	it('answers 201 with the 1.13 file object and records size and sha256, not the bytes', async () => {
		const content = Buffer.from('富士山 report\n'.repeat(1000));
		const reply = await upload(limited, [
			{ name: 'user', value: 'user-42' },
			{ name: 'file', filename: 'report.pdf', contentType: 'application/pdf', content },
		]);
		expect(reply.status).toBe(201);
		expect(Object.keys(reply.json)).toEqual([
			'id', 'name', 'size', 'extension', 'mime_type', 'created_by', 'created_at', 'preview_url',
			'source_url', 'original_url', 'user_id', 'tenant_id', 'conversation_id', 'file_key',
		]);
		expect(reply.json).toMatchObject({ name: 'report.pdf', size: content.length, extension: 'pdf', mime_type: 'application/pdf' });
		expect(reply.json.source_url.startsWith(`${limited.url.replace(/\/v1$/, '')}/files/${reply.json.id}/file-preview?`)).toBe(true);
		expect(limited.requests[0].multipart).toEqual({
			fields: { user: 'user-42' },
			files: [{ field: 'file', filename: 'report.pdf', contentType: 'application/pdf', size: content.length, sha256: sha256(content) }],
		});
	});

	it('answers the 9-key object on 1.11', async () => {
		const legacy = await standinWith({ version: '1.11' });
		const reply = await upload(legacy, [{ name: 'file', filename: 'a.txt', contentType: 'text/plain', value: 'a' }]);
		expect(Object.keys(reply.json)).toHaveLength(9);
	});

	it.each([
		['no file part', [{ name: 'user', value: 'u' }], 400, 'no_file_uploaded'],
		['a file part under another name only', [{ name: 'doc', filename: 'a.txt', contentType: 'text/plain', value: 'a' }], 400, 'no_file_uploaded'],
		[
			'two file parts',
			[
				{ name: 'file', filename: 'a.txt', contentType: 'text/plain', value: 'a' },
				{ name: 'other', filename: 'b.txt', contentType: 'text/plain', value: 'b' },
			],
			400,
			'too_many_files',
		],
		['no Content-Type on the part', [{ name: 'file', filename: 'a.txt', value: 'a' }], 415, 'unsupported_file_type'],
		['an empty filename', [{ name: 'file', filename: '', contentType: 'text/plain', value: 'a' }], 400, 'filename_not_exists_error'],
		['a blocked extension', [{ name: 'file', filename: 'tool.exe', contentType: 'application/octet-stream', value: 'MZ' }], 400, 'invalid_param'],
		['a slash in the filename', [{ name: 'file', filename: 'a/b.txt', contentType: 'text/plain', value: 'a' }], 400, 'invalid_param'],
		['a backslash in the filename', [{ name: 'file', filename: 'a\\\\b.txt', contentType: 'text/plain', value: 'a' }], 400, 'invalid_param'],
	])('refuses %s', async (_, parts, status, code) => {
		const reply = await upload(limited, parts);
		expect([reply.status, reply.json.code]).toEqual([status, code]);
	});

	it('applies the size limit of the extension bucket', async () => {
		const content = Buffer.alloc(1024 * 1024 + 1, 1);
		const pdf = await upload(limited, [{ name: 'file', filename: 'big.pdf', contentType: 'application/pdf', content }]);
		expect(pdf.json).toEqual({ code: 'file_too_large', message: 'File size exceeded. {message}', status: 413 });
		const png = await upload(limited, [{ name: 'file', filename: 'big.png', contentType: 'image/png', content }]);
		expect(png.status).toBe(201);
	});

	it('treats a body that is not multipart as having no file', async () => {
		const reply = await send(limited, 'POST', '/files/upload', { json: { file: 'x' } });
		expect(reply.json.code).toBe('no_file_uploaded');
	});

	it('an uploaded file can be the doc input of a run', async () => {
		const file = await upload(limited, [{ name: 'file', filename: 'notes.md', contentType: 'text/markdown', value: '# hi' }]);
		const doc = { type: 'document', transfer_method: 'local_file', upload_file_id: file.json.id };
		const run = await send(limited, 'POST', '/workflows/run', { json: { user: 'u', inputs: { topic: 'x', doc } } });
		expect(run.status).toBe(200);
		expect(limited.runs.get(run.json.workflow_run_id)!.inputs.doc).toMatchObject({
			dify_model_identity: '__dify__file__',
			type: 'document',
			related_id: file.json.id,
			filename: 'notes.md',
			extension: '.md',
		});
		const wrongType = await send(limited, 'POST', '/workflows/run', {
			json: { user: 'u', inputs: { topic: 'x', doc: { ...doc, type: 'image' } } },
		});
		expect(wrongType.json.message).toBe('Detected file type does not match the specified type. Please verify the file.');
		const unknownFile = await send(limited, 'POST', '/workflows/run', {
			json: { user: 'u', inputs: { topic: 'x', doc: { ...doc, upload_file_id: '00000000-0000-4000-8000-000000000000' } } },
		});
		expect(unknownFile.json.message).toBe('Invalid upload file');
	});

	it('streams a 1 GiB upload with flat memory', async () => {
		const big = await standinWith({ uploadLimitsMb: { image: 10, video: 2048, audio: 50, other: 15 } });
		const size = 1024 * 1024 * 1024;
		const boundary = 'bigUploadBoundary';
		const head = Buffer.from(
			`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
		);
		const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
		const block = Buffer.alloc(1024 * 1024, 0x5a);
		const expected = createHash('sha256');
		for (let sent = 0; sent < size; sent += block.length) expected.update(block);

		const baseline = process.memoryUsage().rss;
		let peak = baseline;
		const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
		try {
			const reply = await new Promise<Reply>((resolve, reject) => {
				const req = httpRequest(
					`${big.url}/files/upload`,
					{
						method: 'POST',
						agent: false,
						headers: {
							authorization: `Bearer ${big.apiKey}`,
							'content-type': `multipart/form-data; boundary=${boundary}`,
							'content-length': String(head.length + size + tail.length),
						},
					},
					(res) => {
						let text = '';
						res.on('data', (chunk) => (text += chunk));
						res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) }));
					},
				);
				req.on('error', reject);
				req.write(head);
				let sent = 0;
				const pump = () => {
					while (sent < size) {
						sent += block.length;
						if (!req.write(block)) return void req.once('drain', pump);
					}
					req.end(tail);
				};
				pump();
			});
			expect(reply.status).toBe(201);
			expect(reply.json.size).toBe(size);
			expect(big.requests[0].multipart!.files[0]).toEqual({
				field: 'file',
				filename: 'big.mp4',
				contentType: 'video/mp4',
				size,
				sha256: expected.digest('hex'),
			});
			expect(peak - baseline).toBeLessThan(256 * 1024 * 1024);
		} finally {
			clearInterval(sampler);
		}
	}, 60_000);
});

describe('fault injection', () => {
	it('answers JSON, HTML or text errors with status and headers, the given number of times', async () => {
		standin.failNext(
			{ path: '/v1/info' },
			{ status: 429, json: { code: 'rate_limit_error', message: 'slow down', status: 429 }, headers: { 'Retry-After': '7' } },
			2,
		);
		standin.failNext({ method: 'get', path: /\/parameters$/ }, { status: 502, html: '<html><title>502 Bad Gateway</title></html>' });
		standin.failNext({ method: 'POST', path: '/parameters' }, { status: 418, text: 'never matched' });
		standin.failNext({ path: '/site' }, { status: 503, text: 'maintenance' });

		for (let i = 0; i < 2; i++) {
			const limited = await send(standin, 'GET', '/info', { auth: null });
			expect([limited.status, limited.headers['retry-after'], limited.json.code]).toEqual([429, '7', 'rate_limit_error']);
		}
		expect((await send(standin, 'GET', '/info')).status).toBe(200);
		const gateway = await send(standin, 'GET', '/parameters');
		expect([gateway.status, gateway.headers['content-type'], gateway.text]).toEqual([
			502,
			'text/html; charset=utf-8',
			'<html><title>502 Bad Gateway</title></html>',
		]);
		const site = await send(standin, 'GET', '/site');
		expect([site.status, site.headers['content-type'], site.text]).toEqual([503, 'text/plain; charset=utf-8', 'maintenance']);
		expect(standin.requests).toHaveLength(5);
		standin.reset();
		expect((await send(standin, 'GET', '/parameters')).status).toBe(200);
	});

	it('hang-headers accepts a run request, reads its body, and never answers', async () => {
		standin.failNext({ path: '/workflows/run' }, { kind: 'hang-headers' });
		const result = await runStream(standin, { topic: 'x' }, { closeAfterMs: 200 });
		expect([result.status, result.how]).toEqual([0, 'client']);
		// The stand-in reads the body whenever it comes: on a loaded machine, maybe after the client left.
		await waitFor(() => standin.requests[0]?.json !== undefined);
		expect(standin.requests[0].json).toMatchObject({ inputs: { topic: 'x' } });
		expect(standin.runs.size).toBe(0);
	});

	it('hang-headers: no status line arrives until the client gives up', async () => {
		standin.failNext({ path: '/info' }, { kind: 'hang-headers' });
		const outcome = await new Promise<string>((resolve) => {
			const req = httpRequest(`${standin.url}/info`, { agent: false, headers: { authorization: `Bearer ${standin.apiKey}` } });
			req.on('response', () => resolve('answered'));
			req.on('error', () => resolve('gave up'));
			req.setTimeout(200, () => req.destroy(new Error('timeout')));
			req.end();
		});
		expect(outcome).toBe('gave up');
		expect(standin.requests.map((r) => r.path)).toEqual(['/v1/info']);
	});

	it('reset destroys the connection', async () => {
		standin.failNext({ path: '/info' }, { kind: 'reset' });
		await expect(send(standin, 'GET', '/info')).rejects.toThrow(/ECONNRESET|socket hang up/);
	});

	it('redirect answers 3xx with Location (the same URL by default)', async () => {
		standin.failNext({ path: '/info' }, { kind: 'redirect', status: 301, location: 'https://elsewhere.example/v1/info' });
		standin.failNext({ path: '/site' }, { kind: 'redirect' });
		const moved = await send(standin, 'GET', '/info');
		expect([moved.status, moved.headers.location]).toEqual([301, 'https://elsewhere.example/v1/info']);
		const temporary = await send(standin, 'GET', '/site');
		expect([temporary.status, temporary.headers.location]).toEqual([307, `${standin.url}/site`]);
	});

	it('stall-after-events sends N events, then stays open and silent', async () => {
		standin.failNext({ path: '/workflows/run' }, { kind: 'stall-after-events', afterEvents: 3 });
		const result = await runStream(standin, { topic: 'x' }, { idleMs: 250 });
		expect(result.how).toBe('client');
		expect(eventNames(result)).toEqual(['workflow_started', 'node_started', 'node_finished']);
		await waitFor(() => standin.openStreams() === 0);
	});
});

describe('lifecycle', () => {
	it('counts open streams and close() ends them', async () => {
		const closing = await startDifyStandin();
		const open = runStream(closing, { topic: 'x', scenario: 'silent' });
		await waitFor(() => closing.openStreams() === 1);
		await closing.close();
		const result = await open;
		expect(result.how).toBe('aborted');
		await waitFor(() => closing.openStreams() === 0);
	});
});

describe('Dify 1.14 – 1.16: re-attach, Human Input, new stream behaviours', () => {
	const events = (target: DifyStandin, runId: string, query: string, options: StreamOptions = {}) =>
		runStream(target, {}, { ...options, method: 'GET', path: `/workflow/${runId}/events?${query}` });

	it('a finished run: one json.dumps workflow_finished frame, task_id = run id, no ping', async () => {
		const run = await runStream(standin, { topic: '富士山' }, { user: 'u-1' });
		const runId = run.events[0].workflow_run_id;
		const watched = await events(standin, runId, 'user=u-1');
		expect([watched.how, watched.pings]).toEqual(['end', 0]);
		const text = watched.bytes.toString('utf8');
		expect(text.startsWith('data: {"event": "workflow_finished", "task_id": ')).toBe(true);
		expect(text).toContain('\\u5bcc');
		expect(watched.events[0]).toMatchObject({ task_id: runId, data: { status: 'succeeded', created_by: { user: 'u-1' } } });
	});

	it('user is required and must be the run’s; 1.13 has no events endpoint', async () => {
		const run = await runStream(standin, { topic: 'x' }, { user: 'u-1' });
		const runId = run.events[0].workflow_run_id;
		expect((await send(standin, 'GET', `/workflow/${runId}/events`)).json).toMatchObject({ status: 400, message: 'Arg user must be provided.' });
		expect((await send(standin, 'GET', `/workflow/${runId}/events?user=other`)).json).toEqual({
			code: 'not_found',
			message: 'Workflow run not found',
			status: 404,
		});
		const older = await standinWith({ version: '1.13' });
		expect((await send(older, 'GET', `/workflow/${runId}/events?user=u-1`)).status).toBe(404);
		expect((await send(older, 'GET', '/form/human_input/abc')).status).toBe(404);
	});

	it('a cut stream: the run carries on, and a re-attached client gets the rest live', async () => {
		const cut = await runStream(standin, { topic: 'x', scenario: 'cut', delay_ms: 300 }, { user: 'u-2' });
		expect(cut.how).toBe('aborted');
		const runId = cut.events[0].workflow_run_id;
		expect(standin.runs.get(runId)?.status).toBe('running');
		const rest = await events(standin, runId, 'user=u-2');
		expect(rest.how).toBe('end');
		expect(rest.pings).toBeGreaterThanOrEqual(1);
		expect(eventNames(rest).at(-1)).toBe('workflow_finished');
		expect(eventNames(rest)).not.toContain('workflow_started');
		expect(standin.runs.get(runId)?.status).toBe('succeeded');
	});

	it('a paused run: 1.16 form token, the paused blocking body, snapshot replay, one accepted submit, then the resumed run', async () => {
		const paused = await runStream(standin, { topic: '富士山', scenario: 'paused' }, { user: 'u-3' });
		const required = paused.events.find((event) => event.event === 'human_input_required');
		expect(required.data.form_token).toMatch(/^[A-Za-z0-9]{22}$/);
		expect(required.data.approval_channels).toEqual(['console']);
		const pausedEvent = paused.events.at(-1);
		expect(Object.keys(pausedEvent.data.reasons[0])).toEqual([
			'TYPE', 'form_id', 'form_content', 'inputs', 'actions', 'node_id', 'node_title', 'resolved_default_values',
			'form_token', 'approval_channels', 'expiration_time',
		]);
		const runId = pausedEvent.workflow_run_id;
		const token = required.data.form_token;

		const snapshot = await events(standin, runId, 'user=u-3&include_state_snapshot=TRUE');
		expect(eventNames(snapshot)).toEqual([
			'workflow_started', 'node_started', 'node_finished', 'node_started', 'human_input_required', 'workflow_paused',
		]);
		expect(Object.keys(snapshot.events[0]).slice(0, 3)).toEqual(['event', 'task_id', 'workflow_run_id']);
		expect(snapshot.events[2].data.outputs).toBeNull();

		const form = await send(standin, 'GET', `/form/human_input/${token}`, { auth: `Bearer ${standin.apiKey}` });
		expect(Object.keys(form.json)).toEqual(['form_content', 'inputs', 'resolved_default_values', 'user_actions', 'expiration_time']);
		expect((await send(standin, 'POST', `/form/human_input/${token}`, { json: { inputs: {}, action: 'approve' } })).json).toMatchObject({
			status: 400,
			message: 'Arg user must be provided.',
		});
		expect((await send(standin, 'POST', `/form/human_input/${token}`, { json: { inputs: {}, action: 'nope', user: 'r' } })).json).toEqual({
			code: 'invalid_form_data',
			message: 'Invalid action: nope',
			status: 400,
		});
		expect((await send(standin, 'POST', `/form/human_input/${token}`, { json: { inputs: {}, action: 'approve', user: 'r' } })).json).toMatchObject({
			code: 'invalid_form_data',
			message: 'Missing required inputs: feedback',
		});

		// Watching before the submit misses nothing of the resumed run.
		const watching = events(standin, runId, 'user=u-3');
		await waitFor(() => standin.openStreams() === 1);
		const submitted = await send(standin, 'POST', `/form/human_input/${token}`, {
			json: { inputs: { feedback: 'Looks right' }, action: 'approve', user: 'reviewer-7' },
		});
		expect([submitted.status, submitted.json]).toEqual([200, {}]);
		const again = await send(standin, 'POST', `/form/human_input/${token}`, { json: { inputs: { feedback: 'x' }, action: 'approve', user: 'r' } });
		expect([again.status, again.json.code]).toEqual([412, 'human_input_form_submitted']);
		expect((await send(standin, 'GET', `/form/human_input/${token}`)).status).toBe(412);

		const resumed = await watching;
		expect(eventNames(resumed)).toEqual(['workflow_started', 'node_started', 'node_finished', 'node_started', 'node_finished', 'workflow_finished']);
		expect(resumed.events[0].data.reason).toBe('resumption');
		expect(resumed.events[2].data.outputs).toMatchObject({ feedback: 'Looks right', __action_id: 'approve', __action_value: 'Approve' });
		expect(resumed.events.at(-1).data.outputs).toEqual({ decision: 'approve', feedback: 'Looks right', topic: '富士山' });

		const blocking = await runStream(standin, { topic: 'x', scenario: 'paused' }, { responseMode: 'blocking' });
		expect(blocking.json.data).toMatchObject({ status: 'paused', paused_nodes: ['1782800000040'] });
		expect(blocking.json.data.reasons[0].form_token).toMatch(/^[A-Za-z0-9]{22}$/);
		const old = await runStream(await standinWith({ version: '1.13' }), { topic: 'x', scenario: 'paused' }, { responseMode: 'blocking' });
		expect(old.json.data.status).toBe('paused');
		expect(old.json.data.reasons).toBeUndefined();
	});

	it('forms expire (412), e-mail-only forms have no token, continue_on_pause keeps the stream open', async () => {
		const short = await runStream(standin, { topic: 'x', scenario: 'paused', form_ttl: 0.2 }, { user: 'u-4' });
		const token = short.events.find((event) => event.event === 'human_input_required').data.form_token;
		// expiration_time is in whole seconds, rounded up.
		await delay(1250);
		const expired = await send(standin, 'GET', `/form/human_input/${token}`);
		expect([expired.status, expired.json.code]).toEqual([412, 'human_input_form_expired']);

		const email = await runStream(standin, { topic: 'x', scenario: 'paused', delivery: 'email' });
		const reason = email.events.at(-1).data.reasons[0];
		expect([reason.form_token, reason.approval_channels]).toEqual([null, ['console', 'email']]);

		const runId = email.events[0].workflow_run_id;
		const open = await events(standin, runId, 'user=tester&include_state_snapshot=true&continue_on_pause=true', { idleMs: 300 });
		expect(open.how).toBe('client');
		expect(eventNames(open).at(-1)).toBe('workflow_paused');
	});

	it('reasoning_chunk, rate_limit_error and the appended failed run (1.16) against 1.13', async () => {
		const reasoning = await runStream(standin, { topic: 'x', scenario: 'reasoning' });
		expect(eventNames(reasoning).filter((name) => name === 'reasoning_chunk')).toHaveLength(3);
		const old = await runStream(await standinWith({ version: '1.13' }), { topic: 'x', scenario: 'reasoning' });
		expect(eventNames(old)).not.toContain('reasoning_chunk');

		const limited = await runStream(standin, { topic: 'x', scenario: 'rate-limit' });
		expect(limited.events.at(-2)).toMatchObject({ event: 'error', code: 'rate_limit_error', status: 429 });
		expect(limited.events.at(-1)).toMatchObject({
			event: 'workflow_finished',
			data: { status: 'failed', error: 'Workflow stream ended without a terminal event' },
		});
	});

	it('trace_session_id is checked (1.16), and a sandbox plan refuses a chosen version', async () => {
		const tooLong = await send(standin, 'POST', '/workflows/run', { json: { inputs: { topic: 'x' }, user: 'u', trace_session_id: '   ' } });
		expect(tooLong.json).toEqual({ code: 'bad_request', message: 'trace_session_id must be 1 to 200 characters after trimming.', status: 400 });
		const notText = await send(standin, 'POST', '/workflows/run', { json: { inputs: { topic: 'x' }, user: 'u', trace_session_id: 5 } });
		expect(notText.json.message).toBe('trace_session_id must be a string.');
		const fine = await send(standin, 'POST', '/workflows/run', { json: { inputs: { topic: 'x' }, user: 'u', trace_session_id: 'batch-7' } });
		expect(fine.status).toBe(200);
		const older = await standinWith({ version: '1.13' });
		expect((await send(older, 'POST', '/workflows/run', { json: { inputs: { topic: 'x' }, user: 'u', trace_session_id: 5 } })).status).toBe(200);

		const sandbox = await standinWith({ sandboxPlan: true });
		const refused = await send(sandbox, 'POST', '/workflows/1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d/run', {
			json: { inputs: { topic: 'x' }, user: 'u' },
		});
		expect([refused.status, refused.json.code]).toEqual([403, 'workflow_version_execution_not_allowed']);
	});
});
