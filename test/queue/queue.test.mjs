// Queue mode: the packed package in n8n 2.x scaled the way n8n scales past one process: one main
// (`n8n start`: webhooks, REST) and two `n8n worker` processes that run the executions, Redis as
// the queue, PostgreSQL as the database, binary data in the database. Workflows start through
// webhooks, since `n8n execute` does not use the queue.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startPostgres } from '../../scripts/n8n/postgres.mjs';
import { queueModeEnv, startWorker, workerExecutions } from '../../scripts/n8n/queue.mjs';
import { startRedis } from '../../scripts/n8n/redis.mjs';
import { activateWorkflow, deactivateWorkflow, listExecutions, getExecution, setUpOwner } from '../../scripts/n8n/rest.mjs';
import {
	createUserFolder,
	importCredentials,
	importWorkflows,
	installCommunityPackage,
	n8nInstall,
	startN8n,
} from '../../scripts/n8n/runner.mjs';
import { packedTarball } from '../../scripts/n8n/tarball.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';
import { callWebhook, parseStreamedChunks } from '../../scripts/n8n/webhook.mjs';
import { stopRunningExecution } from '../e2e/stop-run.mjs';
import { PDF, answerForm, endedExecutionOf, formLink, mailAbout, outputOf, reviewWorkflow, startInbox, until } from '../hitl/person.mjs';

const require = createRequire(import.meta.url);
// Compiled by `npm run test:queue` (tsc -p tsconfig.test.json) before the tests start.
const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));
const { OUTPUT_FILES } = require(join(REPO_ROOT, '.build/test/standin/scenarios.js'));

const CREDENTIAL = { id: 'DifyStandIn00001', name: 'Dify stand-in', type: 'difyApi' };
const WORKFLOWS = [
	join(REPO_ROOT, 'test/queue/workflows/concurrent-runs.json'),
	join(REPO_ROOT, 'test/queue/workflows/live-stream.json'),
	join(REPO_ROOT, 'test/queue/workflows/upload.json'),
	join(REPO_ROOT, 'test/queue/workflows/output-files.json'),
	join(REPO_ROOT, 'test/e2e/workflows/stop-run.json'),
	join(REPO_ROOT, 'test/queue/workflows/trigger-runs.json'),
];
const REVIEW = { id: 'difyQueueHitl001', name: 'queue: the e-mail example behind a webhook', path: 'queue-review', webhookId: '5a1e0c3d-0000-4000-8000-0000000e2e02' };
// With at most four executions each, eight runs held open together cannot all go to one worker.
const WORKER_CONCURRENCY = 4;

const started = Date.now();
function log(message) {
	const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
	process.stderr.write(`[queue ${seconds}s] ${message}\n`);
}

describe('n8n 2.x in queue mode (main, two workers, Redis, PostgreSQL) runs the packed node', () => {
	const services = [];
	let ctx;
	let standin;
	let main;
	let workers = [];
	let api;
	let inbox;
	let folder;

	/** Each start of the execution on a worker (a resumed execution starts again), by worker name. */
	const startsOf = (executionId) => workers.flatMap((worker) => workerExecutions(worker).filter((id) => id === String(executionId)).map(() => worker.name));

	/** The worker whose log says it started the execution; fails unless exactly one did. */
	const workerOf = (executionId) => {
		const ran = workers.filter((worker) => workerExecutions(worker).includes(String(executionId)));
		assert.equal(ran.length, 1, `execution ${executionId} started by ${ran.length} workers`);
		return ran[0].name;
	};

	/** Runs a test body; on failure the error carries the tail of every n8n process's log. */
	const withLogs = (fn) => async () => {
		try {
			await fn();
		} catch (error) {
			for (const process_ of [main, ...workers].filter(Boolean)) {
				const name = process_.name ?? 'main';
				error.message += `\n--- n8n ${name} log (tail) ---\n${process_.output().split('\n').slice(-30).join('\n')}`;
			}
			throw error;
		}
	};

	before(async () => {
		const install = n8nInstall(2);
		const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
		services.push(redis, postgres);
		log(`redis-server on 127.0.0.1:${redis.port}, PostgreSQL on 127.0.0.1:${postgres.port}`);
		ctx = await createUserFolder(install, { env: queueModeEnv({ redis, postgres }) });
		// Workers send the mails, main serves the links: both must know where the forms are.
		ctx.env.WEBHOOK_URL = `${ctx.url}/`;
		standin = await startDifyStandin({ reviewForm: 'full' });
		inbox = await startInbox();
		const installed = await installCommunityPackage(ctx, packedTarball());
		log(`n8n ${install.version}: installed ${installed.name}@${installed.version} in ${ctx.userFolder}`);
		await importCredentials(ctx, [{ ...CREDENTIAL, data: { baseUrl: standin.url, apiKey: standin.apiKey } }, inbox.credential()]);
		folder = await mkdtemp(join(tmpdir(), 'dify-queue-'));
		const review = join(folder, 'review.json');
		await writeFile(review, JSON.stringify(reviewWorkflow(REVIEW)));
		const ids = await importWorkflows(ctx, [...WORKFLOWS, review]);
		log(`imported the credential and ${ids.length} workflows`);
		[main, ...workers] = await Promise.all([
			startN8n(ctx),
			...['worker-1', 'worker-2'].map((name) => startWorker(ctx, name, { concurrency: WORKER_CONCURRENCY })),
		]);
		log(`main on ${main.url}, ${workers.map((worker) => `${worker.name} (health ${worker.healthUrl})`).join(', ')} ready`);
		api = await setUpOwner(main);
		for (const id of ids) await activateWorkflow(api, id);
		log('owner set up, workflows active');
	});

	after(async () => {
		await Promise.all([main, ...workers].filter(Boolean).map((process_) => process_.stop()));
		await standin?.close();
		await inbox?.close();
		await Promise.all(services.map((service) => service.stop()));
		await ctx?.cleanup();
		if (folder) await rm(folder, { recursive: true, force: true });
		log('stopped n8n, Redis, PostgreSQL and the SMTP server; removed the user folder');
	});

	it(
		'runs eight concurrent webhook calls, all correct, on both workers',
		withLogs(async () => {
			const topics = ['札幌', '仙台', '東京', '名古屋', '京都', '大阪', '広島', '福岡'];
			const results = await Promise.all(
				topics.map(async (topic) => {
					const response = await callWebhook(main, 'queue-run', { topic });
					const text = await response.text();
					assert.equal(response.status, 200, text);
					return JSON.parse(text);
				}),
			);
			for (const [index, result] of results.entries()) {
				assert.equal(result.topic, topics[index]);
				assert.equal(result.status, 'succeeded');
				assert.equal(result.answer, `${topics[index]}は日本で最も高い山です。標高は3,776メートルです🗻`);
			}
			const runs = [...standin.runs.values()].filter((run) => run.user === 'queue-run');
			assert.deepEqual(runs.map((run) => run.inputs.topic).sort(), [...topics].sort());

			const executionIds = results.map((result) => result.execution);
			assert.equal(new Set(executionIds).size, 8);
			const byWorker = {};
			for (const id of executionIds) (byWorker[workerOf(id)] ??= []).push(id);
			log(`executions by worker: ${JSON.stringify(byWorker)}`);
			assert.deepEqual(Object.keys(byWorker).sort(), ['worker-1', 'worker-2']);
		}),
	);

	it(
		'streams the text from a worker through main to the webhook caller while the run goes on',
		withLogs(async () => {
			const topic = '富士山';
			const response = await callWebhook(main, 'queue-live', { topic });
			assert.equal(response.status, 200);
			const decoder = new TextDecoder();
			let text = '';
			let reads = 0;
			let runAtFirstText;
			for await (const bytes of response.body) {
				text += decoder.decode(bytes, { stream: true });
				reads++;
				if (!runAtFirstText && text.includes('"type":"item"')) {
					const run = [...standin.runs.values()].find((candidate) => candidate.user === 'queue-live');
					runAtFirstText = { status: run?.status, reads };
				}
			}
			const chunks = parseStreamedChunks(text).filter((chunk) => chunk.metadata?.nodeName === 'Run Dify workflow');
			const items = chunks.filter((chunk) => chunk.type === 'item');
			assert.deepEqual(chunks.filter((chunk) => chunk.type !== 'item').map((chunk) => chunk.type), ['begin', 'end']);
			assert.match(items.map((chunk) => chunk.content).join(''), /^富士山は日本で最も高い山です。/);
			assert.ok(items.length >= 3, `${items.length} text chunks`);
			log(`${items.length} text chunks in ${reads} reads; Dify's run was ${runAtFirstText?.status} at the first`);
			assert.equal(runAtFirstText?.status, 'running', 'the first text reached the client before the run ended');
			assert.ok(reads > runAtFirstText.reads, 'more text arrived after the first read that carried text');

			const [execution] = await listExecutions(api, 'difyQueueLive001');
			log(`the streamed execution ${execution.id} ran on ${workerOf(execution.id)}`);
		}),
	);

	it(
		'uploads a binary made earlier in the workflow, kept in the database between nodes',
		withLogs(async () => {
			const notes = 'Meeting notes: 富士山 in July.';
			const response = await callWebhook(main, 'queue-upload', { notes });
			const text = await response.text();
			assert.equal(response.status, 200, text);
			const file = JSON.parse(text);
			assert.equal(file.name, 'notes.txt');
			assert.equal(file.size, Buffer.byteLength(notes));
			const upload = standin.requests.find((request) => request.path === '/v1/files/upload');
			assert.equal(upload.multipart.files[0].sha256, createHash('sha256').update(notes).digest('hex'));

			const [summary] = await listExecutions(api, 'difyQueueUpld001');
			const execution = await getExecution(api, summary.id);
			// n8n's id of a binary kept in the database mode starts with the mode's name.
			assert.match(execution.data, /"database:[^"]+"/, 'the binary is stored in the database');
			log(`the upload ran on ${workerOf(summary.id)}`);
		}),
	);

	it(
		'returns through main the file that Download Output Files fetched on a worker',
		withLogs(async () => {
			const response = await callWebhook(main, 'queue-files', {});
			const body = Buffer.from(await response.arrayBuffer());
			assert.equal(response.status, 200, body.toString());
			const report = Object.values(OUTPUT_FILES).find((file) => file.filename === 'report.txt');
			assert.deepEqual(body, report.content);
			assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
			const [summary] = await listExecutions(api, 'difyQueueFile001');
			log(`the file run ran on ${workerOf(summary.id)}`);
		}),
	);

	it(
		"stops a worker's execution through n8n's REST API, and Dify's task with it",
		withLogs(async () => {
			const { executionId, run, execution, stopMs } = await stopRunningExecution({
				n8n: main,
				api,
				standin,
				topic: 'queue-stop',
			});
			log(`execution ${executionId} on ${workerOf(executionId)} stopped; Dify's task stopped ${stopMs} ms after the stop call`);
			assert.equal(execution.status, 'canceled');
			assert.ok(standin.stoppedTasks.includes(run.taskId));
		}),
	);

	it(
		'polls the Dify Workflow Trigger on main and runs the executions it starts on a worker',
		withLogs(async () => {
			const run = await standin.addRun({ scenario: 'llm', createdFrom: 'web-app', user: 'queue-visitor' });
			// Activation runs one poll at once: no waiting for the minute.
			await deactivateWorkflow(api, 'difyQueueTrig001');
			await activateWorkflow(api, 'difyQueueTrig001');
			const deadline = Date.now() + 120_000;
			let summaries = [];
			while (!(summaries.length === 1 && summaries[0].status === 'success')) {
				assert.ok(Date.now() < deadline, `the trigger's execution: ${JSON.stringify(summaries)}`);
				await new Promise((wait) => setTimeout(wait, 500));
				summaries = await listExecutions(api, 'difyQueueTrig001');
			}
			const execution = await getExecution(api, summaries[0].id);
			assert.ok(execution.data.includes(run.id), 'the execution carries the run');
			assert.ok(execution.data.includes('queue-visitor'));
			log(`the trigger's execution ${summaries[0].id} ran on ${workerOf(summaries[0].id)}`);
		}),
	);

	it(
		'ten paused runs answered by e-mail out of order each resume their own execution and Dify run on the workers',
		withLogs(async () => {
			const topics = Array.from({ length: 10 }, (_, n) => `Queue-peak-${n + 1}`);
			const runs = [];
			for (const topic of topics) {
				const response = await callWebhook(main, REVIEW.path, { topic });
				assert.equal(response.status, 200, await response.text());
				runs.push(await until(`the Dify run about ${topic}`, () => [...standin.runs.values()].find((run) => run.inputs?.topic === topic && run.status === 'paused'), main.output));
			}
			const links = await Promise.all(topics.map(async (topic) => formLink(await mailAbout(inbox, topic, main.output))));
			log('ten runs paused, ten mails with their forms in the inbox');
			// The form posts reach main; the file each carries is kept in the database for the worker that resumes.
			const order = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4];
			for (const n of order) {
				const answer = { feedback: `answer for ${topics[n]}`, priority: 'Low', file: { name: `${topics[n]}.pdf`, type: 'application/pdf', content: PDF }, decision: n % 2 ? 'Approve' : 'Reject' };
				const { status, page: answered } = await answerForm(api, links[n], answer, main.output);
				assert.ok(status < 400, `${topics[n]}: the form post answered ${status}: ${answered}`);
			}
			const workersByExecution = {};
			for (const n of order) {
				const execution = await endedExecutionOf(api, REVIEW.id, runs[n].id, main.output);
				assert.equal(execution.status, 'success', `${topics[n]}: ${JSON.stringify(execution.data.resultData.error ?? {})}`);
				assert.deepEqual(outputOf(execution, 'Use the outputs'), [{ decision: n % 2 ? 'approve' : 'reject', feedback: `answer for ${topics[n]}`, status: 'succeeded' }]);
				const stored = standin.runs.get(runs[n].id);
				assert.equal(stored.outputs.feedback, `answer for ${topics[n]}`);
				const token = outputOf(execution, 'Run the review workflow')[0].human_input_forms[0].form_token;
				const [post] = standin.requests.filter((request) => request.method === 'POST' && request.path === `/v1/form/human_input/${token}`);
				assert.equal(post.json.inputs.evidence.transfer_method, 'local_file', `${topics[n]}: the file went to Dify`);
				// Up to the mail on a worker, then resumed on a worker: never on main.
				const starts = startsOf(execution.id);
				assert.equal(starts.length, 2, `execution ${execution.id} started on workers: ${JSON.stringify(starts)}`);
				workersByExecution[execution.id] = starts.join(' + ');
			}
			const uploads = standin.requests.filter((request) => request.path === '/v1/files/upload' && topics.some((topic) => request.multipart?.files?.[0]?.filename === `${topic}.pdf`));
			assert.equal(uploads.length, 10, 'each answer uploaded its own file');
			log(`ten answers out of order: each execution and Dify run got its own; the workers of each execution's two parts: ${JSON.stringify(workersByExecution)}`);
		}),
	);
});
