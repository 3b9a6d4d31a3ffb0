import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import type { Machine } from './lib/machine';
import { canPin, describeMachine, LoadWatch } from './lib/machine';
import type { Target } from './lib/raw';
import { formatNumber, formatSpread, MB, pairwise, spread } from './lib/stats';
import type {
	ConcurrencyResult,
	FirstEventPair,
	Footprint,
	GetInfoPair,
	MemoryResult,
	ReattachResult,
	SideRun,
	SideVariant,
	Task,
	TaskResult,
	ThroughputPair,
	TriggerPollPair,
	UploadResult,
} from './lib/tasks';

/**
 * `npm run bench`: every figure of issue 5, each against a baseline measured in the same run,
 * printed as one table. Each measurement runs in a worker process of its own (worker.ts), next
 * to a Dify stand-in in another process (standin-host.ts); with two or more CPUs the two are
 * pinned to different CPUs, so the server's work never competes with the measured process.
 *
 *   node .build/bench/run.js [--only=1,4] [--markdown] [--json=FILE]
 *   node .build/bench/run.js --report=FILE [--markdown]     prints a saved run again
 */

const STREAM_EVENTS = 200_000;
const THROUGHPUT_PAIRS = 80;
const MEMORY_SMALL = 10_000;
const MEMORY_LARGE = 1_000_000;
const MEMORY_REPEATS = 3;
const EVENTS_MODE_EVENTS = 100_000;
const EVENTS_MODE_REPEATS = 3;
const FIRST_EVENT_EVENTS = 10_000;
const FIRST_EVENT_PAIRS = 12;
const UPLOAD_BYTES = 1024 ** 3;
const UPLOAD_PAIRS = 3;
const GET_INFO_CALLS = 1_000;
const GET_INFO_PAIRS = 40;
const SLOW_ITEMS = 50;
const SLOW_RUN_MS = 200;
const SLOW_PAIRS = 3;
const REATTACH_PAUSE_MS = 200;
const REATTACH_PAIRS = 12;
const TRIGGER_RUNS = 1_000;
const TRIGGER_PAIRS = 8;
/** A worker that takes longer than this is stopped and the figure reported as failed. */
const TASK_LIMIT_MS = 5 * 60_000;

interface Options {
	only?: Set<number>;
	markdown: boolean;
	/** Where to write the run, every raw measurement included, as JSON. */
	json?: string;
	/** A run saved with --json, printed again instead of measuring. */
	report?: string;
}

function parseOptions(argv: string[]): Options {
	const options: Options = { markdown: false };
	for (const arg of argv) {
		if (arg === '--markdown') options.markdown = true;
		else if (arg.startsWith('--only=')) options.only = new Set(arg.slice(7).split(',').map(Number));
		else if (arg.startsWith('--json=')) options.json = arg.slice(7);
		else if (arg.startsWith('--report=')) options.report = arg.slice(9);
		else throw new Error(`Unknown option ${arg} (known: --only=1,2,… --markdown --json=FILE --report=FILE)`);
	}
	return options;
}

// --- processes --------------------------------------------------------------------------------

interface Placement {
	/** Prefix that pins a command to a CPU, or nothing when pinning is not possible. */
	server: string[];
	worker: string[];
	description: string;
}

function placement(cpus: number): Placement {
	if (cpus >= 2 && canPin()) {
		const last = String(cpus - 1);
		return {
			server: ['taskset', '-c', last],
			worker: ['taskset', '-c', '0'],
			description: `stand-in pinned to CPU ${last}, measured process to CPU 0 (taskset)`,
		};
	}
	return { server: [], worker: [], description: 'not pinned (needs taskset and two CPUs)' };
}

/** The environment of every child: no proxy, so that nothing but 127.0.0.1 is ever contacted. */
function childEnvironment(): NodeJS.ProcessEnv {
	const env = { ...process.env };
	for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy']) delete env[name];
	env.NO_PROXY = '127.0.0.1,localhost';
	return env;
}

function start(prefix: string[], nodeArgs: string[]): ChildProcess {
	const command = [...prefix, process.execPath, ...nodeArgs];
	return spawn(command[0], command.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: childEnvironment() });
}

function exited(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => child.once('exit', () => resolve()));
}

interface Standin {
	target: Target;
	stop(): Promise<void>;
}

async function startStandin(where: Placement, hostArgs: string[] = []): Promise<Standin> {
	// A larger young generation keeps the server's own GC pauses out of the streams it serves.
	const child = start(where.server, ['--max-semi-space-size=64', join(__dirname, 'standin-host.js'), ...hostArgs]);
	const target = await new Promise<Target>((resolve, reject) => {
		child.once('message', (message) => resolve(message as Target));
		child.once('exit', (code) => reject(new Error(`The stand-in exited (${code}) before it listened`)));
	});
	return {
		target,
		async stop() {
			if (child.connected) child.disconnect();
			const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
			await exited(child);
			clearTimeout(timer);
		},
	};
}

/** Every worker's answer also lands here, so that --json can keep the raw measurements. */
let recorded: Report['raw'] = {};

async function runTask<T extends TaskResult>(where: Placement, task: Task): Promise<T> {
	const script = task.kind === 'footprint' ? 'footprint.js' : 'worker.js';
	const child = start(where.worker, ['--expose-gc', join(__dirname, script), JSON.stringify(task)]);
	let result: T | undefined;
	child.on('message', (message) => {
		result = (message as { result: T }).result;
	});
	const timer = setTimeout(() => child.kill('SIGKILL'), TASK_LIMIT_MS);
	await exited(child);
	clearTimeout(timer);
	if (result === undefined) {
		throw new Error(`The ${task.kind} worker ended without a result (exit ${child.exitCode ?? child.signalCode})`);
	}
	(recorded[task.kind] ??= []).push(result);
	return result;
}

// --- the table --------------------------------------------------------------------------------

/** A target of issue 5, judged on the median of the node's values or of the pairwise comparisons. */
interface Goal {
	text: string;
	on: 'node' | 'compare';
	atLeast?: number;
	atMost?: number;
	below?: number;
}

interface Row {
	figure: number;
	measure: string;
	unit: string;
	node: number[];
	baseline?: number[];
	baselineName?: string;
	/** Pair by pair: node ÷ baseline, or node − baseline. */
	compare?: { kind: 'ratio' | 'difference'; values: number[] };
	goal?: Goal;
}

interface Report {
	rows: Row[];
	notes: string[];
	/** Every worker's answer, by task kind, in the order measured. */
	raw: Record<string, TaskResult[]>;
}

/** A row whose node and baseline values pair up one to one, compared pair by pair (node ÷ or − baseline). */
function pairedRow(
	figure: number,
	measure: string,
	unit: string,
	node: number[],
	baseline: number[],
	kind: 'ratio' | 'difference' = 'ratio',
): Row {
	const combine = kind === 'ratio' ? (n: number, b: number) => n / b : (n: number, b: number) => n - b;
	return { figure, measure, unit, node, baseline, compare: { kind, values: pairwise(node, baseline, combine) } };
}

function judged(row: Row): boolean | undefined {
	const goal = row.goal;
	if (!goal) return undefined;
	const median = spread(goal.on === 'node' ? row.node : (row.compare?.values ?? [])).median;
	return (
		(goal.atLeast === undefined || median >= goal.atLeast) &&
		(goal.atMost === undefined || median <= goal.atMost) &&
		(goal.below === undefined || median < goal.below)
	);
}

function compareText(row: Row): string {
	if (!row.compare) return '';
	const s = spread(row.compare.values);
	if (row.compare.kind === 'ratio') return `${formatSpread(s)} ×`;
	return `${formatSpread(s)} ${row.unit}`;
}

function rowCells(row: Row): string[] {
	const met = judged(row);
	return [
		String(row.figure),
		row.measure,
		`${formatSpread(spread(row.node))} ${row.unit}`,
		row.baseline ? `${formatSpread(spread(row.baseline))} ${row.unit}${row.baselineName ? ` (${row.baselineName})` : ''}` : '',
		compareText(row),
		row.goal ? `${row.goal.text} ${met ? 'MET' : 'MISSED'}` : '',
	];
}

const HEADER = ['#', 'measure', 'node: min / median / max', 'baseline: min / median / max', 'node vs baseline, pair by pair', 'target (on medians)'];

function printTable(rows: Row[], markdown: boolean): void {
	const cells = rows.map(rowCells);
	if (markdown) {
		const escape = (text: string) => text.replace(/\|/g, '\\|');
		process.stdout.write(`| ${HEADER.join(' | ')} |\n|${HEADER.map(() => '---').join('|')}|\n`);
		for (const line of cells) process.stdout.write(`| ${line.map(escape).join(' | ')} |\n`);
		return;
	}
	const widths = HEADER.map((title, i) => Math.max(title.length, ...cells.map((line) => line[i].length)));
	const format = (line: string[]) => line.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
	process.stdout.write(`${format(HEADER)}\n${format(widths.map((w) => '-'.repeat(w)))}\n`);
	let figure = 0;
	for (const [i, line] of cells.entries()) {
		if (rows[i].figure !== figure && figure !== 0) process.stdout.write('\n');
		figure = rows[i].figure;
		process.stdout.write(`${format(line)}\n`);
	}
}

// --- the figures ------------------------------------------------------------------------------

const mb = (bytes: number) => bytes / MB;

/** A worker that measures one side of a comparison whenever asked (worker.ts, throughputSide). */
interface Side {
	run(variant?: SideVariant): Promise<SideRun>;
	stop(): Promise<void>;
}

async function startSide(where: Placement, task: Task): Promise<Side> {
	const child = start(where.worker, ['--expose-gc', join(__dirname, 'worker.js'), JSON.stringify(task)]);
	const replies: Array<(message: unknown) => void> = [];
	child.on('message', (message) => replies.shift()?.(message));
	const failed = new Promise<never>((_, reject) => {
		child.once('exit', (code) => reject(new Error(`The ${task.kind} worker exited (${code ?? child.signalCode})`)));
	});
	failed.catch(() => {});
	const next = () => Promise.race([new Promise<unknown>((resolve) => replies.push(resolve)), failed]);
	await next();
	return {
		async run(variant: SideVariant = 'measured') {
			const reply = next();
			child.send({ run: variant });
			return ((await reply) as { run: SideRun }).run;
		},
		async stop() {
			if (child.connected) child.disconnect();
			const timer = setTimeout(() => child.kill('SIGKILL'), TASK_LIMIT_MS);
			await exited(child);
			clearTimeout(timer);
		},
	};
}

async function streamingThroughput(where: Placement, report: Report): Promise<void> {
	const standin = await startStandin(where);
	const pairs: ThroughputPair[] = [];
	try {
		// Each side in its own process, as the node runs in n8n: alone. They take turns, never overlap.
		const task = { kind: 'throughputSide', target: standin.target, events: STREAM_EVENTS } as const;
		const node = await startSide(where, { ...task, side: 'node' });
		const floor = await startSide(where, { ...task, side: 'floor' });
		try {
			for (let i = 0; i < THROUGHPUT_PAIRS; i++) {
				const nodeFirst = i % 2 === 0;
				const first = await (nodeFirst ? node : floor).run();
				const second = await (nodeFirst ? floor : node).run();
				const [n, f] = nodeFirst ? [first, second] : [second, first];
				pairs.push({
					nodeMs: n.ms,
					nodeOwnMs: n.ownMs,
					transportMs: (await node.run('transport')).ms,
					aggregatedMs: (await node.run('aggregated')).ms,
					noValidationOwnMs: (await node.run('noValidation')).ownMs,
					floorMs: f.ms,
					nodeCpuMs: n.cpuMs,
					floorCpuMs: f.cpuMs,
					nodeFirst,
					events: f.events,
					bytes: f.bytes,
				});
			}
		} finally {
			await Promise.all([node.stop(), floor.stop()]);
		}
		(recorded.throughput ??= []).push(pairs);
		const rate = (count: number, ms: number) => count / (ms / 1000);
		const floorEvents = pairs.map((p) => rate(p.events, p.floorMs));
		const eventsRow = (measure: string, ms: (p: ThroughputPair) => number, goal?: Goal): Row => ({
			...pairedRow(1, measure, 'events/s', pairs.map((p) => rate(p.events, ms(p))), floorEvents),
			goal,
		});
		report.rows.push({
			...eventsRow(
				`${formatNumber(STREAM_EVENTS)} text_chunk events, final: the node's transport, parsing and aggregation`,
				(p) => p.aggregatedMs,
				{ text: '≥ 0.9×', on: 'compare', atLeast: 0.9 },
			),
			baselineName: 'undici + eventsource-parser',
		});
		report.rows.push(
			pairedRow(
				1,
				'same, as body bytes',
				'MB/s',
				pairs.map((p) => mb(rate(p.bytes, p.aggregatedMs))),
				pairs.map((p) => mb(rate(p.bytes, p.floorMs))),
			),
		);
		report.rows.push(eventsRow('the transport alone: text chunks dropped unread, nothing aggregated', (p) => p.transportMs));
		report.rows.push(
			eventsRow("the whole Dify node in n8n's engine, default options (Validate Inputs asks GET /parameters first)", (p) => p.nodeOwnMs),
		);
		report.rows.push(eventsRow('… the same with Validate Inputs off', (p) => p.noValidationOwnMs));
		report.rows.push(eventsRow('… default options, the whole execution (workflow set-up and source node included)', (p) => p.nodeMs));
		const perThousand = (cpuMs: number, count: number) => (cpuMs / count) * 1000;
		report.rows.push({
			...pairedRow(
				1,
				'CPU time of the measured process per 1,000 events (whole execution, default options)',
				'ms',
				pairs.map((p) => perThousand(p.nodeCpuMs, p.events)),
				pairs.map((p) => perThousand(p.floorCpuMs, p.events)),
			),
			goal: { text: '≤ 1.1×', on: 'compare', atMost: 1.1 },
		});
		report.notes.push(
			`1: ${pairs.length} pairs; each stream is ${formatNumber(mb(pairs[0].bytes))} MB, ${formatNumber(pairs[0].events)} SSE events; ` +
				'node and floor each in a worker process of its own, taking turns; the transport-only, aggregation and Validate Inputs off runs are taken in the node\'s process right after each pair.',
		);
	} finally {
		await standin.stop();
	}
}

async function finalModeMemory(where: Placement, report: Report): Promise<void> {
	const standin = await startStandin(where);
	const runs: Record<string, MemoryResult[]> = { nodeSmall: [], nodeLarge: [], floorSmall: [], floorLarge: [] };
	try {
		for (let i = 0; i < MEMORY_REPEATS; i++) {
			for (const who of ['node', 'floor'] as const) {
				for (const [size, events] of [['Small', MEMORY_SMALL], ['Large', MEMORY_LARGE]] as const) {
					runs[`${who}${size}`].push(
						await runTask<MemoryResult>(where, { kind: 'memory', target: standin.target, events, output: 'final', who }),
					);
				}
			}
		}
	} finally {
		await standin.stop();
	}
	const large = formatNumber(MEMORY_LARGE);
	const small = formatNumber(MEMORY_SMALL);
	const pick = (list: MemoryResult[], key: keyof MemoryResult) => list.map((r) => mb(r[key] as number));
	const within30: Goal = { text: '≤ 30 MB apart', on: 'compare', atMost: 30 };
	const rows: Array<[string, keyof MemoryResult, string, boolean]> = [
		['peak RSS (maxRSS)', 'maxRssBytes', 'node', true],
		['peak heap used (sampled)', 'sampledHeapBytes', 'node', true],
		['peak RSS (sampled during the run)', 'sampledRssBytes', 'node', false],
		['peak RSS (maxRSS)', 'maxRssBytes', 'floor', false],
		['peak heap used (sampled)', 'sampledHeapBytes', 'floor', false],
	];
	for (const [measure, key, who, targeted] of rows) {
		report.rows.push({
			...pairedRow(
				2,
				`${who === 'floor' ? 'floor (undici + parser): ' : 'final mode: '}${measure}, ${large} events`,
				'MB',
				pick(runs[`${who}Large`], key),
				pick(runs[`${who}Small`], key),
				'difference',
			),
			baselineName: `${small} events`,
			goal: targeted ? within30 : undefined,
		});
	}
	const before = spread(pick(runs.nodeLarge, 'rssBeforeBytes'));
	const retained = spread(pairwise(pick(runs.nodeLarge, 'retainedHeapBytes'), pick(runs.nodeLarge, 'heapBeforeBytes'), (a, b) => a - b));
	report.notes.push(
		`2: each run in a fresh process (${MEMORY_REPEATS} of each); RSS before the run ${formatSpread(before)} MB (n8n-core and the engine loaded, one warm-up run); ` +
			`heap still held after the ${large}-event run (its output item) ${formatSpread(retained)} MB.`,
	);
}

async function eventsMode(where: Placement, report: Report): Promise<void> {
	const standin = await startStandin(where);
	const events: MemoryResult[] = [];
	const final: MemoryResult[] = [];
	let first: FirstEventPair[];
	try {
		for (let i = 0; i < EVENTS_MODE_REPEATS; i++) {
			const task = { kind: 'memory', target: standin.target, events: EVENTS_MODE_EVENTS, who: 'node' } as const;
			events.push(await runTask<MemoryResult>(where, { ...task, output: 'events' }));
			final.push(await runTask<MemoryResult>(where, { ...task, output: 'final' }));
		}
		first = await runTask<FirstEventPair[]>(where, {
			kind: 'firstEvent',
			target: standin.target,
			events: FIRST_EVENT_EVENTS,
			pairs: FIRST_EVENT_PAIRS,
		});
	} finally {
		await standin.stop();
	}
	const count = formatNumber(EVENTS_MODE_EVENTS);
	const perItem = (r: MemoryResult, key: 'retainedHeapBytes' | 'sampledHeapBytes') => (r[key] - r.heapBeforeBytes) / r.items;
	report.rows.push({
		figure: 3,
		measure: `events mode, ${count} events: heap held per output item (after GC)`,
		unit: 'B',
		node: events.map((r) => perItem(r, 'retainedHeapBytes')),
		baseline: final.map((r) => (r.retainedHeapBytes - r.heapBeforeBytes) / r.events),
		baselineName: 'final mode, per event',
	});
	for (const [what, key] of [
		['peak heap used', 'sampledHeapBytes'],
		['peak RSS (maxRSS)', 'maxRssBytes'],
	] as const) {
		report.rows.push({
			...pairedRow(
				3,
				`events mode, ${count} events: ${what}`,
				'MB',
				events.map((r) => mb(r[key])),
				final.map((r) => mb(r[key])),
				'difference',
			),
			baselineName: 'final mode',
		});
	}
	const tenK = formatNumber(FIRST_EVENT_EVENTS);
	report.rows.push({
		...pairedRow(
			3,
			`events mode, ${tenK} events: first event parsed by the node`,
			'ms',
			first.map((p) => p.nodeFirstEventMs),
			first.map((p) => p.floorFirstEventMs),
			'difference',
		),
		baselineName: 'first event, undici + parser',
	});
	report.rows.push({
		...pairedRow(
			3,
			`events mode, ${tenK} events: first item reaches n8n (node returns)`,
			'ms',
			first.map((p) => p.nodeMs),
			first.map((p) => p.floorMs),
		),
		baselineName: 'whole stream, undici + parser',
	});
	report.notes.push(
		`3: memory runs in fresh processes (${EVENTS_MODE_REPEATS} of each mode); times from the start of the execution, ${first.length} pairs.`,
	);
}

async function upload(where: Placement, report: Report): Promise<void> {
	const standin = await startStandin(where);
	const node: UploadResult[] = [];
	const floor: UploadResult[] = [];
	try {
		for (let i = 0; i < UPLOAD_PAIRS; i++) {
			const order = i % 2 === 0 ? (['node', 'floor'] as const) : (['floor', 'node'] as const);
			for (const mode of order) {
				const result = await runTask<UploadResult>(where, { kind: 'upload', target: standin.target, mode, sizeBytes: UPLOAD_BYTES });
				(mode === 'node' ? node : floor).push(result);
			}
		}
	} finally {
		await standin.stop();
	}
	const rate = (r: UploadResult) => mb(r.bytes) / (r.ms / 1000);
	const size = `${UPLOAD_BYTES / 1024 ** 3} GiB`;
	report.rows.push({
		...pairedRow(4, `upload of a ${size} binary (filesystem mode)`, 'MB/s', node.map(rate), floor.map(rate)),
		baselineName: 'undici, file streamed from disk',
	});
	report.rows.push({
		...pairedRow(
			4,
			'peak RSS during the upload (sampled)',
			'MB',
			node.map((r) => mb(r.sampledRssBytes)),
			floor.map((r) => mb(r.sampledRssBytes)),
			'difference',
		),
		goal: { text: '< 150 MB', on: 'node', below: 150 },
	});
	report.rows.push({
		figure: 4,
		measure: 'RSS growth during the upload (peak − before)',
		unit: 'MB',
		node: node.map((r) => mb(r.sampledRssBytes - r.rssBeforeBytes)),
		baseline: floor.map((r) => mb(r.sampledRssBytes - r.rssBeforeBytes)),
	});
	report.rows.push({
		figure: 4,
		measure: 'peak external memory (Buffers) during the upload',
		unit: 'MB',
		node: node.map((r) => mb(r.sampledExternalBytes)),
		baseline: floor.map((r) => mb(r.sampledExternalBytes)),
	});
	report.rows.push({
		figure: 4,
		measure: 'process maxRSS, storing the file included',
		unit: 'MB',
		node: node.map((r) => mb(r.maxRssAfterBytes)),
		baseline: floor.map((r) => mb(r.maxRssAfterBytes)),
	});
	const footprint = await runTask<Footprint>(where, { kind: 'footprint' });
	report.notes.push(
		`4: RSS of a fresh process as modules load: ${footprint.map(([label, rss]) => `${label} ${formatNumber(rss)} MB`).join(', ')}.`,
	);
	const raised = node.filter((r) => r.maxRssAfterBytes > r.maxRssBeforeBytes).length;
	report.notes.push(
		`4: each upload in a fresh process (${UPLOAD_PAIRS} of each, alternating); RSS before the upload ${formatSpread(spread(node.map((r) => mb(r.rssBeforeBytes))))} MB; ` +
			`the node's upload raised the process's maxRSS in ${raised} of ${node.length} runs (storing the file had set it).`,
	);
}

async function getInfo(where: Placement, report: Report): Promise<void> {
	const standin = await startStandin(where);
	try {
		const pairs = await runTask<GetInfoPair[]>(where, { kind: 'getInfo', target: standin.target, calls: GET_INFO_CALLS, pairs: GET_INFO_PAIRS });
		const calls = formatNumber(GET_INFO_CALLS);
		const floor = pairs.map((p) => p.floorMs);
		const row = (measure: string, node: (p: GetInfoPair) => number, baseline = floor) =>
			pairedRow(5, measure, 'ms', pairs.map(node), baseline);
		report.rows.push({
			...row(`${calls} sequential Get Info calls: the Dify node's execution time (n8n's)`, (p) => p.nodeOwnMs),
			baselineName: 'undici, same keep-alive agent settings',
			goal: { text: '≤ 1.1×', on: 'compare', atMost: 1.1 },
		});
		report.rows.push(row(`same, whole execution (workflow set-up and the ${calls}-item source node included)`, (p) => p.nodeMs));
		report.rows.push(
			row('same, CPU time of the measured process (whole execution)', (p) => p.nodeCpuMs, pairs.map((p) => p.floorCpuMs)),
		);
		report.rows.push(row(`undici again, keeping the ${calls} answers as items (as a node's output is kept)`, (p) => p.floorKeepingMs));
		report.rows.push(
			row('undici again, one long-lived AbortSignal on every call (what transport/cancelRelay.ts avoids)', (p) => p.floorAbortSignalMs),
		);
		report.rows.push(row(`same ${calls} calls through DifyTransport alone, no engine`, (p) => p.transportMs));
		report.rows.push({
			figure: 5,
			measure: 'one execution with one item (the engine\'s fixed cost, one call)',
			unit: 'ms',
			node: pairs.map((p) => p.oneItemMs),
		});
		report.notes.push(`5: ${pairs.length} pairs; the context rows are measured right after each pair.`);
	} finally {
		await standin.stop();
	}
}

async function concurrency(where: Placement, report: Report): Promise<void> {
	const standin = await startStandin(where);
	const results: ConcurrencyResult[] = [];
	try {
		for (const level of [1, 10]) {
			const result = await runTask<ConcurrencyResult | { unavailable: true }>(where, {
				kind: 'concurrency',
				target: standin.target,
				items: SLOW_ITEMS,
				runMs: SLOW_RUN_MS,
				concurrency: level,
				pairs: SLOW_PAIRS,
			});
			if ('unavailable' in result) {
				report.notes.push(`6: concurrency ${level} pending: the Run operation has no Concurrency option yet.`);
				continue;
			}
			results.push(result);
		}
	} finally {
		await standin.stop();
	}
	for (const result of results) {
		report.rows.push({
			...pairedRow(
				6,
				`${SLOW_ITEMS} items, runs of ~${SLOW_RUN_MS} ms, concurrency ${result.concurrency}`,
				's',
				result.pairs.map((p) => p.nodeMs / 1000),
				result.pairs.map((p) => p.floorMs / 1000),
			),
			baselineName: `undici + parser, ${result.concurrency} at a time`,
		});
	}
	if (results.length > 0) {
		report.notes.push(
			`6: one run alone took ${formatSpread(spread(results[0].singleRunMs))} ms (scenario slow, delay_ms ${formatNumber(results[0].delayMs)} before each of its ${results[0].events} events); ${SLOW_PAIRS} pairs per level.`,
		);
	}
}

async function reattach(where: Placement, report: Report): Promise<void> {
	const standin = await startStandin(where, ['--keep-runs']);
	let result: ReattachResult;
	try {
		result = await runTask<ReattachResult>(where, { kind: 'reattach', target: standin.target, pauseMs: REATTACH_PAUSE_MS, pairs: REATTACH_PAIRS });
	} finally {
		await standin.stop();
	}
	const pairs = result.pairs;
	report.rows.push({
		...pairedRow(
			7,
			'stream cut mid-run, the run goes on: from the break to the first re-attached event',
			'ms',
			pairs.map((p) => p.nodeGapMs),
			pairs.map((p) => p.floorGapMs),
			'difference',
		),
		baselineName: 'undici + parser, GET /workflow/{id}/events at once',
	});
	report.rows.push({
		...pairedRow(7, '… the whole cut run, re-attached (whole execution)', 'ms', pairs.map((p) => p.nodeMs), pairs.map((p) => p.nodeUncutMs), 'difference'),
		baselineName: 'the node, uncut run of the same length',
	});
	report.rows.push({
		...pairedRow(7, '… the floor\'s cut run, re-attached', 'ms', pairs.map((p) => p.floorMs), pairs.map((p) => p.floorUncutMs), 'difference'),
		baselineName: 'the floor, uncut run of the same length',
	});
	report.rows.push({
		...pairedRow(7, '… the whole cut run: the node against the floor', 'ms', pairs.map((p) => p.nodeMs), pairs.map((p) => p.floorMs), 'difference'),
		baselineName: 'undici + parser, re-attaching',
	});
	report.notes.push(
		`7: ${pairs.length} rounds; scenario cut (the stream is cut inside its 5th event, then the run pauses ${formatNumber(result.pauseMs)} ms and finishes), ` +
			`its uncut twin scenario slow (the same ${result.events} events, ${formatNumber(result.delayMs)} ms before each); final output, default options; the stand-in keeps its runs.`,
	);
}

async function triggerPoll(where: Placement, report: Report): Promise<void> {
	// The runs must stay: the poll and the floor read them after they were made.
	const standin = await startStandin(where, ['--keep-runs']);
	let pairs: TriggerPollPair[];
	try {
		pairs = await runTask<TriggerPollPair[]>(where, { kind: 'triggerPoll', target: standin.target, runs: TRIGGER_RUNS, pairs: TRIGGER_PAIRS });
	} finally {
		await standin.stop();
	}
	const runs = formatNumber(TRIGGER_RUNS);
	report.rows.push({
		...pairedRow(8, `one poll over ${runs} new runs (Run Started): the trigger's poll() in n8n's PollContext`, 'ms', pairs.map((p) => p.nodeMs), pairs.map((p) => p.floorMs)),
		baselineName: 'undici, paging the same logs (100 a page)',
	});
	report.rows.push(
		pairedRow(8, 'same, CPU time of the measured process', 'ms', pairs.map((p) => p.nodeCpuMs), pairs.map((p) => p.floorCpuMs)),
	);
	report.notes.push(
		`8: ${pairs.length} pairs, each from a fresh activation followed by ${runs} runs made as Dify's web app would (the stand-in's /_standin/runs); ` +
			`${formatSpread(spread(pairs.map((p) => p.floorPages)))} pages of logs per poll; the poll returned ${formatNumber(pairs[0]?.items ?? 0)} items; the stand-in keeps every run, so its own work per page grows from pair to pair, alike for both sides.`,
	);
}

// --- main -------------------------------------------------------------------------------------

const FIGURES: Array<[number, string, (where: Placement, report: Report) => Promise<void>]> = [
	[1, 'streaming throughput', streamingThroughput],
	[2, 'final-mode memory', finalModeMemory],
	[3, 'events mode', eventsMode],
	[4, '1 GiB upload', upload],
	[5, 'Get Info overhead', getInfo],
	[6, 'slow runs, concurrency', concurrency],
	[7, 're-attach', reattach],
	[8, 'trigger poll over 1,000 new runs', triggerPoll],
];

function describe(machine: Machine, placed: string): string {
	const packages = Object.entries(machine.packages)
		.map(([name, version]) => `${name} ${version}`)
		.join(', ');
	return (
		`Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB RAM, Linux ${machine.kernel}\n` +
		`Node.js ${machine.node}; ${packages}\n` +
		`Placement: ${placed}\n`
	);
}

/** Everything one run measured, as --json writes it and --report reads it back. */
interface SavedRun {
	machine: Machine;
	placement: string;
	seconds: number;
	load?: { othersCpu: number; stealCpu: number };
	rows: Row[];
	notes: string[];
	failures: string[];
	raw: Report['raw'];
}

function printRun(run: SavedRun, markdown: boolean): void {
	process.stdout.write('\n');
	printTable(run.rows, markdown);
	process.stdout.write('\n');
	for (const note of run.notes) process.stdout.write(`${note}\n`);
	const load = run.load;
	process.stdout.write(
		`\nWhole bench: ${run.seconds.toFixed(0)} s.` +
			(load
				? ` Other processes used ${(load.othersCpu * 100).toFixed(0)}% of one CPU on average meanwhile (steal ${(load.stealCpu * 100).toFixed(0)}%).\n`
				: '\n'),
	);
	for (const failure of run.failures) process.stdout.write(`FAILED: figure ${failure}\n`);
	const missed = run.rows.filter((row) => judged(row) === false).length;
	if (missed > 0) process.stdout.write(`${missed} target(s) missed.\n`);
}

async function measureAll(options: Options, machine: Machine, where: Placement): Promise<SavedRun> {
	const load = new LoadWatch();
	const began = performance.now();
	const report: Report = { rows: [], notes: [], raw: {} };
	recorded = report.raw;
	const failures: string[] = [];
	for (const [figure, name, measure] of FIGURES) {
		if (options.only && !options.only.has(figure)) continue;
		const started = performance.now();
		process.stderr.write(`bench: figure ${figure}, ${name}…`);
		try {
			await measure(where, report);
			process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
		} catch (error) {
			process.stderr.write(' failed\n');
			failures.push(`${figure} (${name}): ${error instanceof Error ? error.message : String(error)}`);
		}
	}
	return {
		machine,
		placement: where.description,
		seconds: (performance.now() - began) / 1000,
		load: load.finish(),
		rows: report.rows,
		notes: report.notes,
		failures,
		raw: report.raw,
	};
}

async function main(): Promise<void> {
	const options = parseOptions(process.argv.slice(2));
	if (options.report) {
		const saved = JSON.parse(readFileSync(options.report, 'utf8')) as SavedRun;
		process.stdout.write(describe(saved.machine, saved.placement));
		printRun(saved, options.markdown);
		return;
	}
	const machine = describeMachine(join(__dirname, '..', '..'));
	const where = placement(machine.cpus);
	process.stdout.write(describe(machine, where.description));
	const run = await measureAll(options, machine, where);
	printRun(run, options.markdown);
	if (options.json) writeFileSync(options.json, `${JSON.stringify(run, null, 1)}\n`);
	if (run.failures.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
	process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});

