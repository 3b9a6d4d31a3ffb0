import type { IDataObject } from 'n8n-workflow';

import type { DifyStandin } from '../standin/server';
import { startDifyStandin } from '../standin/server';
import { runDifyNode } from './dify-node';
import { standinPerFile } from './standin-per-file';
import { rawRun } from './raw-stream';

const standin = standinPerFile();

const node = (parameters: IDataObject, target: DifyStandin = standin()) =>
	runDifyNode({
		parameters: { resource: 'workflow', ...parameters } as never,
		baseUrl: target.url,
		apiKey: target.apiKey,
	});

describe('Workflow → Get Run', () => {
	it('returns the run with inputs and outputs as objects', async () => {
		const events = await rawRun(standin().url, standin().apiKey, { topic: '富士山' });
		const runId = events[0].workflow_run_id as string;
		const result = await node({ operation: 'getRun', workflowRunId: runId });
		expect(result.error).toBeUndefined();
		expect(result.items[0].json).toMatchObject({
			id: runId,
			status: 'succeeded',
			inputs: expect.objectContaining({ topic: '富士山', 'sys.user_id': 'oracle' }),
			outputs: { answer: expect.stringContaining('富士山') },
		});
	});

	it('a run ID Dify does not know gives its 404 with advice', async () => {
		const result = await node({ operation: 'getRun', workflowRunId: '00000000-0000-4000-8000-000000000000' });
		expect(result.error?.message).toBe('Workflow run not found.');
		expect(result.error?.httpCode).toBe('404');
		expect(result.error?.description).toMatch(/Workflow Run ID/);
	});

	it("Dify 1.11's all-null answer for an unknown ID is a not-found error too", async () => {
		const legacy = await startDifyStandin({ version: '1.11' });
		try {
			const result = await node({ operation: 'getRun', workflowRunId: '00000000-0000-4000-8000-000000000000' }, legacy);
			expect(result.error?.message).toBe('Workflow run not found.');
		} finally {
			await legacy.close();
		}
	});

	// A literal empty value is refused by n8n itself (a required parameter); an expression can still yield one.
	it.each(['={{ "" }}', 'not-a-run-id'])('refuses the run ID %p before any request', async (workflowRunId) => {
		const result = await node({ operation: 'getRun', workflowRunId });
		expect(result.error?.message).toMatch(/Workflow Run ID parameter/);
		expect(standin().requests).toHaveLength(0);
	});
});

describe('Workflow → Stop', () => {
	it('stops a streaming run by its task ID', async () => {
		let stopping: Promise<unknown> | undefined;
		const events = await rawRun(standin().url, standin().apiKey, { topic: 'x', scenario: 'wait-stop', delay_ms: 20 }, (event) => {
			if (!stopping && event.event === 'workflow_started') {
				stopping = node({ operation: 'stop', taskId: event.task_id as string, user: 'oracle' });
			}
		});
		const stopResult = (await stopping) as Awaited<ReturnType<typeof node>>;
		expect(stopResult.error).toBeUndefined();
		expect(stopResult.items[0].json).toEqual({ result: 'success' });
		expect(standin().stoppedTasks).toEqual([events[0].task_id]);
		expect(standin().requests.find((r) => r.path.endsWith('/stop'))?.json).toEqual({ user: 'oracle' });
		expect(events.at(-1)).toMatchObject({ event: 'workflow_finished', data: { status: 'stopped', error: 'Stopped by user.' } });
	});

	it('refuses a malformed task ID before any request', async () => {
		const result = await node({ operation: 'stop', taskId: 'task-1', user: 'u' });
		expect(result.error?.message).toMatch(/Task ID parameter is not a Dify ID/);
		expect(standin().requests).toHaveLength(0);
	});

	it('a stopped run, run by the node, is an error naming the status', async () => {
		const running = runDifyNode({
			parameters: {
				resource: 'workflow',
				operation: 'run',
				inputs: JSON.stringify({ topic: 'x', scenario: 'wait-stop', delay_ms: 20 }),
				user: 'u',
				responseMode: 'streaming',
				output: 'final',
			},
			baseUrl: standin().url,
			apiKey: standin().apiKey,
			continueOnFail: true,
		});
		let taskId: string | undefined;
		for (let i = 0; i < 200 && !taskId; i++) {
			await new Promise((resolve) => setTimeout(resolve, 10));
			taskId = [...standin().runs.values()][0]?.taskId;
		}
		expect(taskId).toBeDefined();
		await node({ operation: 'stop', taskId, user: 'u' });
		const result = await running;
		expect(result.items[0].json).toMatchObject({ status: 'stopped', error: 'The Dify workflow run was stopped: Stopped by user.' });
	});
});
