import type { ServerResponse } from 'node:http';

import type { LocalServer } from '../reliability/servers';
import { beginStream, frame, readRequest, RunEvents, startLocalServer } from '../reliability/servers';
import { runDifyNode } from './dify-node';

/**
 * Without Continue On Fail, one failed item under Concurrency ends the node: the items running
 * beside it are stopped at once, in n8n and in Dify, instead of running to their end for nothing.
 */

let dify: LocalServer;
let longRunStarted: () => void;
let longRunOpen: Promise<void>;
const stopped: string[] = [];
let longTask = '';
let longResponse: ServerResponse | undefined;

beforeAll(async () => {
	dify = await startLocalServer(async (req, res) => {
		const body = await readRequest(req);
		const stop = /^\/v1\/workflows\/tasks\/([^/]+)\/stop$/.exec(req.url ?? '');
		if (stop) {
			stopped.push(stop[1]);
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end('{"result": "success"}');
			return;
		}
		const { inputs } = JSON.parse(body) as { inputs: { topic: string } };
		const run = new RunEvents();
		await beginStream(req, res);
		res.write(frame(run.started()));
		if (inputs.topic === 'long') {
			// A run that goes on for as long as nobody stops it, pinging meanwhile.
			longTask = run.taskId;
			longResponse = res;
			longRunStarted();
			while (!res.destroyed && !stopped.includes(run.taskId)) {
				res.write('event: ping\n\n');
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
			res.end();
			return;
		}
		// The other item fails once the long run is under way.
		await longRunOpen;
		res.end(frame({ event: 'error', task_id: run.taskId, status: 400, code: 'invalid_param', message: 'topic is too short' }));
	});
});
afterAll(async () => await dify.close());

it('one failed item stops the sibling runs and their Dify tasks, and the node fails with that item', async () => {
	longRunOpen = new Promise((resolve) => (longRunStarted = resolve));
	const result = await runDifyNode({
		parameters: {
			resource: 'workflow',
			operation: 'run',
			inputs: '={{ { "topic": $json.topic } }}',
			user: 'u',
			options: { concurrency: 2, validateInputs: false, timeout: 60 },
		} as never,
		baseUrl: dify.url,
		apiKey: 'app-concurrency',
		items: [{ topic: 'long' }, { topic: 'x' }],
		// A hang guard only: the Stop button after 15 s would also end the long run.
		signal: AbortSignal.timeout(15_000),
	});
	expect(result.engine.status).not.toBe('canceled');
	expect(result.error?.message).toBe('Dify reported an error during the run: topic is too short');
	expect(result.error?.context?.itemIndex).toBe(1);
	expect(stopped).toEqual([longTask]);
	expect(longResponse?.destroyed).toBe(true);
});

it('Concurrency is read from the first item, as its description says', async () => {
	const { DifyWorkflow } = await import('../../nodes/DifyWorkflow/DifyWorkflow.node');
	const option = new DifyWorkflow().description.properties
		.filter((property) => property.name === 'options')
		.flatMap((property) => (property.options ?? []) as Array<{ name: string; description?: string }>)
		.find((property) => property.name === 'concurrency');
	expect(option?.description).toMatch(/Read from the first item only/);
});
