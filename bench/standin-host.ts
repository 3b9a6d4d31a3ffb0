import { startDifyStandin } from '../test/standin/server';

/**
 * Hosts the Dify stand-in in a process of its own, so that the server's work runs on the other
 * core and is not counted in the measured process. Started with an IPC channel by the bench
 * runner; it answers with its base URL and key and ends when the runner disconnects.
 */
async function main(): Promise<void> {
	const standin = await startDifyStandin({
		chunking: 'bulk',
		// Large enough for the 1 GiB upload; the other categories keep Dify's defaults.
		uploadLimitsMb: { image: 10, video: 100, audio: 50, other: 4096 },
		seedLogs: 0,
	});
	// The stand-in remembers every run and request, and a run of the `many` scenario keeps its
	// whole answer: left alone, its heap grows by megabytes a run and its major GCs come to stall
	// the streams being measured. The bench never looks a run up again (no run detail, no stop),
	// so forgetting everything often, streams under way included, changes nothing it measures.
	// A figure whose runs go on after their stream is cut (re-attach) needs them remembered: it
	// starts the stand-in with --keep-runs; its runs are few and small.
	const forget = process.argv.includes('--keep-runs') ? undefined : setInterval(() => standin.reset(), 100);
	const stop = () => {
		clearInterval(forget);
		void standin.close().then(() => process.exit(0));
	};
	process.once('disconnect', stop);
	process.once('SIGTERM', stop);
	process.send?.({ url: standin.url, apiKey: standin.apiKey });
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
