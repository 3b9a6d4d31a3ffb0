// Stops, through n8n's REST API (as the editor's Stop button does), an execution whose Dify Workflow
// node is in the middle of a streaming run, and reports what n8n and the Dify stand-in saw. Shared
// by the regular-mode suite and the queue-mode tier; workflows/stop-run.json is the workflow.
import { getExecution, listExecutions, stopExecution } from '../../scripts/n8n/rest.mjs';
import { callWebhook } from '../../scripts/n8n/webhook.mjs';

export const STOP_WORKFLOW_ID = 'difyE2eStopRun01';
// The stand-in's wait-stop run ends by itself after 30 s; a stop that works ends it long before.
const HANG_GUARD_MS = 15_000;

async function until(what, check, deadline) {
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
		await new Promise((wait) => setTimeout(wait, 100));
	}
}

/**
 * Starts the stop workflow through its webhook, waits until Dify's run is under way and n8n lists
 * the execution as running, stops it, and waits for n8n to finish the execution and for the stop
 * endpoint to receive the run's task. Returns `{ executionId, run, execution, stopMs }`: `run` is
 * the stand-in's run, `execution` n8n's record after the stop, `stopMs` the time from the stop
 * call until both had happened.
 */
export async function stopRunningExecution({ n8n, api, standin, topic }) {
	const response = await callWebhook(n8n, 'dify-stop', { topic });
	if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
	await response.arrayBuffer();

	const started = Date.now() + 60_000;
	const run = await until(
		"Dify's run",
		() => [...standin.runs.values()].find((candidate) => candidate.inputs.topic === topic && candidate.status === 'running'),
		started,
	);
	const executionId = await until(
		'the running execution',
		async () => (await listExecutions(api, STOP_WORKFLOW_ID)).find((execution) => execution.status === 'running')?.id,
		started,
	);

	const stopAt = Date.now();
	await stopExecution(api, executionId);
	const deadline = stopAt + HANG_GUARD_MS;
	await until('the stop endpoint to receive the task', () => standin.stoppedTasks.includes(run.taskId), deadline);
	const execution = await until(
		'n8n to end the execution',
		async () => {
			const current = await getExecution(api, executionId);
			return current.status !== 'running' && current.status !== 'new' ? current : undefined;
		},
		deadline,
	);
	return { executionId, run, execution, stopMs: Date.now() - stopAt };
}
