// A scripted OpenAI-compatible chat-completions server on 127.0.0.1, so that n8n's AI Agent can be
// driven deterministically: the first request of a conversation is answered with a call to the
// Dify Workflow tool, the next one (which carries the tool's result) with a final answer quoting it.
//
//   const openai = await startOpenAiScript({ inputsFor: (question) => ({ topic: question }) });
//   openai.url          // base URL for the OpenAI credential / the model node's Base URL option
//   openai.requests     // every request received: { path, body }
//   await openai.close();
//
// Like a real model, it reads the tool's name and parameter schema from the request's `tools`, and
// answers in Server-Sent Events when the client asks for `stream: true`.

import { createServer } from 'node:http';

const FINAL_PREFIX = 'According to the Dify workflow: ';

function toolOf(body) {
	const tools = (body.tools ?? []).filter((tool) => tool.type === 'function');
	const dify = tools.find((tool) => /dify/i.test(tool.function.name)) ?? tools[0];
	if (!dify) throw new Error(`the request offers no tool: ${JSON.stringify(body.tools)}`);
	return dify.function;
}

/** The arguments a model would send: the `inputs` parameter n8n made from $fromAI('inputs', …). */
function argumentsFor(tool, inputs) {
	const properties = tool.parameters?.properties ?? {};
	if (!('inputs' in properties)) {
		throw new Error(`the tool ${tool.name} has no "inputs" parameter: ${JSON.stringify(tool.parameters)}`);
	}
	// A `json` $fromAI parameter may be declared as an object or as a string holding JSON.
	const declared = properties.inputs.type;
	return { inputs: declared === 'string' ? JSON.stringify(inputs) : inputs };
}

function lastUserText(messages) {
	const user = messages.filter((message) => message.role === 'user').at(-1);
	if (!user) return '';
	if (typeof user.content === 'string') return user.content;
	return user.content.map((part) => part.text ?? '').join('');
}

function toolResultOf(messages) {
	const result = messages.filter((message) => message.role === 'tool').at(-1);
	if (!result) return undefined;
	return typeof result.content === 'string' ? result.content : JSON.stringify(result.content);
}

/** What the scripted model says next: `{ toolCall }` or `{ content }`. */
function reply(body, inputsFor, counter) {
	const messages = body.messages ?? [];
	const toolResult = toolResultOf(messages);
	if (toolResult !== undefined) return { content: `${FINAL_PREFIX}${toolResult}` };
	const tool = toolOf(body);
	return {
		toolCall: {
			id: `call_${counter}`,
			type: 'function',
			function: { name: tool.name, arguments: JSON.stringify(argumentsFor(tool, inputsFor(lastUserText(messages)))) },
		},
	};
}

function completion(model, answer, id) {
	const message = answer.toolCall
		? { role: 'assistant', content: null, tool_calls: [answer.toolCall] }
		: { role: 'assistant', content: answer.content };
	return {
		id,
		object: 'chat.completion',
		created: Math.floor(Date.now() / 1000),
		model,
		choices: [{ index: 0, message, finish_reason: answer.toolCall ? 'tool_calls' : 'stop' }],
		usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
	};
}

/** The same answer as chat.completion.chunk events, the text and the arguments in several pieces. */
function chunks(model, answer, id) {
	const created = Math.floor(Date.now() / 1000);
	const chunk = (delta, finishReason = null) => ({
		id,
		object: 'chat.completion.chunk',
		created,
		model,
		choices: [{ index: 0, delta, finish_reason: finishReason }],
	});
	const pieces = (text) => text.match(/[\s\S]{1,12}/g) ?? [''];
	if (answer.toolCall) {
		const { id: callId, type, function: fn } = answer.toolCall;
		return [
			chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: callId, type, function: { name: fn.name, arguments: '' } }] }),
			...pieces(fn.arguments).map((part) => chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] })),
			chunk({}, 'tool_calls'),
		];
	}
	return [
		chunk({ role: 'assistant', content: '' }),
		...pieces(answer.content).map((part) => chunk({ content: part })),
		chunk({}, 'stop'),
	];
}

/**
 * Starts the server. `inputsFor(question)` gives the Dify inputs the scripted model puts in its tool
 * call for the user's message.
 */
export async function startOpenAiScript({ inputsFor }) {
	const requests = [];
	let counter = 0;
	const server = createServer((req, res) => {
		let raw = '';
		req.setEncoding('utf8');
		req.on('data', (part) => (raw += part));
		req.on('end', () => {
			const path = req.url ?? '';
			let body;
			try {
				body = raw ? JSON.parse(raw) : {};
			} catch {
				body = { unparsed: raw };
			}
			requests.push({ method: req.method, path, body });
			if (req.method === 'GET' && path.endsWith('/models')) {
				res.writeHead(200, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', owned_by: 'script' }] }));
				return;
			}
			if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
				res.writeHead(404, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } }));
				return;
			}
			counter += 1;
			const id = `chatcmpl-script-${counter}`;
			let answer;
			try {
				answer = reply(body, inputsFor, counter);
			} catch (error) {
				res.writeHead(400, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ error: { message: error.message, type: 'invalid_request_error' } }));
				return;
			}
			const model = body.model ?? 'gpt-4o-mini';
			if (!body.stream) {
				res.writeHead(200, { 'content-type': 'application/json' });
				res.end(JSON.stringify(completion(model, answer, id)));
				return;
			}
			res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
			for (const event of chunks(model, answer, id)) res.write(`data: ${JSON.stringify(event)}\n\n`);
			if (body.stream_options?.include_usage) {
				const usage = { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 };
				res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', model, choices: [], usage })}\n\n`);
			}
			res.end('data: [DONE]\n\n');
		});
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', resolve);
	});
	const { port } = server.address();
	return {
		url: `http://127.0.0.1:${port}/v1`,
		requests,
		finalPrefix: FINAL_PREFIX,
		close: () =>
			new Promise((resolve) => {
				server.closeAllConnections?.();
				server.close(() => resolve());
			}),
	};
}
