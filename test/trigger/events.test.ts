import { OWNER_ACCOUNT } from '../standin/app';
import { startDifyStandin } from '../standin/server';
import { runDifyNode } from '../integration/dify-node';
import { standinPerFile } from '../integration/standin-per-file';
import { runIds, stateOf, triggerPoller } from './trigger-poller';

const standin = standinPerFile({ seedLogs: 45 });

const logRequests = () => standin().requests.filter((request) => request.path === '/v1/workflows/logs');

async function activated(parameters: Parameters<typeof triggerPoller>[1]) {
	const poller = triggerPoller(standin(), parameters);
	const activation = await poller.activate();
	if (activation.error) throw activation.error;
	return poller;
}

describe('Dify Workflow Trigger: events', () => {
	it('Run Started reports runs from every source with where they came from', async () => {
		const poller = await activated({ event: 'runStarted' });
		const web = await standin().addRun({ createdFrom: 'web-app', user: 'visitor-1' });
		const scheduled = await standin().addRun({ createdFrom: 'service-api', triggeredFrom: 'schedule', user: 'schedule' });
		const byAccount = await standin().addRun({ account: true });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([web.id, scheduled.id, byAccount.id]);
		const [first, second, third] = outcome.items.map((item) => item.json);
		expect(first).toMatchObject({
			trigger_event: 'runStarted',
			status: 'running',
			user: 'visitor-1',
			created_from: 'web-app',
			triggered_from: 'app-run',
			created_by_role: 'end_user',
			created_by_end_user: { session_id: 'visitor-1' },
			created_by_account: null,
		});
		expect(second).toMatchObject({ created_from: 'service-api', triggered_from: 'schedule', user: 'schedule' });
		expect(third).toMatchObject({
			created_from: 'installed-app',
			created_by_role: 'account',
			created_by_account: { email: OWNER_ACCOUNT.email },
			user: null,
		});
	});

	it('Run Finished reports only the chosen statuses; Run Failed only failures', async () => {
		const finished = await activated({ event: 'runFinished', statuses: ['succeeded', 'partial-succeeded'] });
		const failed = await activated({ event: 'runFailed' });
		const runs = await Promise.all([1, 2, 3, 4].map(async () => await standin().addRun()));
		await finished.poll();
		await failed.poll();
		await standin().endRun(runs[0].id, { status: 'failed', error: 'ZeroDivisionError: division by zero' });
		await standin().endRun(runs[1].id, { status: 'partial-succeeded' });
		await standin().endRun(runs[2].id, { status: 'stopped' });
		await standin().endRun(runs[3].id, { status: 'succeeded', outputs: { answer: 'done' } });
		expect(runIds(await finished.poll()).sort()).toEqual([runs[1].id, runs[3].id].sort());
		const failures = await failed.poll();
		expect(runIds(failures)).toEqual([runs[0].id]);
		expect(failures.items[0].json).toMatchObject({
			trigger_event: 'runFailed',
			status: 'failed',
			error: 'ZeroDivisionError: division by zero',
		});
		expect(typeof failures.items[0].json.finished_at).toBe('number');
		expect(runIds(await finished.poll())).toEqual([]);
		expect(runIds(await failed.poll())).toEqual([]);
	});

	it("maps filters onto Dify's log filters; Created From is matched by the trigger", async () => {
		const poller = await activated({
			event: 'runStarted',
			filters: { createdByEndUserSessionId: 'visitor-7', createdFrom: ['web-app'], keyword: 'Fuji' },
		});
		const wanted = await standin().addRun({ createdFrom: 'web-app', user: 'visitor-7' });
		await standin().addRun({ createdFrom: 'service-api', user: 'visitor-7' });
		await standin().addRun({ createdFrom: 'web-app', user: 'someone-else' });
		expect(runIds(await poller.poll())).toEqual([wanted.id]);
		for (const request of logRequests()) {
			expect(request.query).toMatchObject({ created_by_end_user_session_id: 'visitor-7', keyword: 'Fuji' });
			expect(request.query.status).toBeUndefined();
		}
		const byAccount = await activated({ event: 'runStarted', filters: { createdByAccount: OWNER_ACCOUNT.email } });
		const accountRun = await standin().addRun({ account: true });
		await standin().addRun({ user: 'visitor-7' });
		expect(runIds(await byAccount.poll())).toEqual([accountRun.id]);
		expect(logRequests().at(-1)?.query.created_by_account).toBe(OWNER_ACCOUNT.email);
	});

	it('Include Inputs and Outputs adds the parsed inputs and the outputs from run detail', async () => {
		const poller = await activated({ event: 'runFinished', options: { includeInputsOutputs: true } });
		const run = await standin().addRun({ scenario: 'llm', inputs: { topic: '富士山' } });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([run.id]);
		const json = outcome.items[0].json;
		expect(json.inputs).toMatchObject({ topic: '富士山', 'sys.workflow_run_id': run.id });
		expect(typeof (json.outputs as { answer?: unknown }).answer).toBe('string');
		expect(json.workflow_id).toBe(run.workflowId);
	});

	it('Download Output Files downloads a finished run\'s files as the Run operation does', async () => {
		const poller = await activated({ event: 'runFinished', options: { downloadFiles: true } });
		const run = await standin().addRun({ scenario: 'files' });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([run.id]);
		const item = outcome.items[0];
		expect(Object.keys(item.binary ?? {}).sort()).toEqual(['charts_0', 'report']);
		expect(item.binary?.report.mimeType).toBeTruthy();
	});

	it('Fetch Test Event returns the newest matching run and marks nothing as seen', async () => {
		const poller = await activated({ event: 'runFailed' });
		const savedBefore = structuredClone(poller.saved);
		await standin().addRun({ scenario: 'fail' });
		const newest = await standin().addRun({ scenario: 'fail' });
		await standin().addRun({ scenario: 'llm' });
		const test = await poller.fetchTestEvent();
		expect(runIds(test)).toEqual([newest.id]);
		expect(logRequests().at(-1)?.query.status).toBe('failed');
		expect(poller.saved).toEqual(savedBefore);
		// The active workflow still reports both failures.
		expect(runIds(await poller.poll())).toHaveLength(2);
	});

	it('Fetch Test Event says so when no run matches', async () => {
		const poller = triggerPoller(standin(), { event: 'runPaused' });
		const test = await poller.fetchTestEvent();
		expect(test.error?.message).toMatch(/No run paused for Human Input of this app matches/);
	});
});

describe('Dify Workflow Trigger: Run Paused for Human Input', () => {
	it('carries the forms and tokens of the Run operation\'s paused item, once per pause', async () => {
		const poller = await activated({ event: 'runPaused' });
		const finishedTrigger = await activated({ event: 'runFinished' });
		const run = await standin().addRun({ scenario: 'paused', user: 'reviewer-run' });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([run.id]);
		const json = outcome.items[0].json;
		const form = (json.human_input_forms as Array<Record<string, unknown>>)[0];
		expect(json).toMatchObject({ trigger_event: 'runPaused', status: 'paused', user: 'reviewer-run', task_id: run.taskId, outputs: {} });
		expect(json.paused_nodes).toEqual(run.pausedData?.paused_nodes);
		expect(form.form_token).toBe(run.openForms[0].form_token);
		expect(standin().requests.some((r) => r.path === `/v1/workflow/${run.id}/events` && r.query.user === 'reviewer-run' && r.query.include_state_snapshot === 'true')).toBe(true);

		// Still paused at the same form: not reported again, and no events request needed.
		const eventsRequests = () => standin().requests.filter((r) => r.path.endsWith('/events')).length;
		const before = eventsRequests();
		expect(runIds(await poller.poll())).toEqual([]);
		expect(eventsRequests()).toBe(before);

		// The Run operation's paused item for the same kind of run has the same form fields; that run
		// is a new pause, reported by the next poll.
		const direct = await runDifyNode({
			parameters: { resource: 'workflow', operation: 'run', inputs: '{"topic": "x", "scenario": "paused"}', user: 'u', responseMode: 'blocking' },
			baseUrl: standin().url,
			apiKey: standin().apiKey,
		});
		const directForm = (direct.items[0].json.human_input_forms as Array<Record<string, unknown>>)[0];
		expect(Object.keys(form).sort()).toEqual(Object.keys(directForm).sort());
		expect((form.n8n_form_fields as Array<{ fieldLabel?: string }>).map((field) => field.fieldLabel)).toEqual([undefined, 'Feedback', 'Decision']);
		const next = await poller.poll();
		expect(runIds(next)).toEqual([direct.items[0].json.workflow_run_id]);
		const nextForm = (next.items[0].json.human_input_forms as Array<Record<string, unknown>>)[0];
		expect(nextForm.form_token).toBe(directForm.form_token);
		expect(nextForm.n8n_form_fields).toEqual(directForm.n8n_form_fields);

		// The round trip: Submit Form with the item's token and user, then the run finishes.
		const submitted = await runDifyNode({
			parameters: {
				resource: 'humanInput',
				operation: 'submitForm',
				formToken: String(form.form_token),
				action: 'approve',
				formInputs: '{"feedback": "fine"}',
				user: String(json.user),
			},
			baseUrl: standin().url,
			apiKey: standin().apiKey,
		});
		expect(submitted.error).toBeUndefined();
		for (let tries = 0; run.status !== 'succeeded' && tries < 200; tries++) await new Promise((resolve) => setTimeout(resolve, 25));
		expect(run.status).toBe('succeeded');
		expect(runIds(await poller.poll())).toEqual([]);
		// The ended run is let go; the other one still waits at its form.
		expect(Object.keys(stateOf(poller.memory).followed)).toEqual([direct.items[0].json.workflow_run_id]);
		const ended = await finishedTrigger.poll();
		expect(runIds(ended)).toEqual([run.id]);
		expect(ended.items[0].json.status).toBe('succeeded');
	});

	it('a run seen running is followed and reported once it pauses', async () => {
		const poller = await activated({ event: 'runPaused' });
		const run = await standin().addRun({ user: 'later' });
		expect(runIds(await poller.poll())).toEqual([]);
		expect(Object.keys(stateOf(poller.memory).followed)).toEqual([run.id]);
		await standin().pauseRun(run.id);
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([run.id]);
		expect((outcome.items[0].json.human_input_forms as Array<Record<string, unknown>>)[0].form_token).toBe(run.openForms[0].form_token);
		expect(runIds(await poller.poll())).toEqual([]);
		await standin().endRun(run.id, { status: 'stopped', error: 'Human input global timeout at node review' });
		expect(runIds(await poller.poll())).toEqual([]);
		expect(stateOf(poller.memory).followed).toEqual({});
	});

	it('a paused run an account started is reported with a note instead of failing the poll', async () => {
		const poller = await activated({ event: 'runPaused' });
		const run = await standin().addRun({ scenario: 'paused', account: true });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([run.id]);
		expect(outcome.items[0].json).toMatchObject({ status: 'paused', human_input_forms: [], user: null });
		expect(String(outcome.items[0].json.note)).toMatch(/account/);
		expect(standin().requests.some((r) => r.path.endsWith('/events'))).toBe(false);
	});

	it('activation does not report a pause that was already there', async () => {
		await standin().addRun({ scenario: 'paused', user: 'before' });
		const poller = await activated({ event: 'runPaused' });
		expect(runIds(await poller.poll())).toEqual([]);
	});

	it('Dify before 1.14 gets a clear message, not a stack of 404s', async () => {
		const old = await startDifyStandin({ version: '1.13', seedLogs: 0 });
		try {
			const poller = triggerPoller(old, { event: 'runPaused' });
			await poller.activate();
			await old.addRun({ scenario: 'paused', user: 'someone' });
			const outcome = await poller.poll();
			expect(outcome.error?.message).toBe('Run Paused for Human Input needs Dify 1.14 or newer');
			expect(outcome.error?.description).toMatch(/Upgrade Dify to 1\.14/);
		} finally {
			await old.close();
		}
	});
});

describe('Dify Workflow Trigger: errors', () => {
	it('an invalid key fails the poll with the message Run gives, without the key', async () => {
		const wrongKey = 'app-WrongKeyThatMustNotShow0001';
		const poller = triggerPoller(standin(), { event: 'runStarted' }, { apiKey: wrongKey });
		const outcome = await poller.activate();
		expect(outcome.error?.message).toBe('Access token is invalid');
		const run = await runDifyNode({
			parameters: { resource: 'workflow', operation: 'getLogs', returnAll: false, limit: 1 },
			baseUrl: standin().url,
			apiKey: wrongKey,
		});
		expect(outcome.error?.message).toBe(run.error?.message);
		expect(outcome.error?.description).toBe(run.error?.description);
		expect(JSON.stringify({ m: outcome.error?.message, d: outcome.error?.description })).not.toContain(wrongKey);
	});

	it('the key never leaves in an item, even when Dify (or a proxy) echoes it', async () => {
		const poller = await activated({ event: 'runFailed' });
		const key = standin().apiKey;
		const runId = '0f6d2c2e-8a1b-4c3d-9e5f-6a7b8c9d0e1f';
		const createdAt = Math.floor(Date.now() / 1000) + 60;
		const row = {
			id: 'e41b93f1-0000-4000-8000-000000000001',
			workflow_run: {
				id: runId, version: 'v', status: 'failed', triggered_from: 'app-run', error: `upstream said: Bearer ${key}`,
				elapsed_time: 1, total_tokens: 0, total_steps: 1, created_at: createdAt, finished_at: createdAt + 1, exceptions_count: 0,
			},
			details: null, created_from: 'web-app', created_by_role: 'end_user', created_by_account: null,
			created_by_end_user: { id: 'u', type: 'browser', is_anonymous: true, session_id: key },
			created_at: createdAt,
		};
		standin().failNext({ path: '/workflows/logs' }, { status: 200, json: { page: 1, limit: 100, total: 1, has_more: false, data: [row] } });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([runId]);
		expect(JSON.stringify(outcome.items)).not.toContain(key);
		expect(outcome.items[0].json.error).toBe('upstream said: Bearer ***');
	});

	it('an unreachable Dify fails the poll with the connection message', async () => {
		const closed = await startDifyStandin({ seedLogs: 0 });
		const url = closed.url;
		await closed.close();
		const poller = triggerPoller(standin(), { event: 'runStarted' }, { baseUrl: url });
		const outcome = await poller.poll();
		expect(outcome.error?.message).toMatch(/refused|connect/i);
		expect(outcome.error?.message).toContain(url.replace(/\/v1$/, ''));
	}, 60_000);
});
