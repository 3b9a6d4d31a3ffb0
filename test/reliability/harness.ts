import { inspect } from 'node:util';
import { runInThisContext } from 'node:vm';

import type { DifyNodeRun } from '../integration/dify-node';

/**
 * What the fault suite watches besides the node's output: rejections and exceptions nobody
 * handled, and everything written to the console, to stdout/stderr or to n8n's logger.
 */

/**
 * The process n8n would run in. Jest gives each test file a copy of `process` whose events never
 * fire; code evaluated in Node's main context sees the real one.
 */
export const realProcess = runInThisContext('process') as NodeJS.Process;

export interface ProcessFaults {
	/** Unhandled rejections and uncaught exceptions seen since the watcher started, as text. */
	readonly seen: string[];
	stop(): void;
}

/**
 * Records unhandled rejections and uncaught exceptions. A node that lets a stream error or a
 * timer's rejection escape would crash n8n's main process; here it fails the suite instead.
 * (Jest's own handlers stay in place and report the error too.)
 */
export function watchProcessFaults(): ProcessFaults {
	const seen: string[] = [];
	const onRejection = (reason: unknown) => seen.push(`unhandledRejection: ${inspect(reason)}`);
	const onException = (error: unknown) => seen.push(`uncaughtException: ${inspect(error)}`);
	realProcess.on('unhandledRejection', onRejection);
	realProcess.on('uncaughtException', onException);
	return {
		seen,
		stop() {
			realProcess.off('unhandledRejection', onRejection);
			realProcess.off('uncaughtException', onException);
		},
	};
}

/**
 * Installs the watcher for a test file and fails a test during which something went unhandled.
 * A rejection may surface a few event-loop turns after the node returned (a body torn down
 * late), so the last check waits a moment before it looks.
 */
export function failOnProcessFaults(): ProcessFaults {
	const faults = watchProcessFaults();
	let checked = 0;
	afterEach(() => {
		const fresh = faults.seen.slice(checked);
		checked = faults.seen.length;
		expect(fresh).toEqual([]);
	});
	afterAll(async () => {
		await new Promise((resolve) => setTimeout(resolve, 200));
		faults.stop();
		expect(faults.seen.slice(checked)).toEqual([]);
	});
	return faults;
}

/** Runs something and measures how long it took. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
	const started = performance.now();
	const value = await work();
	return { value, elapsedMs: performance.now() - started };
}

/** Slack on top of a scenario's own bound: a loaded 2-core machine runs jest slowly. */
export const BOUND_MARGIN_MS = 4_000;

/** Everything n8n keeps of a run, errors expanded: what the editor, the database or an export could show. */
export function everythingKept(run: DifyNodeRun): string {
	const errors = [run.error, run.engine.error, ...Object.values(run.engine.runData).flatMap((tasks) => tasks.map((task) => task.error))];
	return [
		JSON.stringify(run.engine.run),
		JSON.stringify({ items: run.items, errorItems: run.errorItems }),
		...errors.filter((error) => error !== undefined).map((error) => describeError(error)),
	].join('\n');
}

/** An error with every own property, its cause chain and its stack: more than JSON.stringify shows. */
export function describeError(error: unknown): string {
	return inspect(error, { depth: 8, showHidden: false, getters: false, breakLength: Infinity });
}
