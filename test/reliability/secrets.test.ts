import type { IncomingMessage, ServerResponse } from 'node:http';

import type { IDataObject } from 'n8n-workflow';

import { startDifyStandin } from '../standin/server';
import { captureOutput } from './capture';
import { everythingKept, failOnProcessFaults } from './harness';
import { BAD_INPUTS, runBadInput } from './inputs';
import type { Played } from './scenarios';
import { FAULTS, localPlay, runOperation, SHORT_TIMEOUT_S } from './scenarios';
import { runDifyNode } from '../integration/dify-node';
import type { StreamChunk } from '../engine/run-workflow';
import { beginStream, frame, readRequest, RunEvents, startLocalServer, writeApart } from './servers';

const output = captureOutput();
failOnProcessFaults();

const SECRET = 'app-SECRETsecretSECRET000042';
/** The distinctive part: a key cut short or with its prefix dropped must not show either. */
const SECRET_CORE = 'SECRETsecretSECRET';

const authorization = (req: IncomingMessage) => String(req.headers.authorization ?? '');

/** A run whose node and workflow outputs quote the Authorization header, in keys and values. */
async function echoInOutputs(req: IncomingMessage, res: ServerResponse): Promise<void> {
	const run = new RunEvents();
	const key = authorization(req);
	await beginStream(req, res);
	res.end(
		frame(run.started()) +
			frame({ event: 'node_finished', task_id: run.taskId, data: { outputs: { [`seen ${key}`]: [key] } } }) +
			frame(run.finished({ echoed: key, nested: { list: [`header was ${key}`] } })),
	);
}

/** A stream whose error event quotes the request's Authorization header. */
async function echoInErrorEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
	const run = new RunEvents();
	const key = authorization(req);
	await beginStream(req, res);
	res.end(frame(run.started()) + frame({ event: 'error', task_id: run.taskId, status: 400, code: 'invalid_param', message: `rejected ${key}` }));
}

/**
 * Servers that put the request's Authorization header into their answer, as a debugging proxy,
 * a misconfigured gateway or an over-helpful error page does. The key then arrives in the very
 * text the node turns into its message: it must still not show.
 */
const ECHOES: Array<{ id: string; play: (apiKey: string) => Promise<Played> }> = [
	{
		id: 'echo-401-json',
		play: localPlay(async (req, res) => {
			res.writeHead(401, { 'Content-Type': 'application/json' });
			res.end(JSON.stringify({ code: 'unauthorized', message: `Invalid token: ${authorization(req)}`, status: 401 }));
		}),
	},
	{
		id: 'echo-502-html',
		play: localPlay((req, res) => {
			res.writeHead(502, { 'Content-Type': 'text/html' });
			res.end(`<html><head><title>502 upstream refused ${authorization(req)}</title></head><body>${JSON.stringify(req.headers)}</body></html>`);
		}),
	},
	{
		id: 'echo-400-text',
		play: localPlay((req, res) => {
			res.writeHead(400, { 'Content-Type': 'text/plain' });
			res.end(`Bad request. Headers were: ${JSON.stringify(req.headers)}`);
		}),
	},
	{ id: 'echo-stream-error-event', play: localPlay(echoInErrorEvent) },
	// Each Event under Continue On Fail: the error event itself becomes an item, beside the error item.
	{
		id: 'echo-stream-error-event:events',
		play: localPlay(echoInErrorEvent, { parameters: { output: 'events' }, continueOnFail: true }),
	},
	// Outputs that quote it, in the result (Final Result) and in the events (Each Event).
	{ id: 'echo-outputs:final', play: localPlay(echoInOutputs) },
	{ id: 'echo-outputs:events', play: localPlay(echoInOutputs, { parameters: { output: 'events' } }) },
];

/** Runs `work` on every entry, `width` at a time: the plays are independent, their waits overlap. */
async function eachLimited<T>(entries: T[], width: number, work: (entry: T) => Promise<void>): Promise<void> {
	const queue = [...entries];
	await Promise.all(
		Array.from({ length: width }, async () => {
			for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) await work(entry);
		}),
	);
}

describe('secrets', () => {
	it('the API key shows in no message, description, output item, execution data or log line, in any scenario', async () => {
		const kept = new Map<string, string>();

		await eachLimited([...FAULTS, ...ECHOES], 6, async (scenario) => {
			const played = await scenario.play(SECRET);
			kept.set(scenario.id, everythingKept(played.run));
		});

		const standin = await startDifyStandin({ apiKey: SECRET, version: '1.13' });
		try {
			for (const input of BAD_INPUTS) kept.set(`input:${input.id}`, everythingKept(await runBadInput(input, standin.url, SECRET, true)));

			const mix: IDataObject[] = ['llm', 'fail', 'error', 'truncated', 'drop', 'silent'].map((scenario) => ({ inputs: { topic: 'x', scenario } }));
			for (const output of ['final', 'events'] as const) {
				const run = await runOperation(
					standin.url,
					SECRET,
					{ inputs: '={{ $json.inputs }}', output, options: { timeout: SHORT_TIMEOUT_S, concurrency: 3 } },
					{ items: mix, continueOnFail: true },
				);
				kept.set(`continue-on-fail:${output}`, everythingKept(run));
			}

			// A key Dify does not accept: the 401 names the problem, not the key.
			const wrong = await runOperation(standin.url, 'app-SECRETsecretSECRET999999', { responseMode: 'blocking' });
			kept.set('wrong-key', everythingKept(wrong));
			expect(wrong.error?.message).toBe('Access token is invalid');

			// The key was in play: the stand-in received it on every authenticated request.
			expect(standin.requests.some((request) => request.headers.authorization === `Bearer ${SECRET}`)).toBe(true);
		} finally {
			await standin.close();
		}

		expect(kept.size).toBe(FAULTS.length + ECHOES.length + BAD_INPUTS.length + 3);
		const around = (text: string) => {
			const at = text.indexOf(SECRET_CORE);
			return `…${text.slice(Math.max(0, at - 200), at + 40)}…`;
		};
		const leaks = [...kept].filter(([, text]) => text.includes(SECRET_CORE)).map(([id, text]) => `${id}: ${around(text)}`);
		const leakedLines = output.lines.filter((line) => line.text.includes(SECRET_CORE)).map((line) => `${line.via}: ${around(line.text)}`);
		expect({ leaks, leakedLines }).toEqual({ leaks: [], leakedLines: [] });

		// The capture saw the runs: n8n's debug log names each node run that failed.
		expect(output.logged(/Running node "Dify Workflow" finished with error/).length).toBeGreaterThan(20);
	}, 60_000);
});

/**
 * A run whose text quotes the Authorization header, split across chunks at awkward places, then
 * fails with a message that quotes it again; its output file is named after it.
 */
async function echoInLiveText(req: IncomingMessage, res: ServerResponse): Promise<void> {
	if (req.url?.startsWith('/files/')) {
		res.writeHead(200, { 'Content-Type': `text/plain; note=${authorization(req) || 'none'}` });
		res.end('figures\n');
		return;
	}
	const run = new RunEvents();
	const key = authorization(req).replace(/^Bearer /, '');
	const fail = req.url?.includes('fail') || (await readRequest(req)).includes('"fail"');
	res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
	res.socket?.setNoDelay(true);
	await writeApart(res, frame(run.started()));
	// Each piece in its own network read: the key is whole in none of them.
	for (const piece of ['the key is ', key.slice(0, 7), key.slice(7, 19), `${key.slice(19)} and again ${key.slice(0, 3)}`, `${key.slice(3)}.`]) {
		await writeApart(res, frame(run.textChunk(piece)));
	}
	const report = { dify_model_identity: '__dify__file__', filename: `report ${key}.txt`, mime_type: `text/plain; k=${key}`, url: '/files/report?sign=x' };
	const finished = run.finished({ report });
	if (fail) Object.assign(finished.data as IDataObject, { status: 'failed', error: `upstream rejected ${key}` });
	res.end(frame(finished));
}

describe('secrets in what is sent live and in binary metadata', () => {
	async function streamed(inputs: IDataObject, output: 'final' | 'events') {
		const server = await startLocalServer(echoInLiveText);
		try {
			const chunks: StreamChunk[] = [];
			const run = await runDifyNode({
				parameters: {
					resource: 'workflow',
					operation: 'run',
					inputs: JSON.stringify(inputs),
					user: 'u',
					responseMode: 'streaming',
					output,
					options: { downloadFiles: true, validateInputs: false },
				} as never,
				baseUrl: server.url,
				apiKey: SECRET,
				continueOnFail: true,
				onChunk: (chunk) => chunks.push(chunk),
			});
			return { run, chunks };
		} finally {
			await server.close();
		}
	}

	it.each(['final', 'events'] as const)('live text (%s output) has the key masked even when it arrives split, and no key in the failure it streams', async (output) => {
		const ok = await streamed({ topic: 'x' }, output);
		const text = ok.chunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content).join('');
		expect(text).toBe('the key is *** and again ***.');
		expect(ok.chunks.at(-1)?.type).toBe('end');

		const failed = await streamed({ topic: 'fail' }, output);
		const sent = failed.chunks.map((chunk) => `${chunk.type}:${chunk.content ?? ''}`);
		expect(sent.at(-1)).toBe('error:The Dify workflow run failed: upstream rejected ***');
		expect(sent.join('\n')).not.toContain(SECRET_CORE);
	});

	it('a downloaded output file’s name and type in the binary metadata have the key masked', async () => {
		const { run } = await streamed({ topic: 'x' }, 'final');
		expect(run.error).toBeUndefined();
		const binary = run.items[0].binary?.report;
		expect(binary).toMatchObject({ fileName: 'report ***.txt', mimeType: 'text/plain; k=***' });
		expect(JSON.stringify(run.items[0].binary)).not.toContain(SECRET_CORE);
	});
});
