// The AI Agent tier: a real n8n with the packed package installed, a Chat Trigger in Streaming
// response mode, n8n's AI Agent whose OpenAI Chat Model talks to a scripted chat-completions server
// on 127.0.0.1, and Dify Workflow as the agent's tool, against the Dify stand-in.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { activateWorkflow, getExecution, listExecutions, setUpOwner } from '../../scripts/n8n/rest.mjs';
import {
	createUserFolder,
	importCredentials,
	importWorkflow,
	installCommunityPackage,
	n8nInstall,
	startN8n,
} from '../../scripts/n8n/runner.mjs';
import { packedTarball } from '../../scripts/n8n/tarball.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';
import { startOpenAiScript } from './openai-script.mjs';

const require = createRequire(import.meta.url);
// Compiled by `npm run test:agent` (tsc -p tsconfig.test.json) before the tests start.
const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));

const DIFY_CREDENTIAL = { id: 'DifyStandIn00001', name: 'Dify stand-in', type: 'difyApi' };
const OPENAI_CREDENTIAL = { id: 'OpenAiScript0001', name: 'Scripted OpenAI', type: 'openAiApi' };
const WORKFLOW = join(REPO_ROOT, 'test/agent/workflows/agent-chat.json');
const AGENT = 'AI Agent';
const TOOL = 'Dify workflow';
const WRONG_KEY_QUESTION = 'Ask the workflow with a misspelt key';

// What the scripted model puts in its tool call: the topic asked about, or a key the app does not know.
const inputsFor = (question) => (question === WRONG_KEY_QUESTION ? { tpoic: 'Alps' } : { topic: question });


function log(message) {
	process.stderr.write(`[agent] ${message}\n`);
}

/** n8n's streamed response: one JSON object per chunk, possibly several per network read. */
function parseChunks(body) {
	return body
		.split(/(?<=})\s*(?={)/)
		.map((part) => part.trim())
		.filter(Boolean)
		.map((part) => JSON.parse(part));
}

function textOf(chunks, nodeName) {
	return chunks
		.filter((chunk) => chunk.type === 'item' && chunk.metadata?.nodeName === nodeName)
		.map((chunk) => chunk.content)
		.join('');
}

/**
 * The tier's workflow with the scripted server's URL, under its own id and chat URL, and with the
 * tool's Stream Text Of option set when `streamVariables` is given.
 */
async function workflowVariant(ctx, { id, webhookId, openAiUrl, streamVariables }) {
	const workflow = JSON.parse(await readFile(WORKFLOW, 'utf8'));
	workflow.id = id;
	workflow.name = `${workflow.name} (${id})`;
	for (const node of workflow.nodes) {
		if (node.name === 'When chat message received') node.webhookId = webhookId;
		if (node.name === 'OpenAI Chat Model') node.parameters.options.baseURL = openAiUrl;
		if (node.name === TOOL && streamVariables !== undefined) node.parameters.options.streamVariables = streamVariables;
	}
	const file = join(ctx.userFolder, `${id}.json`);
	await writeFile(file, JSON.stringify(workflow));
	return { file, webhookId };
}

/** Runs the agent tier against one installed n8n major version. */
export function agentSuite(major) {
	describe(`n8n ${major}.x: the AI Agent calls Dify Workflow as a tool`, () => {
		let ctx;
		let standin;
		let openai;
		let n8n;
		let api;
		const workflows = {};
		const suiteStarted = Date.now();

		/** Sends one chat message and waits for the whole streamed answer. */
		const chat = async (webhookId, chatInput) => {
			const openAiBefore = openai.requests.length;
			const difyBefore = standin.requests.length;
			let response;
			// n8n answers /healthz before it has registered the webhooks of active workflows.
			for (let attempt = 0; attempt < 60; attempt++) {
				response = await fetch(`${n8n.url}/webhook/${webhookId}/chat`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ action: 'sendMessage', sessionId: `session-${Date.now()}`, chatInput }),
					signal: AbortSignal.timeout(120_000),
				});
				if (response.status !== 404) break;
				await response.text();
				await new Promise((resolve) => setTimeout(resolve, 500));
			}
			const body = await response.text();
			assert.equal(response.status, 200, `${body}\n${n8n.output().slice(-3000)}`);
			return {
				body,
				chunks: parseChunks(body),
				openAiRequests: openai.requests.slice(openAiBefore),
				difyRequests: standin.requests.slice(difyBefore),
			};
		};

		const lastExecution = async (workflowId) => {
			const [newest] = await listExecutions(api, workflowId);
			assert.ok(newest, `no execution of ${workflowId}`);
			return newest;
		};

		before(async () => {
			const install = n8nInstall(major);
			// 1.x lets community nodes be tools only when asked; 2.x ignores the variable.
			ctx = await createUserFolder(install, { env: { N8N_COMMUNITY_PACKAGES_ALLOW_TOOL_USAGE: 'true' } });
			standin = await startDifyStandin();
			openai = await startOpenAiScript({ inputsFor });
			log(`n8n ${install.version}: Dify stand-in at ${standin.url}, scripted OpenAI at ${openai.url}`);
			const installed = await installCommunityPackage(ctx, packedTarball());
			log(`n8n ${install.version}: installed ${installed.name}@${installed.version} in ${ctx.userFolder}`);
			await importCredentials(ctx, [
				{ ...DIFY_CREDENTIAL, data: { baseUrl: standin.url, apiKey: standin.apiKey } },
				{ ...OPENAI_CREDENTIAL, data: { apiKey: 'sk-scripted-dummy-key', url: openai.url } },
			]);
			const variants = {
				quiet: { id: 'difyAgentQuiet01', webhookId: '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c01' },
				live: { id: 'difyAgentLive001', webhookId: '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c02', streamVariables: 'text' },
			};
			for (const [key, variant] of Object.entries(variants)) {
				const { file, webhookId } = await workflowVariant(ctx, { ...variant, openAiUrl: openai.url });
				await importWorkflow(ctx, file);
				workflows[key] = { id: variant.id, webhookId };
			}
			log(`n8n ${install.version}: starting n8n on ${ctx.url}`);
			n8n = await startN8n(ctx);
			api = await setUpOwner(n8n);
			for (const { id } of Object.values(workflows)) await activateWorkflow(api, id);
			log(`n8n ${install.version}: ready, workflows active`);
		});

		after(async () => {
			await n8n?.stop();
			await openai?.close();
			await standin?.close();
			await ctx?.cleanup();
			log(`n8n ${major}.x agent suite took ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
		});

		it('runs the Dify workflow with the inputs the agent chose and answers with its output', async () => {
			const question = 'Mount Fuji';
			const { chunks, body, openAiRequests, difyRequests } = await chat(workflows.quiet.webhookId, question);

			// The model was offered the tool and asked twice: once to call it, once with its result.
			assert.equal(openAiRequests.length, 2, JSON.stringify(openAiRequests.map((r) => r.body.messages)));
			const [first, second] = openAiRequests.map((request) => request.body);
			assert.ok(first.tools?.length >= 1, 'the model was offered the tool');
			const toolMessage = second.messages.find((message) => message.role === 'tool');
			assert.ok(toolMessage, `the second request carries the tool result: ${JSON.stringify(second.messages)}`);

			// The stand-in received the run with exactly the agent's inputs.
			const runs = difyRequests.filter((request) => request.method === 'POST' && request.path === '/v1/workflows/run');
			assert.equal(runs.length, 1, JSON.stringify(difyRequests.map((r) => r.path)));
			assert.deepEqual(runs[0].json.inputs, { topic: question });
			assert.equal(runs[0].json.user, 'n8n-agent');
			assert.equal(runs[0].json.response_mode, 'streaming');

			const run = [...standin.runs.values()].find((stored) => stored.inputs.topic === question);
			const answer = run?.outputs?.answer;
			assert.equal(typeof answer, 'string', 'the stand-in finished the run');
			assert.ok(JSON.stringify(toolMessage.content).includes(JSON.stringify(answer).slice(1, -1)), 'the tool result holds the Dify output');

			// The agent's own streamed answer quotes the Dify output.
			const agentText = textOf(chunks, AGENT);
			assert.ok(agentText.startsWith(openai.finalPrefix), `agent answer: ${agentText}\n${body.slice(0, 2000)}`);
			assert.ok(agentText.includes(answer.slice(0, 40)), `agent answer: ${agentText}`);

			// Without Stream Text Of, Dify's live text stays out of the agent's answer.
			const toolChunks = chunks.filter((chunk) => chunk.metadata?.nodeName === TOOL);
			assert.deepEqual(toolChunks, [], 'no chunk of the tool reached the chat');

			const execution = await lastExecution(workflows.quiet.id);
			assert.equal(execution.status, 'success');
			assert.ok(!body.includes(standin.apiKey), 'the API key reached the chat');
		});

		it('gives the agent the error that lists the app inputs for an unknown key, as a tool result', async () => {
			const { body, chunks, openAiRequests, difyRequests } = await chat(workflows.quiet.webhookId, WRONG_KEY_QUESTION);

			// The node refused before the run: the stand-in saw no run with the misspelt key.
			const runs = difyRequests.filter((request) => request.path === '/v1/workflows/run');
			assert.deepEqual(runs, []);

			const execution = await lastExecution(workflows.quiet.id);
			const detail = await getExecution(api, execution.id);
			assert.equal(
				openAiRequests.length,
				2,
				`the agent went on after the tool failed\nchat: ${body.slice(0, 2000)}\nexecution: ${JSON.stringify(detail).slice(0, 4000)}`,
			);
			const toolMessage = openAiRequests[1].body.messages.find((message) => message.role === 'tool');
			assert.ok(toolMessage, 'the error came back as a tool message');
			const toolResult = typeof toolMessage.content === 'string' ? toolMessage.content : JSON.stringify(toolMessage.content);
			assert.match(toolResult, /tpoic/, toolResult);
			assert.match(toolResult, /The app's inputs are: topic \(Topic\), scenario/, `the error lists the app's inputs: ${toolResult}`);
			assert.ok(!toolResult.includes(standin.apiKey));

			const agentText = textOf(chunks, AGENT);
			assert.match(agentText, /tpoic/, `the agent answered with the error: ${agentText}`);

			assert.equal(execution.status, 'success', 'the execution did not crash');
		});

		it("forwards Dify's live text into the chat only when Stream Text Of asks for it", async () => {
			const question = 'Kilimanjaro';
			const { chunks } = await chat(workflows.live.webhookId, question);
			const run = [...standin.runs.values()].find((stored) => stored.inputs.topic === question);
			const answer = run?.outputs?.answer;
			assert.equal(typeof answer, 'string');

			const toolChunks = chunks.filter((chunk) => chunk.metadata?.nodeName === TOOL);
			assert.equal(textOf(chunks, TOOL), answer, `the tool's text chunks: ${JSON.stringify(toolChunks)}`);
			assert.deepEqual(
				toolChunks.filter((chunk) => chunk.type !== 'item').map((chunk) => chunk.type),
				['begin', 'end'],
			);
			assert.ok(textOf(chunks, AGENT).includes(answer.slice(0, 40)), 'the agent still answers after the tool');
		});
	});
}
