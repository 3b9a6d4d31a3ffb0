import { runDifyNode } from './dify-node';
import { standinPerFile } from './standin-per-file';

const standin = standinPerFile();

const run = (asTool: boolean) =>
	runDifyNode({
		parameters: {
			resource: 'workflow',
			operation: 'run',
			inputs: '{"tpoic": "Alps"}',
			user: 'u',
			responseMode: 'blocking',
		},
		baseUrl: standin().url,
		apiKey: standin().apiKey,
		asTool,
	});

describe("as an AI Agent's tool", () => {
	it("returns a failure as the tool's result, the app's inputs included, instead of failing the execution", async () => {
		const result = await run(true);
		expect(result.error).toBeUndefined();
		expect(result.items).toHaveLength(1);
		const { error, description } = result.items[0].json;
		expect(error).toMatch(/keys the app does not know: tpoic/);
		expect(description).toMatch(/The app's inputs are: topic \(Topic\), scenario/);
		expect(JSON.stringify(result.items)).not.toContain(standin().apiKey);
	});

	it('still fails as a workflow step', async () => {
		const result = await run(false);
		expect(result.error?.message).toMatch(/keys the app does not know: tpoic/);
	});
});
