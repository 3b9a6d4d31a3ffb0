import { nowSeconds } from '../standin/app';
import { standinPerFile } from '../integration/standin-per-file';
import { runIds, stateOf, triggerPoller } from './trigger-poller';

const standin = standinPerFile({ seedLogs: 45 });

const logRequests = () => standin().requests.filter((request) => request.path === '/v1/workflows/logs');

describe('Dify Workflow Trigger: cursor', () => {
	it('activation notes where history ends and replays none of it', async () => {
		await standin().addRun({ scenario: 'llm' });
		await standin().addRun({ scenario: 'fail' });
		const poller = triggerPoller(standin(), { event: 'runStarted' });
		const activation = await poller.activate();
		expect(activation.error).toBeUndefined();
		expect(activation.returnedNull).toBe(true);
		expect(poller.executions).toBe(0);
		// Saved at activation even though the poll returned null.
		expect(stateOf(poller.savedNodeData).cursor).toBeGreaterThan(0);
		expect(runIds(await poller.poll())).toEqual([]);

		const next = await standin().addRun({ scenario: 'llm', createdFrom: 'web-app' });
		const outcome = await poller.poll();
		expect(runIds(outcome)).toEqual([next.id]);
		expect(runIds(await poller.poll())).toEqual([]);
	});

	it('runs in the cursor\'s second are neither lost nor repeated', async () => {
		const second = nowSeconds() + 5;
		const poller = triggerPoller(standin(), { event: 'runStarted' });
		await poller.activate();
		const first = await standin().addRun({ scenario: 'llm', createdAt: second });
		const second1 = await standin().addRun({ scenario: 'llm', createdAt: second });
		expect(runIds(await poller.poll()).sort()).toEqual([first.id, second1.id].sort());
		expect(stateOf(poller.memory).cursor).toBe(second);
		// Dify's bound is inclusive and to the second: the next poll reads that second again.
		const late = await standin().addRun({ scenario: 'llm', createdAt: second });
		expect(runIds(await poller.poll())).toEqual([late.id]);
		const query = logRequests().at(-1)?.query;
		expect(query?.created_at__after).toBe(new Date(second * 1000).toISOString().replace('.000Z', 'Z'));
		expect(runIds(await poller.poll())).toEqual([]);
	});

	it('pages through more than 100 new runs between two polls, each once', async () => {
		const poller = triggerPoller(standin(), { event: 'runFinished' });
		await poller.activate();
		const second = nowSeconds() + 3;
		const made: string[] = [];
		for (let n = 0; n < 250; n++) made.push((await standin().addRun({ scenario: 'llm', createdAt: second + (n % 2) })).id);
		standin().requests.length = 0;
		const outcome = await poller.poll();
		expect(runIds(outcome).sort()).toEqual([...made].sort());
		expect(outcome.items.every((item) => item.json.status === 'succeeded')).toBe(true);
		expect(logRequests().map((request) => [request.query.page, request.query.limit])).toEqual([
			['1', '100'],
			['2', '100'],
			['3', '100'],
		]);
		expect(runIds(await poller.poll())).toEqual([]);
	});

	it('reports runs that end in another order than they started, each when it ends', async () => {
		const poller = triggerPoller(standin(), { event: 'runFinished' });
		await poller.activate();
		const [a, b, c] = [await standin().addRun(), await standin().addRun(), await standin().addRun()];
		expect(runIds(await poller.poll())).toEqual([]);
		expect(Object.keys(stateOf(poller.memory).followed).sort()).toEqual([a.id, b.id, c.id].sort());
		await standin().endRun(c.id, { status: 'succeeded', outputs: { answer: 'c' } });
		expect(runIds(await poller.poll())).toEqual([c.id]);
		await standin().endRun(a.id, { status: 'failed', error: 'boom' });
		await standin().endRun(b.id, { status: 'stopped', error: 'Stopped by user.' });
		const outcome = await poller.poll();
		expect(runIds(outcome).sort()).toEqual([a.id, b.id].sort());
		expect(outcome.items.find((item) => item.json.workflow_run_id === a.id)?.json).toMatchObject({ status: 'failed', error: 'boom' });
		expect(stateOf(poller.memory).followed).toEqual({});
		expect(runIds(await poller.poll())).toEqual([]);
	});

	it('a restart after polls that returned null loses nothing and repeats nothing', async () => {
		const poller = triggerPoller(standin(), { event: 'runFinished' });
		await poller.activate();
		const savedAtActivation = structuredClone(poller.saved);
		const x = await standin().addRun();
		const y = await standin().addRun({ scenario: 'llm' });
		// y's end is reported; x is followed, in memory and in what that execution saved.
		expect(runIds(await poller.poll())).toEqual([y.id]);
		const z = await standin().addRun();
		// Nothing to report: z is followed in memory only, since a null poll saves nothing.
		expect((await poller.poll()).returnedNull).toBe(true);
		expect(Object.keys(stateOf(poller.memory).followed).sort()).toEqual([x.id, z.id].sort());
		expect(Object.keys(stateOf(poller.savedNodeData).followed)).toEqual([x.id]);
		expect(poller.saved).not.toEqual(savedAtActivation);

		poller.restart();
		await standin().endRun(z.id, { status: 'succeeded' });
		await standin().endRun(x.id, { status: 'succeeded' });
		expect(runIds(await poller.poll()).sort()).toEqual([x.id, z.id].sort());
		poller.restart();
		expect(runIds(await poller.poll())).toEqual([]);
		expect(poller.executions).toBe(2);
	});

	it('a restart right after an execution started repeats nothing', async () => {
		const poller = triggerPoller(standin(), { event: 'runStarted' });
		await poller.activate();
		const run = await standin().addRun({ scenario: 'llm' });
		expect(runIds(await poller.poll())).toEqual([run.id]);
		poller.restart();
		expect(runIds(await poller.poll())).toEqual([]);
	});

	it('new filters start over from the newest run instead of reading a cursor kept for others', async () => {
		const poller = triggerPoller(standin(), { event: 'runStarted' });
		await poller.activate();
		await standin().addRun({ scenario: 'llm' });
		const changed = triggerPoller(standin(), { event: 'runStarted', filters: { keyword: 'Fuji' } }, { savedStaticData: poller.saved });
		expect((await changed.poll()).returnedNull).toBe(true);
		const run = await standin().addRun({ scenario: 'llm' });
		expect(runIds(await changed.poll())).toEqual([run.id]);
	});

	it('follows at most 100 runs and lets the oldest go', async () => {
		const poller = triggerPoller(standin(), { event: 'runFinished' });
		await poller.activate();
		const base = nowSeconds() - 200;
		const made: string[] = [];
		for (let n = 0; n < 103; n++) made.push((await standin().addRun({ createdAt: base + n })).id);
		await poller.poll();
		const followed = Object.keys(stateOf(poller.memory).followed);
		expect(followed).toHaveLength(100);
		expect(followed.sort()).toEqual(made.slice(3).sort());
	});
});
