#!/usr/bin/env node
// What users do today against this node, side by side, in a real n8n: the same Dify run through
// n8n's HTTP Request node (the whole SSE body as text, then a Code node that splits it; or the
// blocking JSON) and through the Dify Workflow node. Time, peak memory of n8n's processes (its
// task runner included) and whether the result is right. See docs/benchmarks.md.
//
//   npm run bench:side-by-side                         10,000 and 200,000 events, 3 runs of each
//   npm run bench:side-by-side -- --events=10000 --repeats=1
//
// Needs the packed package (npm run pack:local, done by the npm script) and n8n 2.x installed
// (node scripts/n8n/install.mjs 2). Every run boots n8n (`n8n execute`): hold /tmp/e2e.lock
// when other n8n runs share the machine.
import { cpus, loadavg, totalmem } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { createUserFolder, executeWorkflow, importCredentials, importWorkflows, installCommunityPackage, n8nInstall } from '../../scripts/n8n/runner.mjs';
import { packedTarball } from '../../scripts/n8n/tarball.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';
import { sampleTreeMemory } from './tree-memory.mjs';
import { CODE_NODE, DIFY_NODE, HTTP_NODE, httpWorkflow, nodeWorkflow } from './workflows.mjs';

const require = createRequire(import.meta.url);
const started = Date.now();
const log = (message) => process.stderr.write(`[side-by-side ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);

function argument(name, fallback) {
	const prefix = `--${name}=`;
	const found = process.argv.slice(2).find((arg) => arg.startsWith(prefix));
	return found ? found.slice(prefix.length) : fallback;
}

const MODES = ['streaming', 'blocking'];
const SIDES = ['http', 'node'];
const SIDE_NAMES = { http: 'HTTP Request (+ Code node)', node: 'Dify Workflow node' };

function expectedAnswer(count) {
	const parts = [];
	for (let n = 1; n <= count; n++) parts.push(`tok-${n} `);
	return parts.join('');
}

/** Whether a run's output is the run's true result; a sentence saying what is wrong otherwise. */
function check(side, mode, execution, events, answer) {
	const runData = execution?.data?.resultData?.runData ?? {};
	const last = side === 'node' ? DIFY_NODE : mode === 'streaming' ? CODE_NODE : HTTP_NODE;
	const run = runData[last]?.[0];
	if (!run) return `${last} did not run`;
	if (run.error) return `${last} failed: ${run.error.message}`;
	const items = run.data?.main?.[0] ?? [];
	if (items.length !== 1) return `${items.length} items instead of 1`;
	const json = side === 'http' && mode === 'blocking' ? items[0].json.data : items[0].json;
	const wrong = [];
	if (json?.status !== 'succeeded') wrong.push(`status ${json?.status}`);
	if (json?.outputs?.answer !== answer) wrong.push('outputs.answer differs');
	if (json?.total_tokens !== events) wrong.push(`total_tokens ${json?.total_tokens}`);
	if (side === 'http' && mode === 'streaming') {
		if (json.text_chunks !== events) wrong.push(`${json.text_chunks} text chunks`);
		if (json.text !== answer) wrong.push('streamed text differs');
	}
	return wrong.length === 0 ? true : wrong.join(', ');
}

/** n8n's own record of the time its nodes took (executionTime, whole ms), trigger left out. */
function nodesMs(execution, side, mode) {
	const runData = execution?.data?.resultData?.runData ?? {};
	const names = side === 'node' ? [DIFY_NODE] : mode === 'streaming' ? [HTTP_NODE, CODE_NODE] : [HTTP_NODE];
	return names.reduce((sum, name) => sum + (runData[name]?.[0]?.executionTime ?? NaN), 0);
}

async function measure(ctx, id, side, mode, events, answer) {
	let sampler;
	const result = await executeWorkflow(ctx, id, {
		timeoutMs: 900_000,
		stdoutFile: join(ctx.userFolder, 'execute-stdout.json'),
		onSpawn: (child) => (sampler = sampleTreeMemory(child.pid)),
	});
	const memory = await sampler.stop();
	const execution = result.json;
	const ok = execution ? check(side, mode, execution, events, answer) : `no execution printed (exit ${result.exitCode})`;
	const executionMs =
		execution?.startedAt && execution?.stoppedAt ? new Date(execution.stoppedAt) - new Date(execution.startedAt) : NaN;
	return {
		side,
		mode,
		events,
		nodesMs: nodesMs(execution, side, mode),
		executionMs,
		wallMs: result.durationMs,
		peakTreeRssBytes: memory.peakTreeRssBytes,
		peakHwmBytes: memory.peakHwmBytes,
		samples: memory.samples,
		processes: memory.processes,
		ok,
		stdoutBytes: Buffer.byteLength(result.stdout),
	};
}

function stats(values) {
	const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
	if (sorted.length === 0) return 'n/a';
	const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
	return [sorted[0], median, sorted.at(-1)];
}

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const triple = (values, scale, digits) => {
	const s = stats(values);
	return s === 'n/a' ? s : s.map((v) => fmt(v / scale, digits)).join(' / ');
};

function table(results) {
	const rows = [
		'| events | mode | side | correct | nodes’ time (n8n’s executionTime), ms | execution (startedAt→stoppedAt), ms | `n8n execute` wall, boot included, s | peak RSS of n8n + task runner (sampled sum), MB | sum of per-process peaks (VmHWM), MB |',
		'|---|---|---|---|---|---|---|---|---|',
	];
	const groups = new Map();
	for (const r of results) {
		const key = `${r.events}|${r.mode}|${r.side}`;
		if (!groups.has(key)) groups.set(key, []);
		groups.get(key).push(r);
	}
	for (const runs of groups.values()) {
		const { events, mode, side } = runs[0];
		const correct = runs.filter((r) => r.ok === true).length;
		const wrong = [...new Set(runs.filter((r) => r.ok !== true).map((r) => r.ok))];
		rows.push(
			`| ${fmt(events)} | ${mode} | ${SIDE_NAMES[side]} | ${correct}/${runs.length}${wrong.length ? ` (${wrong.join('; ')})` : ''} | ` +
				`${triple(runs.map((r) => r.nodesMs), 1, 0)} | ${triple(runs.map((r) => r.executionMs), 1, 0)} | ` +
				`${triple(runs.map((r) => r.wallMs), 1000, 1)} | ${triple(runs.map((r) => r.peakTreeRssBytes), 1e6, 0)} | ` +
				`${triple(runs.map((r) => r.peakHwmBytes), 1e6, 0)} |`,
		);
	}
	return rows.join('\n');
}

async function main() {
	const eventCounts = argument('events', '10000,200000').split(',').map(Number);
	const repeats = Number(argument('repeats', '3'));
	const jsonOut = argument('json', undefined);
	const install = n8nInstall(Number(argument('n8n', '2')));
	const tarball = packedTarball();
	const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));
	const standin = await startDifyStandin({ chunking: 'bulk', seedLogs: 0 });
	log(`Dify stand-in at ${standin.url}; n8n ${install.version}`);
	const ctx = await createUserFolder(install);
	const results = [];
	try {
		log(`installing the package into ${ctx.userFolder}`);
		await installCommunityPackage(ctx, tarball);
		const [dify, header] = await importCredentials(ctx, [
			{ name: 'Dify stand-in', type: 'difyApi', data: { baseUrl: standin.url, apiKey: standin.apiKey } },
			{ name: 'Dify key header', type: 'httpHeaderAuth', data: { name: 'Authorization', value: `Bearer ${standin.apiKey}` } },
		]);
		const plans = [];
		const files = [];
		for (const events of eventCounts) {
			const inputs = { topic: 'bench', scenario: 'many', chunks: events };
			for (const mode of MODES) {
				for (const side of SIDES) {
					const definition =
						side === 'http'
							? httpWorkflow({ id: undefined, baseUrl: standin.url, credential: header, inputs, mode })
							: nodeWorkflow({ id: undefined, credential: dify, inputs, mode });
					const file = join(ctx.userFolder, `${side}-${mode}-${events}.json`);
					delete definition.id;
					await writeFile(file, JSON.stringify(definition));
					files.push(file);
					plans.push({ events, mode, side });
				}
			}
		}
		const ids = await importWorkflows(ctx, files);
		plans.forEach((plan, i) => (plan.id = ids[i]));

		for (const events of eventCounts) {
			const answer = expectedAnswer(events);
			for (const mode of MODES) {
				for (let i = 0; i < repeats; i++) {
					// The two sides take turns, HTTP Request first in even rounds and last in odd ones.
					const order = i % 2 === 0 ? SIDES : [...SIDES].reverse();
					for (const side of order) {
						const plan = plans.find((p) => p.events === events && p.mode === mode && p.side === side);
						const r = await measure(ctx, plan.id, side, mode, events, answer);
						// The stand-in keeps every run and its answer; the bench never looks one up again.
						standin.reset();
						results.push(r);
						log(
							`${fmt(events)} ${mode} ${side}: nodes ${r.nodesMs} ms, wall ${fmt(r.wallMs / 1000, 1)} s, ` +
								`peak ${fmt(r.peakTreeRssBytes / 1e6)} MB, ${r.ok === true ? 'correct' : `WRONG: ${r.ok}`}\n  ` +
								r.processes.filter((p) => p.peakBytes >= 10e6).map((p) => `${fmt(p.peakBytes / 1e6)} MB ${p.command.slice(-60)}`).join('\n  '),
						);
					}
				}
			}
		}
	} finally {
		await ctx.cleanup();
		await standin.close();
	}

	const cpu = cpus();
	process.stdout.write(
		`Machine: ${cpu.length} CPUs (${cpu[0]?.model ?? '?'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM; ` +
			`n8n ${install.version} on Node ${install.nodeBin}; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n\n`,
	);
	process.stdout.write(`${table(results)}\n`);
	if (jsonOut) await writeFile(jsonOut, JSON.stringify(results, null, 2));
	if (results.some((r) => r.ok !== true)) process.exitCode = 1;
}

main().catch((error) => {
	process.stderr.write(`${error?.stack ?? error}\n`);
	process.exit(1);
});
