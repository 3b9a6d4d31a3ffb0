import type { IDataObject } from 'n8n-workflow';

import type { StreamChunk } from '../engine/run-workflow';
import { runDifyNode } from './dify-node';
import { standinPerFile } from './standin-per-file';
import { rawRun } from './raw-stream';

const standin = standinPerFile();

async function streamed(inputs: IDataObject, options: IDataObject = {}, items?: IDataObject[], asTool = false) {
	const chunks: StreamChunk[] = [];
	const result = await runDifyNode({
		parameters: {
			resource: 'workflow',
			operation: 'run',
			inputs: typeof inputs === 'string' ? inputs : JSON.stringify(inputs),
			user: 'u',
			responseMode: 'streaming',
			output: 'final',
			options,
		} as never,
		baseUrl: standin().url,
		apiKey: standin().apiKey,
		items,
		continueOnFail: true,
		onChunk: (chunk) => chunks.push(chunk),
		asTool,
	});
	return { result, chunks };
}

const texts = (chunks: StreamChunk[]) => chunks.filter((c) => c.type === 'item').map((c) => c.content).join('');

describe('live streaming to a Webhook or Chat Trigger', () => {
	it('forwards text chunks as they arrive, begin to end, and still returns the result', async () => {
		const sent = await rawRun(standin().url, standin().apiKey, { topic: '富士山' });
		const expected = sent
			.filter((event) => event.event === 'text_chunk')
			.map((event) => (event.data as { text: string }).text)
			.join('');
		const { result, chunks } = await streamed({ topic: '富士山' });
		expect(chunks[0]).toMatchObject({ type: 'begin', metadata: { itemIndex: 0 } });
		expect(chunks.at(-1)).toMatchObject({ type: 'end', metadata: { itemIndex: 0 } });
		expect(texts(chunks)).toBe(expected);
		expect((result.items[0].json.outputs as IDataObject).answer).toBe(expected);
	});

	it('forwards only the chosen variables', async () => {
		const { chunks } = await streamed({ topic: 'x', scenario: 'iteration' }, { streamVariables: 'nothing-like-this' });
		expect(texts(chunks)).toBe('');
		const sent = await rawRun(standin().url, standin().apiKey, { topic: 'x', scenario: 'iteration' });
		const selectors = sent
			.filter((event) => event.event === 'text_chunk')
			.map((event) => ((event.data as { from_variable_selector: string[] }).from_variable_selector ?? []).join('.'));
		const { chunks: chosen } = await streamed({ topic: 'x', scenario: 'iteration' }, { streamVariables: selectors[0] });
		expect(texts(chosen).length).toBeGreaterThan(0);
	});

	it('sends begin and end per input item, and error for a failed run', async () => {
		const { chunks } = await streamed(
			'={{ { "topic": "x", "scenario": $json.scenario } }}' as never,
			{},
			[{ scenario: 'llm' }, { scenario: 'fail' }],
		);
		const perItem = (index: number) =>
			chunks.filter((c) => c.metadata.itemIndex === index && c.type !== 'item').map((c) => c.type);
		expect(perItem(0)).toEqual(['begin', 'end']);
		expect(perItem(1)).toEqual(['begin', 'error']);
		expect(chunks.find((c) => c.type === 'error')?.content).toMatch(/The Dify workflow run failed/);
	});

	it("as an AI Agent's tool, keeps Dify's text out of the agent's answer unless Stream Text Of names it", async () => {
		const quiet = await streamed({ topic: '富士山' }, {}, undefined, true);
		expect(quiet.chunks).toEqual([]);
		expect((quiet.result.items[0].json.outputs as IDataObject).answer).toMatch(/^富士山は/);

		const asked = await streamed({ topic: '富士山' }, { streamVariables: 'text' }, undefined, true);
		expect(asked.chunks.filter((c) => c.type !== 'item').map((c) => c.type)).toEqual(['begin', 'end']);
		expect(texts(asked.chunks)).toBe((asked.result.items[0].json.outputs as IDataObject).answer);
	});

	it('sends nothing when the run is not streamed to a client', async () => {
		const result = await runDifyNode({
			parameters: { resource: 'workflow', operation: 'run', inputs: '{"topic": "x"}', user: 'u', responseMode: 'streaming', output: 'final' },
			baseUrl: standin().url,
			apiKey: standin().apiKey,
		});
		expect(result.items[0].json.status).toBe('succeeded');
	});
});
