import { standinPerFile } from '../integration/standin-per-file';
import { failOnProcessFaults } from './harness';
import { BAD_INPUTS, runBadInput } from './inputs';

failOnProcessFaults();

const API_KEY = 'app-ReliabilityInputsKey00009';

const standin = standinPerFile({ apiKey: API_KEY });

describe('bad input is refused before any request, naming the parameter and the fix', () => {
	it.each(BAD_INPUTS.map((input) => [input.id, input] as const))('%s', async (_, input) => {
		const run = await runBadInput(input, standin().url, API_KEY);
		expect(run.error?.name).toBe('NodeOperationError');
		if (typeof input.message === 'string') expect(run.error?.message).toBe(input.message);
		else expect(run.error?.message).toMatch(input.message);
		expect(run.error?.description).toMatch(input.fix);
		expect(standin().requests).toEqual([]);
	});

	it('under Continue On Fail, a bad item is one error item and makes no request', async () => {
		const input = BAD_INPUTS.find((candidate) => candidate.id === 'inputs-array')!;
		const run = await runBadInput(input, standin().url, API_KEY, true);
		expect(run.error).toBeUndefined();
		expect(run.items).toHaveLength(1);
		expect(run.items[0].json).toEqual({
			error: 'The Inputs parameter must be a JSON object, not an array',
			description: expect.stringMatching(/^Set Inputs to an object/),
		});
		expect(run.items[0].pairedItem).toEqual({ item: 0 });
		expect(standin().requests).toEqual([]);
	});
});
