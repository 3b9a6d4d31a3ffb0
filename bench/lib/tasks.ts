import type { Target } from './raw';

/** What the runner asks one worker process to measure; each answer is plain JSON. */
export type Task =
	/**
	 * One side of figure 1 in a process of its own, run on request: the node and the floor
	 * share eventsource-parser's code, and in one process each would slow the other's callbacks.
	 */
	| { kind: 'throughputSide'; target: Target; events: number; side: 'node' | 'floor' }
	| { kind: 'memory'; target: Target; events: number; output: 'final' | 'events'; who: 'node' | 'floor' }
	| { kind: 'firstEvent'; target: Target; events: number; pairs: number }
	| { kind: 'upload'; target: Target; mode: 'node' | 'floor'; sizeBytes: number }
	| { kind: 'getInfo'; target: Target; calls: number; pairs: number }
	| { kind: 'footprint' }
	| { kind: 'concurrency'; target: Target; items: number; runMs: number; concurrency: number; pairs: number }
	| { kind: 'reattach'; target: Target; pauseMs: number; pairs: number }
	| { kind: 'triggerPoll'; target: Target; runs: number; pairs: number };

/** One node measurement and the floor measurement taken right next to it. */
export interface Pair {
	nodeMs: number;
	floorMs: number;
	/** Whether the node went first in this pair; the order alternates. */
	nodeFirst: boolean;
}

/**
 * What a figure 1 worker is asked to run: its side (`measured`), or, on the node's side, a part
 * of the node alone, to show where its time goes.
 */
export type SideVariant = 'measured' | 'transport' | 'aggregated' | 'noValidation';

/** One streaming run of one side of figure 1, as its worker measured it. */
export interface SideRun {
	/** Wall time of the run; for the node, the whole execution. */
	ms: number;
	/** The Dify node's own execution time as n8n recorded it (whole milliseconds); the floor's ms again. */
	ownMs: number;
	cpuMs: number;
	events: number;
	bytes: number;
}

export interface ThroughputPair extends Pair {
	/** The Dify node's own execution time as n8n recorded it (whole milliseconds); nodeMs is the whole execution's. */
	nodeOwnMs: number;
	/** Right after the pair, in the node's process: the transport reading the stream with the node's filter, no engine. */
	transportMs: number;
	/** The same plus the run's aggregation and its final frame parsed, still no engine. */
	aggregatedMs: number;
	/** The node in n8n's engine with Validate Inputs off (no GET /parameters first); own execution time. */
	noValidationOwnMs: number;
	/** CPU time of the measured process (all its threads) during each run. */
	nodeCpuMs: number;
	floorCpuMs: number;
	/** SSE events the floor counted (the node reads the same stream). */
	events: number;
	/** Body bytes of the floor's stream. */
	bytes: number;
}

export interface MemoryResult {
	events: number;
	output: 'final' | 'events';
	who: 'node' | 'floor';
	items: number;
	ms: number;
	/** After loading, a warm-up run and a full GC: what the process holds before the run. */
	rssBeforeBytes: number;
	heapBeforeBytes: number;
	/** The kernel's high-water mark for the whole process (warm-up included). */
	maxRssBytes: number;
	sampledRssBytes: number;
	sampledHeapBytes: number;
	/** Peak of memory outside the V8 heap: Buffers and other external allocations. */
	sampledExternalBytes: number;
	/** Heap after a full GC with the node's output still held by the engine's run data. */
	retainedHeapBytes: number;
}

export interface FirstEventPair extends Pair {
	/** From the start of the execution to the node's first parsed event. */
	nodeFirstEventMs: number;
	floorFirstEventMs: number;
}

export interface TriggerPollPair extends Pair {
	/** CPU time of the measured process: the poll, and the floor's paging. */
	nodeCpuMs: number;
	floorCpuMs: number;
	/** Log pages the floor read (the poll reads the same query). */
	floorPages: number;
	/** Items the poll returned (one per new run). */
	items: number;
}

export interface GetInfoPair extends Pair {
	/** The Dify node's own execution time as n8n recorded it (whole milliseconds). */
	nodeOwnMs: number;
	/** CPU time of the measured process (all its threads): the whole execution, and the floor. */
	nodeCpuMs: number;
	floorCpuMs: number;
	/** The floor again, keeping its answers as n8n items, as the node's output is kept. */
	floorKeepingMs: number;
	/** The floor again, with one long-lived AbortSignal handed to every request. */
	floorAbortSignalMs: number;
	/** The same calls through the node's DifyTransport alone, outside n8n's engine. */
	transportMs: number;
	/** One execution of the node with a single item: the engine's cost per execution. */
	oneItemMs: number;
}

export interface UploadResult {
	mode: 'node' | 'floor';
	bytes: number;
	ms: number;
	rssBeforeBytes: number;
	/** maxRSS just before the upload started (storing the file included) and after it ended. */
	maxRssBeforeBytes: number;
	maxRssAfterBytes: number;
	sampledRssBytes: number;
	sampledHeapBytes: number;
	sampledExternalBytes: number;
}

export interface ConcurrencyResult {
	concurrency: number;
	/** Events of one run of the `slow` scenario, and the delay before each that makes a run last runMs. */
	events: number;
	delayMs: number;
	/** One run alone through the floor: what "a run of 200 ms" came to. */
	singleRunMs: number[];
	pairs: Pair[];
}

/**
 * One round of figure 7: a run whose stream the stand-in cuts while the run goes on (`cut`), and
 * an uncut run of the same length (`slow`, its pause spread over its events), each through the
 * node and through the floor. The node re-attaches by itself; the floor does what it does.
 */
export interface ReattachPair extends Pair {
	/** From the moment the reader saw its stream break to the first event of the re-attached one. */
	nodeGapMs: number;
	floorGapMs: number;
	/** The uncut run of the same length, whole: the node's execution and the floor's stream. */
	nodeUncutMs: number;
	floorUncutMs: number;
}

export interface ReattachResult {
	/** The cut run's pause after the cut, and the delay before each event of its uncut twin. */
	pauseMs: number;
	events: number;
	delayMs: number;
	pairs: ReattachPair[];
}

/** RSS in MB after each layer of modules is loaded, in order. */
export type Footprint = Array<[string, number]>;

/** The run operation offers no Concurrency option: levels above 1 wait for it. */
export interface Unavailable {
	unavailable: true;
}

export type TaskResult = Footprint | GetInfoPair[] | TriggerPollPair[] | ThroughputPair[] | MemoryResult | FirstEventPair[] | UploadResult | Pair[] | ConcurrencyResult | Unavailable | ReattachResult;
