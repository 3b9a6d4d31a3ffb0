import { realProcess, watchProcessFaults } from './harness';

describe('the process-fault watcher the suite relies on', () => {
	it('records a rejection nobody handled', async () => {
		// Jest's handler would fail this test for the rejection it provokes on purpose: set it aside.
		const jestHandlers = realProcess.listeners('unhandledRejection');
		realProcess.removeAllListeners('unhandledRejection');
		const watcher = watchProcessFaults();
		try {
			void Promise.reject(new Error('nobody handles this'));
			await new Promise((resolve) => setTimeout(resolve, 20));
			expect(watcher.seen).toEqual([expect.stringMatching(/^unhandledRejection: Error: nobody handles this/)]);
		} finally {
			watcher.stop();
			for (const handler of jestHandlers) realProcess.on('unhandledRejection', handler as (reason: unknown) => void);
		}
	});
});
