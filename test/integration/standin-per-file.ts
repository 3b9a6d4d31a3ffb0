import type { DifyStandin, StandinOptions } from '../standin/server';
import { startDifyStandin } from '../standin/server';

/**
 * One Dify stand-in for a test file, its records cleared before each test. Returns a getter,
 * since the stand-in exists only once the file's tests start.
 */
export function standinPerFile(options?: StandinOptions): () => DifyStandin {
	let standin: DifyStandin | undefined;
	beforeAll(async () => {
		standin = await startDifyStandin(options);
	});
	afterAll(async () => {
		await standin?.close();
	});
	beforeEach(() => standin?.reset());
	return () => {
		if (!standin) throw new Error('The stand-in starts in beforeAll: use it inside tests');
		return standin;
	};
}
