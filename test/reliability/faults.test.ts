import { captureOutput } from './capture';
import { BOUND_MARGIN_MS, failOnProcessFaults } from './harness';
import type { Played } from './scenarios';
import { FAULTS } from './scenarios';

const output = captureOutput();
failOnProcessFaults();

const API_KEY = 'app-ReliabilityFaultsKey00007';

/** Plays are kept for the cross-scenario checks at the end of the file. */
const played = new Map<string, Played>();

describe('faults: each ends in a correct result or a clear error, within its bound', () => {
	it.each(FAULTS.map((scenario) => [scenario.id, scenario] as const))('%s', async (_, scenario) => {
		const result = await scenario.play(API_KEY);
		played.set(scenario.id, result);
		scenario.check(result);
		// No hang: the configured timeout plus the retries the node is designed to make, and slack.
		expect(result.elapsedMs).toBeLessThan(scenario.boundMs + BOUND_MARGIN_MS);
		// No connection left behind: the node closes a stream it stops reading.
		if (result.openAfter !== undefined) expect(result.openAfter).toBe(0);
	});
});

describe('waits the user would otherwise take for a hang are logged', () => {
	it("each retry is a warning in n8n's log with its reason and wait", () => {
		expect(played.has('429-retry-after') && played.has('429-no-retry-after') && played.has('connection-refused')).toBe(true);
		expect(output.logged(/Dify answered HTTP 429 to POST \/workflows\/run; retrying in 1\.0 s \(retry 1 of 3\)/)).toHaveLength(1);
		// 429 every time: two plays log a first retry (the other has Retry-After), this one more after it.
		expect(output.logged(/Dify answered HTTP 429 to POST \/workflows\/run; retrying in \d\.\d s \(retry 1 of 3\)/)).toHaveLength(2);
		expect(output.logged(/Dify answered HTTP 429 to POST \/workflows\/run; retrying in \d\.\d s \(retry 2 of 3\)/)).toHaveLength(1);
		expect(output.logged(/failed \(ECONNREFUSED\); retrying in \d\.\d s \(retry 1 of 3\)/)).toHaveLength(1);
	});
});
