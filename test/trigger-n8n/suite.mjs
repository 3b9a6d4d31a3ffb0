// The Dify Workflow Trigger in a real n8n: the packed package, active workflows polling the Dify
// stand-in, runs made behind n8n's back (as Dify's web app would make them), and n8n stopped and
// started between polls. n8n polls at most once a minute; activation, and so every start of n8n,
// runs one poll at once: restarts give polls without waiting for the clock.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { activateWorkflow, listExecutions, getExecution, setUpOwner } from '../../scripts/n8n/rest.mjs';
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

const require = createRequire(import.meta.url);
// Compiled by `npm run test:trigger` (tsc -p tsconfig.test.json) before the tests start.
const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));

const CREDENTIAL = { id: 'DifyStandIn00001', name: 'Dify stand-in', type: 'difyApi' };
const FINISHED = 'difyTrigFinish01';
const FAILED_ALERT = 'difyExTrigFail01';
const PAUSED_TO_PERSON = 'difyExTrigPause1';
const WORKFLOWS = [
	join(REPO_ROOT, 'test/trigger-n8n/workflows/run-finished.json'),
	join(REPO_ROOT, 'examples/trigger-failed-run-alert.json'),
	join(REPO_ROOT, 'examples/trigger-paused-run-to-a-person.json'),
];
/** Generous: a start of n8n, its first poll and the execution it starts, on a loaded machine. */
const HANG_GUARD_MS = 180_000;

export function triggerSuite(major) {
	const started = Date.now();
	const log = (message) => process.stderr.write(`[trigger ${major}.x ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);

	describe(`n8n ${major}.x runs the packed Dify Workflow Trigger`, () => {
		let ctx;
		let standin;
		let n8n;
		let api;

		/** Stops n8n (if running) and starts it again on the same user folder and database. */
		const restart = async () => {
			await n8n?.stop();
			const logsBefore = standin.requests.filter((r) => r.path === '/v1/workflows/logs').length;
			n8n = await startN8n(ctx);
			api = await setUpOwner(n8n);
			log(`n8n started; its active workflows poll at once`);
			return logsBefore;
		};

		/**
		 * Waits until each active workflow has polled since `logsBefore` log requests: n8n 2.x answers
		 * before its start-up polls have run, and a run made or a stop sent before them would race them.
		 */
		const polledSince = async (logsBefore) => {
			const deadline = Date.now() + HANG_GUARD_MS;
			while (standin.requests.filter((r) => r.path === '/v1/workflows/logs').length < logsBefore + WORKFLOWS.length) {
				assert.ok(Date.now() < deadline, 'the workflows polled after the start');
				await new Promise((wait) => setTimeout(wait, 250));
			}
		};

		/** The run IDs each execution of a workflow reported, oldest execution first. */
		const reported = async (workflowId, runIds) => {
			const executions = (await listExecutions(api, workflowId)).slice().reverse();
			return await Promise.all(
				executions.map(async (summary) => {
					const execution = await getExecution(api, summary.id);
					return { id: summary.id, status: summary.status, runs: runIds.filter((id) => execution.data.includes(id)) };
				}),
			);
		};

		/** Waits until the workflow has `count` executions, all finished. */
		const executionsOf = async (workflowId, count, runIds) => {
			const deadline = Date.now() + HANG_GUARD_MS;
			for (;;) {
				const list = await reported(workflowId, runIds);
				if (list.length >= count && list.every((execution) => execution.status !== 'running' && execution.status !== 'new')) return list;
				if (Date.now() > deadline) {
					throw new Error(`${workflowId}: ${list.length} of ${count} executions after ${HANG_GUARD_MS} ms\n${n8n.output().split('\n').slice(-40).join('\n')}`);
				}
				await new Promise((wait) => setTimeout(wait, 500));
			}
		};

		/**
		 * Waits until n8n saved the trigger's cursor of each workflow: 2.x answers the activation
		 * before its first poll has run, and a stop before the save would lose it.
		 */
		const cursorsSaved = async (ids) => {
			const deadline = Date.now() + HANG_GUARD_MS;
			for (const id of ids) {
				for (;;) {
					const workflow = await api.request('GET', `/rest/workflows/${id}`);
					const trigger = workflow.nodes.find((node) => node.type === 'n8n-nodes-dify-workflow.difyWorkflowTrigger');
					if (typeof workflow.staticData?.[`node:${trigger.name}`]?.state?.cursor === 'number') break;
					assert.ok(Date.now() < deadline, `${id}: no cursor saved after ${HANG_GUARD_MS} ms`);
					await new Promise((wait) => setTimeout(wait, 250));
				}
			}
		};

		before(async () => {
			const install = n8nInstall(major);
			ctx = await createUserFolder(install);
			standin = await startDifyStandin({ seedLogs: 5 });
			const installed = await installCommunityPackage(ctx, packedTarball());
			log(`n8n ${install.version}: installed ${installed.name}@${installed.version}`);
			await importCredentials(ctx, [{ ...CREDENTIAL, data: { baseUrl: standin.url, apiKey: standin.apiKey } }]);
			const ids = await importWorkflows(ctx, WORKFLOWS);
			assert.deepEqual(ids.sort(), [FINISHED, FAILED_ALERT, PAUSED_TO_PERSON].sort());
			await restart();
			for (const id of ids) await activateWorkflow(api, id);
			await cursorsSaved(ids);
			log('workflows active: their first polls noted where history ends, and n8n saved it');
		});

		after(async () => {
			await n8n?.stop();
			await standin?.close();
			await ctx?.cleanup();
			log('stopped n8n and the stand-in; removed the user folder');
		});

		it('reports runs made behind its back, once each, across stops and starts of n8n', async () => {
			const all = [];
			// Made as Dify's web app makes them: the stand-in's own endpoint, not the Service API.
			const a = await standin.addRun({ scenario: 'llm', createdFrom: 'web-app', user: 'visitor-a' });
			const x = await standin.addRun({ createdFrom: 'web-app', user: 'visitor-x' });
			all.push(a.id, x.id);
			await restart();
			assert.deepEqual((await executionsOf(FINISHED, 1, all)).map((e) => e.runs), [[a.id]]);

			// x was running at that poll; it ends while n8n is down.
			await n8n.stop();
			await standin.endRun(x.id, { status: 'succeeded', outputs: { answer: 'x' } });
			await restart();
			assert.deepEqual((await executionsOf(FINISHED, 2, all)).map((e) => e.runs), [[a.id], [x.id]]);

			// y is seen running by a poll that reports nothing, so n8n saves nothing of it; after a
			// restart the trigger finds it again from the saved cursor.
			const y = await standin.addRun({ createdFrom: 'web-app', user: 'visitor-y' });
			all.push(y.id);
			await polledSince(await restart());
			await n8n.stop();
			await standin.endRun(y.id, { status: 'failed', error: 'boom' });
			await restart();
			const finished = await executionsOf(FINISHED, 3, all);
			assert.deepEqual(finished.map((e) => e.runs), [[a.id], [x.id], [y.id]]);
			assert.ok(finished.every((e) => e.status === 'success'), JSON.stringify(finished));

			// One more start: nothing new, so the next execution holds only the next run. z is made once
			// that start's polls are over: one that saw it would start its execution as n8n is stopped.
			await polledSince(await restart());
			const z = await standin.addRun({ scenario: 'llm', createdFrom: 'web-app', user: 'visitor-z' });
			all.push(z.id);
			await restart();
			assert.deepEqual((await executionsOf(FINISHED, 4, all)).map((e) => e.runs), [[a.id], [x.id], [y.id], [z.id]]);
			// The failed-run alert saw y's failure once (the only failure among them).
			const alerts = await executionsOf(FAILED_ALERT, 1, all);
			assert.deepEqual(alerts.map((e) => e.runs), [[y.id]]);
		});

		it('takes a run paused for Human Input through Submit Form and Watch Run (the example)', async () => {
			const run = await standin.addRun({ scenario: 'paused', createdFrom: 'service-api', user: 'web-visitor' });
			await restart();
			const [execution] = await executionsOf(PAUSED_TO_PERSON, 1, [run.id]);
			assert.equal(execution.status, 'success', JSON.stringify(execution));
			assert.equal(run.status, 'succeeded');
			assert.equal(run.outputs?.decision, 'approve');
			const submit = standin.requests.find((r) => r.method === 'POST' && r.path.startsWith('/v1/form/human_input/'));
			assert.equal(submit?.json?.action, 'approve');
			const watch = standin.requests.find((r) => r.path === `/v1/workflow/${run.id}/events` && r.query.include_state_snapshot !== 'true');
			assert.equal(watch?.query.user, 'web-visitor');
			await restart();
			await executionsOf(PAUSED_TO_PERSON, 1, [run.id]);
			assert.equal((await listExecutions(api, PAUSED_TO_PERSON)).length, 1, 'the pause is reported once');
		});
	});
}
