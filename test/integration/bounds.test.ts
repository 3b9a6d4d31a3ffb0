import { readdirSync, readlinkSync } from 'node:fs';

import type { IDataObject } from 'n8n-workflow';

import type { LocalServer } from '../reliability/servers';
import { beginStream, closedPort, frame, readRequest, RunEvents, startLocalServer } from '../reliability/servers';
import { runDifyNode } from './dify-node';

/** What the Timeout and the resources of one call are bounded by, against hand-written servers. */

const servers: LocalServer[] = [];
async function server(handler: Parameters<typeof startLocalServer>[0]): Promise<LocalServer> {
	const started = await startLocalServer(handler);
	servers.push(started);
	return started;
}
afterAll(async () => {
	await Promise.all(servers.map(async (s) => await s.close()));
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const run = (baseUrl: string, responseMode: 'streaming' | 'blocking', options: IDataObject) =>
	runDifyNode({
		parameters: { resource: 'workflow', operation: 'run', inputs: '{"topic": "x"}', user: 'u', responseMode, options } as never,
		baseUrl,
		apiKey: 'app-bounds',
		signal: AbortSignal.timeout(20_000),
	});

describe('retries end within the Timeout', () => {
	it('a blocking run answered 429 again and again stops retrying when the next wait would pass the Timeout', async () => {
		// Without a Retry-After the waits are 0.5 s, 1 s and 2 s: four attempts would take over 3 s.
		const dify = await server(async (req, res) => {
			await readRequest(req);
			res.writeHead(429, { 'Content-Type': 'application/json' });
			res.end(JSON.stringify({ code: 'too_many_requests', message: 'Slow down', status: 429 }));
		});
		const result = await run(dify.url, 'blocking', { timeout: 1, validateInputs: false });
		expect(result.error?.message).toBe('Slow down');
		// The first wait (0.4–0.6 s) fits in 1 s; the second (0.8–1.2 s) no longer does.
		expect(dify.requests.length).toBeGreaterThanOrEqual(1);
		expect(dify.requests.length).toBeLessThanOrEqual(2);
	});
});

describe('a large event slower than the Timeout', () => {
	it('counts the bytes of an unfinished event as progress, so a run that keeps sending is not cut', async () => {
		const dify = await server(async (req, res) => {
			await readRequest(req);
			const events = new RunEvents();
			await beginStream(req, res);
			res.write(frame(events.started()));
			// One node_finished event of 8 pieces, 250 ms apart: 2 s in all, with Timeout 1 s.
			const big = frame({ event: 'node_finished', task_id: events.taskId, data: { outputs: { text: 'x'.repeat(8_000) } } });
			const piece = Math.ceil(big.length / 8);
			for (let at = 0; at < big.length; at += piece) {
				res.write(big.slice(at, at + piece));
				await pause(250);
			}
			res.end(frame(events.finished({ answer: 'done' })));
		});
		const result = await run(dify.url, 'streaming', { timeout: 1, validateInputs: false });
		expect(result.error).toBeUndefined();
		expect((result.items[0].json.outputs as IDataObject).answer).toBe('done');
	});

	it('still stops at the Timeout when only keep-alive pings arrive', async () => {
		const dify = await server(async (req, res) => {
			await readRequest(req);
			const events = new RunEvents();
			await beginStream(req, res);
			res.write(frame(events.started()));
			for (let n = 0; n < 40 && !res.destroyed; n++) {
				res.write('event: ping\n\n');
				await pause(100);
			}
			res.end();
		});
		const result = await run(dify.url, 'streaming', { timeout: 1, validateInputs: false });
		expect(result.error?.message).toBe('Dify sent no workflow event for 1 s, so the node stopped waiting');
	});
});

/** Descriptors of this process open on files of n8n's binary store (the engine's temp folder). */
function openBinaryFiles(): number {
	let open = 0;
	for (const fd of readdirSync('/proc/self/fd')) {
		try {
			if (/n8n-engine-.*binary-data/.test(readlinkSync(`/proc/self/fd/${fd}`))) open++;
		} catch {
			// Closed between the listing and the look.
		}
	}
	return open;
}

describe('a failed upload', () => {
	it('closes the file it was to send: twenty refused uploads leave no descriptor open', async () => {
		const before = openBinaryFiles();
		const result = await runDifyNode({
			parameters: { resource: 'file', operation: 'upload', binaryPropertyName: 'data', user: 'u' } as never,
			baseUrl: `http://127.0.0.1:${await closedPort()}/v1`,
			apiKey: 'app-bounds',
			items: Array.from({ length: 20 }, (_, index) => ({ index })),
			binaries: [{ property: 'data', fileName: 'a.txt', mimeType: 'text/plain', sizeBytes: 64 * 1024 }],
			binaryMode: 'filesystem',
			continueOnFail: true,
		});
		expect(result.items).toHaveLength(20);
		expect(result.items.every((item) => /Could not reach Dify/.test(String(item.json.error)))).toBe(true);
		await pause(50);
		expect(openBinaryFiles()).toBe(before);
	});
});
