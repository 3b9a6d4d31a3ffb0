// End-to-end: the packed package installed in a real n8n the way n8n installs a community
// package, run headless by `n8n execute` against the Dify stand-in on 127.0.0.1.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
	createUserFolder,
	executeWorkflow,
	importCredentials,
	importWorkflow,
	importWorkflows,
	installCommunityPackage,
	n8nInstall,
	nodeOutput,
	runN8n,
	startN8n,
} from '../../scripts/n8n/runner.mjs';
import { setUpOwner } from '../../scripts/n8n/rest.mjs';
import { packedTarball } from '../../scripts/n8n/tarball.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';
import { callWebhook, parseStreamedChunks } from '../../scripts/n8n/webhook.mjs';
import { stopRunningExecution } from './stop-run.mjs';

const require = createRequire(import.meta.url);
// Compiled by `npm run test:e2e` (tsc -p tsconfig.test.json) before the tests start.
const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));

const CREDENTIAL = { id: 'DifyStandIn00001', name: 'Dify stand-in', type: 'difyApi' };
const WORKFLOWS = join(REPO_ROOT, 'test/e2e/workflows');
const EXAMPLES = join(REPO_ROOT, 'examples');
const RESULT_KEYS = [
	'created_at', 'elapsed_time', 'error', 'finished_at', 'outputs', 'status', 'task_id',
	'total_steps', 'total_tokens', 'workflow_id', 'workflow_run_id',
];

function log(message) {
	process.stderr.write(`[e2e] ${message}\n`);
}

/** Runs the end-to-end suite against one installed n8n major version. */
export function e2eSuite(major) {
	describe(`n8n ${major}.x runs the packed n8n-nodes-dify-workflow`, () => {
		let ctx;
		let standin;
		const suiteStarted = Date.now();
		const execute = async (file, { expectExit = 0 } = {}) => {
			const id = await importWorkflow(ctx, file);
			const result = await executeWorkflow(ctx, id);
			log(`n8n ${ctx.install.version}: ${file.split('/').pop()} executed in ${(result.durationMs / 1000).toFixed(1)} s`);
			assert.ok(result.json, `no execution JSON printed.\nstdout:\n${result.stdout.slice(-3000)}\nstderr:\n${result.stderr.slice(-3000)}`);
			assert.equal(result.exitCode, expectExit, `exit code (stderr: ${result.stderr.slice(-2000)})`);
			return result.json;
		};

		before(async () => {
			const install = n8nInstall(major);
			ctx = await createUserFolder(install);
			standin = await startDifyStandin();
			const installed = await installCommunityPackage(ctx, packedTarball());
			log(`n8n ${install.version}: installed ${installed.name}@${installed.version} in ${ctx.userFolder}`);
			await importCredentials(ctx, [{ ...CREDENTIAL, data: { baseUrl: standin.url, apiKey: standin.apiKey } }]);
		});

		after(async () => {
			await standin?.close();
			await ctx?.cleanup();
			log(`n8n ${major}.x suite took ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
		});

		it('runs all eight operations in one workflow', async () => {
			const execution = await execute(join(WORKFLOWS, 'all-operations.json'));
			const out = (name) => nodeOutput(execution, name);

			const [streamed] = out('Run streaming final');
			assert.deepEqual(Object.keys(streamed).sort(), RESULT_KEYS);
			assert.equal(streamed.status, 'succeeded');
			assert.match(streamed.outputs.answer, /富士山/);

			const [blocking] = out('Run blocking');
			assert.deepEqual(Object.keys(blocking).sort(), RESULT_KEYS);
			assert.deepEqual(blocking.outputs, streamed.outputs);

			const events = out('Run streaming events');
			assert.equal(events[0].event, 'workflow_started');
			assert.equal(events.at(-1).event, 'workflow_finished');
			assert.ok(events.every((event) => event.event !== 'ping'));
			const text = events.filter((e) => e.event === 'text_chunk').map((e) => e.data.text).join('');
			assert.equal(text, events.at(-1).data.outputs.answer);

			assert.equal(out('Run chosen version')[0].workflow_id, '1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d');

			const [failed] = out('Run failing');
			assert.equal(failed.status, 'failed');
			assert.match(failed.error, /^The Dify workflow run failed: /);

			const [detail] = out('Get Run');
			assert.equal(detail.id, streamed.workflow_run_id);
			assert.equal(detail.inputs.topic, '富士山');
			assert.deepEqual(out('Stop'), [{ result: 'success' }]);

			const [uploaded] = out('Upload');
			assert.equal(uploaded.name, 'notes.txt');
			assert.equal(uploaded.extension, 'txt');
			const upload = standin.requests.find((r) => r.path === '/v1/files/upload');
			assert.equal(upload.multipart.files[0].filename, 'notes.txt');
			assert.equal(upload.multipart.files[0].size, uploaded.size);
			assert.equal(out('Run on the file')[0].status, 'succeeded');
			const fileRun = standin.requests.find(
				(r) => r.path === '/v1/workflows/run' && r.json.inputs.doc?.upload_file_id === uploaded.id,
			);
			const runInputs = standin.requests.filter((r) => r.path === '/v1/workflows/run').map((r) => r.json.inputs);
			assert.deepEqual(
				fileRun?.json.inputs.doc,
				{ type: 'document', transfer_method: 'local_file', upload_file_id: uploaded.id },
				`run inputs sent: ${JSON.stringify(runInputs)}`,
			);

			const logs = out('Get Logs');
			assert.ok(logs.length > 20, `Return All gave ${logs.length} entries`);
			assert.equal(new Set(logs.map((entry) => entry.id)).size, logs.length);
			assert.ok(standin.requests.filter((r) => r.path === '/v1/workflows/logs').length >= 1);

			const mappedRun = standin.requests.filter((r) => r.path === '/v1/workflows/run').find((r) => r.json.inputs.topic === '富士山' && r.json.inputs.scenario === 'llm');
			assert.ok(mappedRun, 'the mapped fields reached Dify as inputs');
			assert.equal(out('Run mapped fields')[0].status, 'succeeded');

			const filesRun = execution.data.resultData.runData['Run with output files'][0].data.main[0][0];
			assert.deepEqual(Object.keys(filesRun.binary ?? {}).sort(), ['charts_0', 'report']);
			assert.equal(filesRun.binary.report.fileName, 'report.txt');

			assert.equal(out('Run with a binary file input')[0].status, 'succeeded');
			const binaryInputRun = standin.requests.filter((r) => r.path === '/v1/workflows/run').find((r) => r.json.inputs.topic === 'notes' && r.json.response_mode === 'blocking');
			assert.equal(binaryInputRun.json.inputs.doc.transfer_method, 'local_file');

			assert.equal(out('Get Info')[0].mode, 'workflow');
			assert.ok(Array.isArray(out('Get Parameters')[0].user_input_form));
			assert.ok(out('Get Site')[0].title);

			const shown = JSON.stringify(execution);
			assert.ok(!shown.includes(standin.apiKey), 'the API key appears in the execution data');
		});

		it('runs the example: run a workflow and chain its outputs', async () => {
			const execution = await execute(join(EXAMPLES, 'run-and-chain.json'));
			const [item] = nodeOutput(execution, 'Use the answer');
			assert.match(item.answer, /Mount Fuji/);
			assert.equal(typeof item.run_id, 'string');
		});

		it('runs the example: upload a file and run a workflow on it', async () => {
			const execution = await execute(join(EXAMPLES, 'upload-and-run.json'));
			assert.equal(nodeOutput(execution, 'Upload to Dify')[0].name, 'notes.txt');
			assert.equal(nodeOutput(execution, 'Run on the file')[0].status, 'succeeded');
		});

		it('runs the example: each streamed event into a Switch branch', async () => {
			const execution = await execute(join(EXAMPLES, 'events-to-switch.json'));
			const pieces = nodeOutput(execution, 'Text pieces');
			assert.ok(pieces.length >= 2);
			const [finished] = nodeOutput(execution, 'Run result');
			assert.equal(finished.status, 'succeeded');
			assert.equal(pieces.map((p) => p.text).join(''), finished.answer);
			assert.ok(nodeOutput(execution, 'Node results').length >= 2);
		});

		it('runs the example: the scheduled run that logs its result', async () => {
			const execution = await execute(join(EXAMPLES, 'scheduled-run.json'));
			const [line] = nodeOutput(execution, 'Log line');
			assert.equal(line.status, 'succeeded');
			assert.ok(nodeOutput(execution, 'Recent runs').length >= 1);
		});

		it('human in the loop answered by a script (Run → paused → Submit Form by token → Watch Run)', async () => {
			const execution = await execute(join(WORKFLOWS, 'human-in-the-loop-scripted.json'));
			const [paused] = nodeOutput(execution, 'Run the review workflow');
			assert.equal(paused.status, 'paused');
			assert.match(paused.human_input_forms[0].form_token, /^[A-Za-z0-9]{22}$/);
			assert.deepEqual(nodeOutput(execution, 'Submit the form')[0], { form_token: paused.human_input_forms[0].form_token, action: 'approve' });
			const [watched] = nodeOutput(execution, 'Watch the run finish');
			assert.equal(watched.workflow_run_id, paused.workflow_run_id);
			assert.deepEqual(nodeOutput(execution, 'Use the outputs')[0], { decision: 'approve', feedback: 'Looks right to me.', status: 'succeeded' });
			const watch = standin.requests.find((r) => r.path === `/v1/workflow/${paused.workflow_run_id}/events`);
			assert.equal(watch?.query.user, 'n8n-example');
		});

		it('re-attaches a cut stream and watches a finished run', async () => {
			const execution = await execute(join(WORKFLOWS, 'reattach-and-watch.json'));
			const [cut] = nodeOutput(execution, 'Run cut');
			assert.equal(cut.status, 'succeeded');
			assert.match(cut.outputs.answer, /^富士山は日本で最も高い山です。/);
			const events = nodeOutput(execution, 'Run cut events');
			const marker = events.findIndex((event) => event.event === 'reattached');
			assert.ok(marker > 0, 'a reattached item marks the place');
			assert.equal(events.at(-1).event, 'workflow_finished');
			const [watched] = nodeOutput(execution, 'Watch Run');
			assert.deepEqual(watched.outputs, cut.outputs);
			assert.equal(standin.requests.filter((r) => r.path === `/v1/workflow/${cut.workflow_run_id}/events`).length, 2);
		});

		it('imports the AI Agent tool example', async () => {
			const id = await importWorkflow(ctx, join(EXAMPLES, 'ai-agent-tool.json'));
			assert.equal(id, 'difyExAgentTool1');
		});

		describe('in a running n8n (n8n start)', () => {
			let n8n;
			let api;

			before(async () => {
				const ids = await importWorkflows(ctx, [join(WORKFLOWS, 'live-webhook.json'), join(WORKFLOWS, 'stop-run.json')]);
				// 2.x publishes a workflow to activate it; 1.x sets it active.
				for (const id of ids) {
					const activate = major >= 2 ? ['publish:workflow', `--id=${id}`] : ['update:workflow', `--id=${id}`, '--active=true'];
					const activated = await runN8n(ctx, activate);
					assert.equal(activated.exitCode, 0, activated.stdout.slice(-2000));
				}
				n8n = await startN8n(ctx);
				api = await setUpOwner(n8n);
			});

			after(async () => {
				await n8n?.stop();
			});

			it('streams the text to a webhook caller as Dify sends it (Webhook in Streaming mode)', async () => {
				const response = await callWebhook(n8n, 'dify-live', { topic: '富士山' });
				const body = await response.text();
				assert.equal(response.status, 200, `${body}\n${n8n.output().slice(-3000)}`);
				const difyChunks = parseStreamedChunks(body).filter((chunk) => chunk.metadata?.nodeName === 'Run Dify workflow');
				assert.deepEqual(
					difyChunks.filter((chunk) => chunk.type !== 'item').map((chunk) => chunk.type),
					['begin', 'end'],
				);
				const text = difyChunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content).join('');
				assert.match(text, /^富士山は日本で最も高い山です。/);
				assert.ok(difyChunks.filter((chunk) => chunk.type === 'item').length >= 3, 'the text came in several chunks');
			});

			it("stops the node and Dify's task when the execution is stopped through n8n's REST API", async () => {
				const { executionId, run, execution, stopMs } = await stopRunningExecution({ n8n, api, standin, topic: 'e2e-stop' });
				log(`n8n ${ctx.install.version}: execution ${executionId} stopped; Dify's task stopped ${stopMs} ms after the stop call`);
				assert.equal(execution.status, 'canceled', n8n.output().slice(-3000));
				assert.ok(standin.stoppedTasks.includes(run.taskId));
			});
		});

		it('reports a failed run as a node error when Continue On Fail is off', async () => {
			const execution = await execute(join(WORKFLOWS, 'failing-run.json'), { expectExit: 1 });
			const run = execution.data.resultData.runData['Run failing'][0];
			assert.match(run.error.message, /^The Dify workflow run failed: /);
			assert.ok(!JSON.stringify(execution).includes(standin.apiKey));
		});
	});
}
