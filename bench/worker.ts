import { performance } from 'node:perf_hooks';

import type { IDataObject, INode } from 'n8n-workflow';

import { disposeEngine } from '../test/engine/run-workflow';
import { AGGREGATED_EVENTS, RunAggregator } from '../nodes/DifyWorkflow/helpers/runResult';
import { DifyTransport } from '../nodes/DifyWorkflow/transport/request';
import type { DifySseFrame } from '../nodes/DifyWorkflow/transport/sse';
import { collectGarbage, heapUsedBytes, maxRssBytes, MemorySampler } from './lib/memory';
import { runDifyNode, runDifyNodeTimed, runOffersConcurrency, storeBinaries, streamingRun } from './lib/node';
import type { Target } from './lib/raw';
import { addExternalRuns, floorAgent, rawGetInfo, rawLogPages, rawStream, rawStreamReattaching, rawStreams, rawUpload } from './lib/raw';
import { cursorIso, triggerPoller } from './lib/trigger';
import type {
	ConcurrencyResult,
	FirstEventPair,
	GetInfoPair,
	TriggerPollPair,
	MemoryResult,
	Pair,
	ReattachPair,
	ReattachResult,
	Task,
	TaskResult,
	SideRun,
	SideVariant,
	Unavailable,
	UploadResult,
} from './lib/tasks';

/**
 * One measurement in a process of its own, started by run.ts: memory figures need a fresh
 * process each (maxRSS only ever grows), and timing figures get a process where nothing else ran.
 * Node and floor runs of a pair share the process, the stand-in and the warm-up.
 */

/** Runs of each side before any is measured: the first few run partly unoptimised code. */
const WARM_UP_RUNS = 3;

/** Stands in for the workflow node a transport belongs to; only its name is ever shown. */
const BENCH_NODE: INode = {
	id: 'bench',
	name: 'Dify Workflow',
	type: 'n8n-nodes-dify-workflow.difyWorkflow',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

function manyInputs(events: number): IDataObject {
	return { topic: 'bench', scenario: 'many', chunks: events };
}

function expectFinal(items: Array<{ json: IDataObject }>, events: number): void {
	const result = items[0]?.json;
	if (items.length !== 1 || result?.status !== 'succeeded' || result.total_tokens !== events) {
		throw new Error(`The node did not return the expected final result: ${JSON.stringify(result).slice(0, 300)}`);
	}
}

/**
 * Runs `node` and `floor` one after the other, the node first in even pairs and last in odd ones.
 * No forced GC in between: a full collection before a run made the run after it markedly
 * noisier, and both sides pay for their own garbage either way.
 */
async function alternate<N, F>(index: number, node: () => Promise<N>, floor: () => Promise<F>): Promise<{ node: N; floor: F; nodeFirst: boolean }> {
	const nodeFirst = index % 2 === 0;
	if (nodeFirst) {
		const n = await node();
		return { node: n, floor: await floor(), nodeFirst };
	}
	const f = await floor();
	return { floor: f, node: await node(), nodeFirst };
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
	const cpu = process.cpuUsage();
	const started = performance.now();
	const value = await work();
	const ms = performance.now() - started;
	const used = process.cpuUsage(cpu);
	return { ms, cpuMs: (used.user + used.system) / 1000, value };
}

/**
 * One side of figure 1, run whenever the runner asks: warms up, says it is ready, then answers
 * each `run` message with one measured run, until the runner disconnects.
 */
async function throughputSide(target: Target, events: number, side: 'node' | 'floor'): Promise<void> {
	const agent = floorAgent();
	const inputs = manyInputs(events);
	const parameters = streamingRun(inputs, 'final');
	const unvalidated = streamingRun(inputs, 'final', { validateInputs: false });
	const call = {
		path: '/workflows/run',
		body: { inputs, user: 'bench', response_mode: 'streaming' },
		timeoutParameter: 'Timeout',
		only: AGGREGATED_EVENTS,
	};
	const transportRun = async (aggregate: boolean): Promise<number> => {
		const transport = new DifyTransport(BENCH_NODE, target.url, target.apiKey, new AbortController().signal);
		const started = performance.now();
		const stream = await transport.stream(0, call);
		if (stream.kind !== 'events') throw new Error('The stand-in did not stream');
		const aggregator = new RunAggregator();
		const parse = (frame: DifySseFrame) => transport.event<Record<string, unknown>>(0, frame);
		reading: for await (const frames of stream.frames) {
			for (const frame of frames) if (aggregate && aggregator.accept(frame.name, frame, parse)) break reading;
		}
		if (aggregate && aggregator.outcome()?.kind !== 'finished') throw new Error('The run did not finish');
		return performance.now() - started;
	};
	const runOnce = async (variant: SideVariant): Promise<SideRun> => {
		if (side === 'floor') {
			const { ms, cpuMs, value } = await timed(() => rawStream(target, agent, inputs));
			return { ms, ownMs: ms, cpuMs, events: value.events, bytes: value.bytes };
		}
		if (variant === 'transport' || variant === 'aggregated') {
			const ms = await transportRun(variant === 'aggregated');
			return { ms, ownMs: ms, cpuMs: NaN, events, bytes: NaN };
		}
		const chosen = variant === 'noValidation' ? unvalidated : parameters;
		const { ms, cpuMs, value } = await timed(() => runDifyNodeTimed(target, chosen, { items: [{}] }));
		expectFinal(value.items, events);
		return { ms, ownMs: value.nodeMs, cpuMs, events, bytes: NaN };
	};
	// Full-size runs first, so that the measured ones run optimised code. Both processes run one
	// execution in n8n's engine, so that both hold its services and heap.
	if (side === 'floor') await runDifyNode(target, { resource: 'app', operation: 'getInfo' }, { items: [{}] });
	for (let i = 0; i < WARM_UP_RUNS; i++) {
		for (const variant of ['measured', 'transport', 'aggregated', 'noValidation'] as const) await runOnce(variant);
	}
	const send = process.send?.bind(process);
	if (!send) throw new Error('A throughput side runs only under the bench runner (it needs an IPC channel)');
	await new Promise<void>((resolve, reject) => {
		let queue = Promise.resolve();
		process.on('message', (message: { run: SideVariant }) => {
			queue = queue
				.then(async () => {
					send({ run: await runOnce(message.run) });
				})
				.catch(reject);
		});
		process.once('disconnect', () => void queue.then(resolve, reject));
		send({ ready: true });
	});
}

async function memory(target: Target, events: number, output: 'final' | 'events', who: 'node' | 'floor'): Promise<MemoryResult> {
	const agent = floorAgent();
	const runOnce = async (count: number): Promise<unknown[] | number> => {
		if (who === 'floor') return (await rawStream(target, agent, manyInputs(count))).events;
		const items = await runDifyNode(target, streamingRun(manyInputs(count), output), { items: [{}] });
		if (output === 'final') expectFinal(items, count);
		else if (items.length !== count + 2) throw new Error(`Expected ${count + 2} event items, got ${items.length}`);
		return items;
	};
	// Loads every module and creates the engine's services, so the measured run starts warm.
	await runOnce(100);
	collectGarbage();
	const rssBefore = process.memoryUsage.rss();
	const heapBefore = heapUsedBytes();
	const sampler = new MemorySampler();
	sampler.start();
	const { ms, value } = await timed(() => runOnce(events));
	const peaks = sampler.stop();
	const maxRss = maxRssBytes();
	// The output is still referenced here, as n8n holds a node's output in the run data.
	collectGarbage();
	const retained = heapUsedBytes();
	return {
		events,
		output,
		who,
		items: Array.isArray(value) ? value.length : value,
		ms,
		rssBeforeBytes: rssBefore,
		heapBeforeBytes: heapBefore,
		maxRssBytes: maxRss,
		sampledRssBytes: peaks.rssBytes,
		sampledHeapBytes: peaks.heapBytes,
		sampledExternalBytes: peaks.externalBytes,
		retainedHeapBytes: retained,
	};
}

/**
 * The node hands its items to n8n only when it returns; when it parsed its first event is read
 * from the transport, which parses every event of an `events` run as it arrives.
 */
function watchFirstEvent(): { reset(): void; at(): number } {
	let first = 0;
	const original = DifyTransport.prototype.event;
	DifyTransport.prototype.event = function <T>(this: DifyTransport, ...args: Parameters<DifyTransport['event']>): T {
		if (first === 0) first = performance.now();
		return original.apply(this, args) as T;
	};
	return {
		reset: () => {
			first = 0;
		},
		at: () => first,
	};
}

async function firstEvent(target: Target, events: number, pairs: number): Promise<FirstEventPair[]> {
	const agent = floorAgent();
	const inputs = manyInputs(events);
	const parameters = streamingRun(inputs, 'events');
	const watch = watchFirstEvent();
	for (let i = 0; i < WARM_UP_RUNS; i++) {
		await runDifyNode(target, parameters, { items: [{}] });
		await rawStream(target, agent, inputs);
	}
	const results: FirstEventPair[] = [];
	for (let i = 0; i < pairs; i++) {
		const pair = await alternate(
			i,
			async () => {
				watch.reset();
				const started = performance.now();
				const items = await runDifyNode(target, parameters, { items: [{}] });
				const ended = performance.now();
				if (items.length !== events + 2) throw new Error(`Expected ${events + 2} event items, got ${items.length}`);
				return { ms: ended - started, firstMs: watch.at() - started };
			},
			() => rawStream(target, agent, inputs),
		);
		results.push({
			nodeMs: pair.node.ms,
			floorMs: pair.floor.ms,
			nodeFirst: pair.nodeFirst,
			nodeFirstEventMs: pair.node.firstMs,
			floorFirstEventMs: pair.floor.firstEventMs,
		});
	}
	return results;
}

const UPLOAD_FILE = { fileName: 'bench.dat', mimeType: 'application/octet-stream' };

async function upload(target: Target, mode: 'node' | 'floor', sizeBytes: number): Promise<UploadResult> {
	const agent = floorAgent();
	const parameters = { resource: 'file', operation: 'upload', binaryPropertyName: 'data', user: 'bench' };
	// A small upload first, through the path measured, so that its code is loaded and warm.
	const small = await storeBinaries(target, [{ ...UPLOAD_FILE, sizeBytes: 1024 * 1024 }]);
	if (mode === 'node') await runDifyNode(target, parameters, { passed: small.items });
	else await rawUpload(target, agent, { ...UPLOAD_FILE, path: small.paths[0], size: 1024 * 1024 });

	const stored = await storeBinaries(target, [{ ...UPLOAD_FILE, sizeBytes }]);
	collectGarbage();
	const rssBefore = process.memoryUsage.rss();
	const maxRssBefore = maxRssBytes();
	const sampler = new MemorySampler();
	sampler.start();
	const started = performance.now();
	let size: number;
	if (mode === 'node') {
		const items = await runDifyNode(target, parameters, { passed: stored.items });
		size = Number(items[0]?.json.size);
	} else {
		size = (await rawUpload(target, agent, { ...UPLOAD_FILE, path: stored.paths[0], size: sizeBytes })).size;
	}
	const ms = performance.now() - started;
	const peaks = sampler.stop();
	if (size !== sizeBytes) throw new Error(`Dify stored ${size} bytes of the ${sizeBytes} sent`);
	return {
		mode,
		bytes: sizeBytes,
		ms,
		rssBeforeBytes: rssBefore,
		maxRssBeforeBytes: maxRssBefore,
		maxRssAfterBytes: maxRssBytes(),
		sampledRssBytes: peaks.rssBytes,
		sampledHeapBytes: peaks.heapBytes,
		sampledExternalBytes: peaks.externalBytes,
	};
}

async function getInfo(target: Target, calls: number, pairs: number): Promise<GetInfoPair[]> {
	const agent = floorAgent();
	const parameters = { resource: 'app', operation: 'getInfo' };
	const items = Array.from({ length: calls }, () => ({}));
	const node = async () => {
		const { ms, cpuMs, value } = await timed(() => runDifyNodeTimed(target, parameters, { items }));
		if (value.items.length !== calls || typeof value.items[0].json.name !== 'string') {
			throw new Error('Get Info returned unexpected items');
		}
		return { ms, cpuMs, ownMs: value.nodeMs };
	};
	const floor = async () => timed(() => rawGetInfo(target, agent, calls));
	// The node's transport alone, outside n8n: what the node's own code costs per call.
	const transport = new DifyTransport(BENCH_NODE, target.url, target.apiKey, new AbortController().signal);
	const transportOnly = async () => {
		const started = performance.now();
		for (let i = 0; i < calls; i++) await transport.json(i, { method: 'GET', path: '/info' });
		return performance.now() - started;
	};
	// One item: what an execution costs in the engine whatever the number of items.
	const oneItem = async () => (await timed(() => runDifyNode(target, parameters, { items: [{}] }))).ms;
	// Calls are short: the first few thousand still run partly unoptimised code.
	for (let i = 0; i < 8; i++) {
		await node();
		await rawGetInfo(target, agent, calls);
		await transportOnly();
	}
	const results: GetInfoPair[] = [];
	for (let i = 0; i < pairs; i++) {
		const pair = await alternate(i, node, floor);
		results.push({
			nodeMs: pair.node.ms,
			nodeOwnMs: pair.node.ownMs,
			nodeCpuMs: pair.node.cpuMs,
			floorMs: pair.floor.ms,
			floorCpuMs: pair.floor.cpuMs,
			nodeFirst: pair.nodeFirst,
			floorKeepingMs: await rawGetInfo(target, agent, calls, { keep: true }),
			floorAbortSignalMs: await rawGetInfo(target, agent, calls, { abortSignal: true }),
			transportMs: await transportOnly(),
			oneItemMs: await oneItem(),
		});
	}
	return results;
}

async function concurrency(target: Target, count: number, runMs: number, level: number, pairs: number): Promise<ConcurrencyResult | Unavailable> {
	const offered = runOffersConcurrency();
	if (level > 1 && !offered) return { unavailable: true };
	const agent = floorAgent();
	// The scenario sleeps before each of its events: spread the run's time over as many sleeps.
	const events = (await rawStream(target, agent, { topic: 'bench', scenario: 'slow', delay_ms: 0 })).events;
	const delayMs = runMs / events;
	const inputs = { topic: 'bench', scenario: 'slow', delay_ms: delayMs };
	// Without the option the node gets no `concurrency` key at all, as in a workflow saved before it existed.
	const parameters = streamingRun(inputs, 'final', offered ? { concurrency: level } : {});
	const items = Array.from({ length: count }, () => ({}));
	const node = async () => {
		const { ms, value } = await timed(() => runDifyNode(target, parameters, { items }));
		if (value.length !== count || value.some((item) => item.json.status !== 'succeeded')) {
			throw new Error('Not every run succeeded');
		}
		return ms;
	};
	const singleRunMs: number[] = [];
	for (let i = 0; i < 3; i++) singleRunMs.push((await rawStream(target, agent, inputs)).ms);
	const results: Pair[] = [];
	for (let i = 0; i < pairs; i++) {
		const pair = await alternate(i, node, () => rawStreams(target, agent, inputs, count, level));
		results.push({ nodeMs: pair.node, floorMs: pair.floor, nodeFirst: pair.nodeFirst });
	}
	return { concurrency: level, events, delayMs, singleRunMs, pairs: results };
}

/**
 * When the node saw its run's stream break, and when the first events of the re-attached stream
 * (the run's events endpoint, the only stream the node opens with GET) reached it.
 */
function watchReattach(): { reset(): void; gapMs(): number } {
	let brokeAt = 0;
	let againAt = 0;
	const original = DifyTransport.prototype.stream;
	DifyTransport.prototype.stream = async function (this: DifyTransport, ...args: Parameters<DifyTransport['stream']>) {
		const response = await original.apply(this, args);
		if (response.kind !== 'events') return response;
		const again = args[1].method === 'GET';
		const frames = response.frames;
		async function* watched(): AsyncGenerator<DifySseFrame[]> {
			try {
				for await (const batch of frames) {
					if (again && againAt === 0) againAt = performance.now();
					yield batch;
				}
			} finally {
				if (!again && brokeAt === 0) brokeAt = performance.now();
			}
		}
		return { kind: 'events', frames: watched() };
	};
	return {
		reset: () => {
			brokeAt = 0;
			againAt = 0;
		},
		gapMs: () => (brokeAt === 0 || againAt === 0 ? NaN : againAt - brokeAt),
	};
}

async function reattach(target: Target, pauseMs: number, pairs: number): Promise<ReattachResult> {
	const agent = floorAgent();
	const cut = { topic: 'bench', scenario: 'cut', delay_ms: pauseMs };
	// The uncut twin: the same events, its pause spread evenly before them (the `slow` scenario).
	const events = (await rawStream(target, agent, { topic: 'bench', scenario: 'slow', delay_ms: 0 })).events;
	const delayMs = pauseMs / events;
	const uncut = { topic: 'bench', scenario: 'slow', delay_ms: delayMs };
	const watch = watchReattach();
	const node = async (inputs: IDataObject) => {
		watch.reset();
		const started = performance.now();
		const items = await runDifyNode(target, streamingRun(inputs, 'final'), { items: [{}] });
		const ms = performance.now() - started;
		if (items.length !== 1 || items[0].json.status !== 'succeeded') throw new Error(`The run did not succeed: ${JSON.stringify(items[0]?.json).slice(0, 300)}`);
		return { ms, gapMs: watch.gapMs() };
	};
	const floor = async (inputs: IDataObject) => {
		const result = await rawStreamReattaching(target, agent, inputs);
		if (!result.finished) throw new Error('The floor did not read the run to its end');
		return result;
	};
	for (let i = 0; i < WARM_UP_RUNS; i++) {
		await node(cut);
		await floor(cut);
		await node(uncut);
		await floor(uncut);
	}
	const results: ReattachPair[] = [];
	for (let i = 0; i < pairs; i++) {
		const pair = await alternate(i, () => node(cut), () => floor(cut));
		const twin = await alternate(i, () => node(uncut), () => floor(uncut));
		results.push({
			nodeMs: pair.node.ms,
			floorMs: pair.floor.ms,
			nodeFirst: pair.nodeFirst,
			nodeGapMs: pair.node.gapMs,
			floorGapMs: pair.floor.gapMs,
			nodeUncutMs: twin.node.ms,
			floorUncutMs: twin.floor.ms,
		});
	}
	return { pauseMs, events, delayMs, pairs: results };
}

/**
 * Figure 8: one poll of an active workflow's Dify Workflow Trigger (Run Started) over `runs` new
 * runs, through n8n-core's PollContext, against undici paging the same logs from the same cursor.
 * Each pair starts from a fresh activation, then the stand-in makes the runs.
 */
async function triggerPoll(target: Target, runs: number, pairs: number): Promise<TriggerPollPair[]> {
	const agent = floorAgent();
	// Dify's bound is inclusive, to the second: a poll reads again the runs of its cursor's second.
	// One run alone in a second of its own before the activation keeps the earlier rounds' runs
	// out of the pages read, so that every round reads the same number of rows.
	const nextSecond = async () => {
		const now = Math.floor(Date.now() / 1000);
		while (Math.floor(Date.now() / 1000) === now) await new Promise((resolve) => setTimeout(resolve, 20));
	};
	const round = async (index: number) => {
		await nextSecond();
		await addExternalRuns(target, agent, 1);
		const poller = triggerPoller(target);
		const activation = await poller.activate();
		if (activation.error) throw activation.error;
		const since = cursorIso(poller);
		await nextSecond();
		await addExternalRuns(target, agent, runs);
		const node = async () => {
			const { ms, cpuMs, value } = await timed(() => poller.poll());
			if (value.error) throw value.error;
			return { ms, cpuMs, items: value.items.length };
		};
		const floor = async () => {
			const { ms, cpuMs, value } = await timed(() => rawLogPages(target, agent, since));
			return { ms, cpuMs, pages: value.pages, rows: value.rows };
		};
		return await alternate(index, node, floor);
	};
	// The first rounds run partly unoptimised code.
	for (let i = 0; i < 2; i++) await round(i);
	const results: TriggerPollPair[] = [];
	for (let i = 0; i < pairs; i++) {
		const pair = await round(i);
		if (pair.node.items !== runs) throw new Error(`The poll returned ${pair.node.items} items for ${runs} new runs`);
		results.push({
			nodeMs: pair.node.ms,
			floorMs: pair.floor.ms,
			nodeFirst: pair.nodeFirst,
			nodeCpuMs: pair.node.cpuMs,
			floorCpuMs: pair.floor.cpuMs,
			floorPages: pair.floor.pages,
			items: pair.node.items,
		});
	}
	return results;
}

async function perform(task: Task): Promise<TaskResult> {
	switch (task.kind) {
		case 'throughputSide':
			throw new Error('A throughput side answers run by run (main), not with one result');
		case 'memory':
			return await memory(task.target, task.events, task.output, task.who);
		case 'firstEvent':
			return await firstEvent(task.target, task.events, task.pairs);
		case 'upload':
			return await upload(task.target, task.mode, task.sizeBytes);
		case 'getInfo':
			return await getInfo(task.target, task.calls, task.pairs);
		case 'concurrency':
			return await concurrency(task.target, task.items, task.runMs, task.concurrency, task.pairs);
		case 'reattach':
			return await reattach(task.target, task.pauseMs, task.pairs);
		case 'triggerPoll':
			return await triggerPoll(task.target, task.runs, task.pairs);
		case 'footprint':
			throw new Error('The footprint is measured by footprint.js, in a process that imports nothing else');
	}
}

async function main(): Promise<void> {
	const task = JSON.parse(process.argv[2] ?? '') as Task;
	try {
		if (task.kind === 'throughputSide') return await throughputSide(task.target, task.events, task.side);
		const result = await perform(task);
		const send = process.send?.bind(process);
		// Started by hand (no IPC channel), the worker prints its answer instead.
		if (!send) process.stdout.write(`${JSON.stringify(result)}\n`);
		else await new Promise<void>((resolve, reject) => send({ result }, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve())));
	} finally {
		await disposeEngine();
	}
}

main()
	.then(() => process.exit(0))
	.catch((error: unknown) => {
		process.stderr.write(`bench worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exit(1);
	});
