import type { IncomingMessage, ServerResponse } from 'node:http';

import type { IDataObject } from 'n8n-workflow';

import type { LocalServer } from '../reliability/servers';
import { beginStream, frame, readRequest, RunEvents, startLocalServer } from '../reliability/servers';
import type { DifyNodeRun } from './dify-node';
import { runDifyNode } from './dify-node';

/**
 * Download Output Files against a hand-written Dify: each test sets the run's outputs and what
 * the file links answer, so every byte and header the node meets is known.
 */

let outputs: (origin: string) => Record<string, unknown> = () => ({});
let files: (path: string, res: ServerResponse, origin: string) => void = () => {};
let dify: LocalServer;
let origin: string;

beforeAll(async () => {
	dify = await startLocalServer(async (req: IncomingMessage, res: ServerResponse) => {
		if (req.url === '/v1/workflows/run') {
			await readRequest(req);
			const run = new RunEvents();
			await beginStream(req, res);
			res.end(frame(run.started()) + frame(run.finished(outputs(origin))));
			return;
		}
		files(req.url ?? '/', res, origin);
	});
	origin = dify.url.replace(/\/v1$/, '');
});
afterAll(async () => await dify.close());
beforeEach(() => {
	dify.requests.length = 0;
});

const difyFile = (url: string, filename = 'a.txt'): IDataObject => ({
	dify_model_identity: '__dify__file__',
	transfer_method: 'tool_file',
	filename,
	mime_type: 'text/plain',
	url,
});

/** Serves /files/<name> with the name itself as content. */
function serveNames(path: string, res: ServerResponse): void {
	const name = /^\/files\/([^?]+)/.exec(path)?.[1];
	if (!name) {
		res.writeHead(404, { 'Content-Type': 'application/json' });
		res.end(JSON.stringify({ code: 'not_found', message: 'File not found.', status: 404 }));
		return;
	}
	res.writeHead(200, { 'Content-Type': 'text/plain' });
	res.end(`content of ${name}`);
}

const run = (options: IDataObject = {}, binaryMode: 'default' | 'filesystem' = 'filesystem'): Promise<DifyNodeRun> =>
	runDifyNode({
		parameters: {
			resource: 'workflow',
			operation: 'run',
			inputs: '{"topic": "x"}',
			user: 'u',
			options: { downloadFiles: true, ...options },
		} as never,
		baseUrl: dify.url,
		apiKey: 'app-files',
		binaryMode,
	});

const downloads = () => dify.requests.filter((request) => request.path.startsWith('/files/'));

describe('which outputs are files', () => {
	it('downloads only Dify file objects: a look-alike without dify_model_identity stays data', async () => {
		outputs = () => ({
			real: difyFile('/files/real?sign=s'),
			lookalike: { transfer_method: 'tool_file', filename: 'b.txt', url: '/files/lookalike?sign=s' },
		});
		files = serveNames;
		const result = await run();
		expect(result.error).toBeUndefined();
		expect(Object.keys(result.items[0].binary ?? {})).toEqual(['real']);
		expect(downloads().map((r) => r.path)).toEqual(['/files/real?sign=s']);
	});

	it('refuses a link that is not http(s), without reaching for it', async () => {
		outputs = () => ({ report: difyFile('file:///etc/passwd') });
		const result = await run();
		expect(result.error?.message).toBe('Could not download the output file at file:///etc/passwd: only http and https links are downloaded, not file:');
	});
});

describe('binary property names', () => {
	it('are unique and predictable: a-b beside a_b, and a list files beside files_0', async () => {
		outputs = () => ({
			'a-b': difyFile('/files/dash?sign=s'),
			a_b: difyFile('/files/underscore?sign=s'),
			files: [difyFile('/files/list0?sign=s'), difyFile('/files/list1?sign=s')],
			files_0: difyFile('/files/single?sign=s'),
		});
		files = serveNames;
		const result = await run();
		expect(result.error).toBeUndefined();
		const item = result.items[0];
		const contents: Record<string, string> = {};
		for (const property of Object.keys(item.binary ?? {})) {
			contents[property] = (await result.engine.binaryBuffer(item, property)).toString('utf8');
		}
		expect(contents).toEqual({
			a_b: 'content of underscore',
			a_b_2: 'content of dash',
			files_0: 'content of single',
			files_0_2: 'content of list0',
			files_1: 'content of list1',
		});
	});
});

describe('redirects and failures of a download', () => {
	it('follows a signed link that redirects, sending no key anywhere', async () => {
		outputs = (at) => ({ report: difyFile(`${at}/files/redirect?sign=s`) });
		files = (path, res) => {
			if (path.startsWith('/files/redirect')) {
				res.writeHead(302, { Location: '/files/storage?X-Amz-Signature=abc' });
				res.end();
			} else serveNames(path, res);
		};
		const result = await run();
		expect(result.error).toBeUndefined();
		expect((await result.engine.binaryBuffer(result.items[0], 'report')).toString('utf8')).toBe('content of storage');
		expect(downloads().map((r) => [r.path, r.headers.authorization])).toEqual([
			['/files/redirect?sign=s', undefined],
			['/files/storage?X-Amz-Signature=abc', undefined],
		]);
	});

	it('stops after five redirects', async () => {
		outputs = () => ({ report: difyFile('/files/loop?sign=s') });
		files = (_path, res) => {
			res.writeHead(302, { Location: '/files/loop?sign=s' });
			res.end();
		};
		const result = await run();
		expect(result.error?.message).toBe(`Could not download the output file at ${origin}/files/loop: it redirected more than 5 times`);
		expect(downloads()).toHaveLength(6);
	});

	it('says what failed when a link answers 404, without advice about the credential', async () => {
		outputs = () => ({ report: difyFile('/files?sign=expired') });
		files = serveNames;
		const result = await run();
		expect(result.error?.message).toBe(`Could not download the output file at ${origin}/files: the server answered HTTP 404`);
		expect(result.error?.description).toMatch(/signed and expire/);
		expect(result.error?.description).not.toMatch(/Base URL/);
	});
});

describe('Max Download Size', () => {
	const big = Buffer.alloc(3 * 1024 * 1024, 'x');

	it('refuses a file whose Content-Length is above it, before reading it', async () => {
		outputs = () => ({ report: difyFile('/files/big?sign=s') });
		files = (_path, res) => {
			res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(big.length) });
			res.end(big);
		};
		const result = await run({ maxDownloadSize: 2 });
		expect(result.error?.message).toBe(`The output file at ${origin}/files/big is larger than 2 MB`);
		expect(result.error?.description).toMatch(/Max Download Size/);
	});

	it.each(['filesystem', 'default'] as const)(
		'stops a file sent without a length once it passes the limit (%s binary mode)',
		async (mode) => {
			outputs = () => ({ report: difyFile('/files/big?sign=s') });
			files = (_path, res) => {
				res.writeHead(200, { 'Content-Type': 'text/plain' });
				res.end(big);
			};
			const result = await run({ maxDownloadSize: 1 }, mode);
			expect(result.error?.message).toBe(`The output file at ${origin}/files/big is larger than 1 MB`);
		},
	);

	it('takes a file within it, and has a default of 100 MB', async () => {
		outputs = () => ({ report: difyFile('/files/big?sign=s') });
		files = (_path, res) => {
			res.writeHead(200, { 'Content-Type': 'text/plain' });
			res.end(big);
		};
		const within = await run({ maxDownloadSize: 4 });
		expect((await within.engine.binaryBuffer(within.items[0], 'report')).length).toBe(big.length);
		const byDefault = await run();
		expect(byDefault.items[0].binary?.report.bytes).toBe(big.length);
	});
});
