import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { runDifyNode } from '../integration/dify-node';
import { standinPerFile } from '../integration/standin-per-file';
import { failOnProcessFaults } from './harness';
import { runOperation, SHORT_TIMEOUT_S } from './scenarios';
import { sentEvents } from '../integration/raw-stream';

failOnProcessFaults();

const API_KEY = 'app-ReliabilityCofKey00000011';

// Dify 1.13: the stream faults end the item, with no events endpoint to re-attach through.
const standin = standinPerFile({ apiKey: API_KEY, version: '1.13' });

/**
 * One input item per way an item can end: success, each stream failure, a timeout, a refused
 * parameter. `final` is what the item gives in `final` output: a result with that status, or an
 * error item whose message matches.
 */
const MIX: Array<{ inputs: unknown; final: { status: string } | { error: RegExp } }> = [
	{ inputs: { topic: 'Alps' }, final: { status: 'succeeded' } },
	{ inputs: { topic: 'Andes', scenario: 'fail' }, final: { error: /^The Dify workflow run failed: / } },
	{ inputs: ['not', 'an', 'object'], final: { error: /^The Inputs parameter must be a JSON object, not an array$/ } },
	{ inputs: { topic: 'Atlas', scenario: 'error' }, final: { error: /^Dify reported an error during the run: / } },
	{ inputs: { topic: 'Balkan', scenario: 'truncated' }, final: { error: /^The event stream from Dify ended before the run finished$/ } },
	{ inputs: { topic: 'Carpathian', scenario: 'drop' }, final: { error: /broke in the middle of the event stream$/ } },
	{ inputs: { topic: 'Dolomites', scenario: 'silent' }, final: { error: /^Dify sent no workflow event for 1 s/ } },
	{ inputs: { topic: 'Everest', scenario: 'paused' }, final: { status: 'paused' } },
	{ inputs: { topic: 'Fuji' }, final: { status: 'succeeded' } },
];

const mixItems = () => MIX.map((entry) => ({ inputs: entry.inputs }) as IDataObject);

const itemOf = (item: INodeExecutionData) => (item.pairedItem as { item: number }).item;

function expectOneOutcomePerItem(items: INodeExecutionData[]): void {
	expect(items.map(itemOf)).toEqual(MIX.map((_, index) => index));
	for (const [index, entry] of MIX.entries()) {
		const { json } = items[index];
		if ('status' in entry.final) {
			// A result carries the run's own `error` field, null for a run that did not fail.
			expect(json.error ?? null).toBeNull();
			expect(json.status).toBe(entry.final.status);
		} else {
			expect(json.error).toMatch(entry.final.error);
		}
	}
}

describe('under Continue On Fail every input item yields exactly one result or error item', () => {
	it.each([1, 4])('final output, Concurrency %i', async (concurrency) => {
		const run = await runOperation(
			standin().url,
			API_KEY,
			{ inputs: '={{ $json.inputs }}', options: { timeout: SHORT_TIMEOUT_S, concurrency } },
			{ items: mixItems(), continueOnFail: true },
		);
		expect(run.error).toBeUndefined();
		expect(run.items).toHaveLength(MIX.length);
		expectOneOutcomePerItem(run.items);
	});

	it('with the error output, each item is on exactly one of the two outputs', async () => {
		const run = await runOperation(
			standin().url,
			API_KEY,
			{ inputs: '={{ $json.inputs }}', options: { timeout: SHORT_TIMEOUT_S, concurrency: 4 } },
			{ items: mixItems(), errorOutput: true },
		);
		expect(run.error).toBeUndefined();
		const failing = MIX.flatMap((entry, index) => ('error' in entry.final ? [index] : []));
		expect(run.errorItems.map(itemOf)).toEqual(failing);
		expect(run.items.map(itemOf)).toEqual(MIX.map((_, index) => index).filter((index) => !failing.includes(index)));
		// n8n adds the input item's fields to an item it routes to the error output.
		for (const item of run.errorItems) expect(item.json).toMatchObject({ error: expect.any(String), details: expect.any(Object) });
	});

	it('events output: each item gives every event the server sent, then one error item if it failed', async () => {
		// What the stand-in sends for each item, counted by a plain client; silence is cut after the node's timeout.
		const sent = await Promise.all(
			MIX.map(async (entry) =>
				Array.isArray(entry.inputs)
					? []
					: (await sentEvents(standin().url, API_KEY, entry.inputs as IDataObject, { limitMs: 1500 })).events.map((event) => event.event),
			),
		);
		standin().reset();
		const run = await runOperation(
			standin().url,
			API_KEY,
			{ inputs: '={{ $json.inputs }}', output: 'events', options: { timeout: SHORT_TIMEOUT_S, concurrency: 3 } },
			{ items: mixItems(), continueOnFail: true },
		);
		expect(run.error).toBeUndefined();
		for (const [index, entry] of MIX.entries()) {
			const own = run.items.filter((item) => itemOf(item) === index).map((item) => item.json);
			const failed = 'error' in entry.final;
			expect(own).toHaveLength(sent[index].length + (failed ? 1 : 0));
			expect(own.slice(0, sent[index].length).map((json) => json.event)).toEqual(sent[index]);
			if (failed) expect(own.at(-1)?.error).toMatch((entry.final as { error: RegExp }).error);
		}
		// Items stay in input order: all of item 0's events, then item 1's, and so on.
		expect(run.items.map(itemOf)).toEqual([...run.items.map(itemOf)].sort((a, b) => a - b));
	});

	it('a failure of the whole node (an invalid Concurrency option) still gives one error item per input item', async () => {
		const run = await runOperation(
			standin().url,
			API_KEY,
			{ options: { concurrency: '={{ 0 }}' } },
			{ items: [{ n: 1 }, { n: 2 }, { n: 3 }], continueOnFail: true },
		);
		// n8n passes the input items through unchanged when a node under Continue On Fail throws as a
		// whole: downstream they would look like results. Each must be an error item instead.
		const items = run.engine.outputOf('Dify Workflow');
		expect(items.map(itemOf)).toEqual([0, 1, 2]);
		for (const item of items) expect(item.json.error).toBe('The Concurrency option must be a whole number from 1 to 50');
		expect(standin().requests).toEqual([]);
	});
});

describe('without Continue On Fail', () => {
	it('the first failure fails the node and no later item starts', async () => {
		const run = await runDifyNode({
			parameters: {
				resource: 'workflow',
				operation: 'run',
				inputs: '={{ $json.inputs }}',
				user: 'user-42',
				responseMode: 'streaming',
				output: 'final',
			},
			baseUrl: standin().url,
			apiKey: API_KEY,
			items: [{ inputs: { topic: 'a' } }, { inputs: { topic: 'b', scenario: 'fail' } }, { inputs: { topic: 'c' } }],
		});
		expect(run.error?.message).toMatch(/^The Dify workflow run failed: /);
		expect(run.error?.context?.itemIndex).toBe(1);
		expect(standin().requests.filter((r) => r.path.endsWith('/run'))).toHaveLength(2);
	});
});
