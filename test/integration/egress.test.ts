import type { IncomingMessage, ServerResponse } from 'node:http';

import { SsrfProtectionConfig } from '@n8n/config';
import { Container } from '@n8n/di';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';
import type { LocalServer } from '../reliability/servers';
import { beginStream, frame, readRequest, RunEvents, startLocalServer } from '../reliability/servers';
import { runDifyNode } from './dify-node';

/**
 * n8n's outbound policy, as an n8n 2.41 with SSRF protection on applies it: the engine's own
 * SsrfProtectionService, with 127.0.0.0/8 blocked (n8n's default) except 127.0.0.2, which stands
 * for an allowed Dify. 127.0.0.1 stands for an internal address the policy denies.
 */
beforeAll(() => {
	Object.assign(Container.get(SsrfProtectionConfig), { enabled: true, allowedIpRanges: ['127.0.0.2/32'] });
});

const FILE = Buffer.from('quarterly figures\n');

/** A Dify-like server: app info, a streaming run whose output `report` links to `fileLink()`, uploads, the file. */
function difyLike(fileLink: () => string) {
	return async (req: IncomingMessage, res: ServerResponse) => {
		const path = req.url ?? '/';
		if (path === '/v1/info') {
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end(JSON.stringify({ name: 'App', description: '', tags: [], mode: 'workflow', author_name: 'a' }));
		} else if (path === '/v1/files/upload') {
			await readRequest(req);
			res.writeHead(201, { 'Content-Type': 'application/json' });
			res.end(JSON.stringify({ id: 'f1', name: 'a.txt', size: 2, extension: 'txt', mime_type: 'text/plain' }));
		} else if (path === '/v1/workflows/run') {
			await readRequest(req);
			const run = new RunEvents();
			await beginStream(req, res);
			const report = { dify_model_identity: '__dify__file__', filename: 'report.txt', mime_type: 'text/plain', url: fileLink() };
			res.end(frame(run.started()) + frame(run.finished({ report })));
		} else if (path.startsWith('/files/moved')) {
			res.writeHead(302, { Location: fileLink().replace('/files/moved', '/files/report') });
			res.end();
		} else if (path.startsWith('/files/report')) {
			res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(FILE.length) });
			res.end(FILE);
		} else {
			res.writeHead(404);
			res.end();
		}
	};
}

const servers: LocalServer[] = [];
async function server(host: string, fileLink: () => string = () => '/files/report?sign=x'): Promise<LocalServer> {
	const started = await startLocalServer(difyLike(fileLink), { host });
	servers.push(started);
	return started;
}
afterAll(async () => {
	await Promise.all(servers.map(async (s) => await s.close()));
});

/** The node as n8n before 2.41 runs it: no getSecureEgressFilter among the helpers. */
class OnOlderN8n extends DifyWorkflow {
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const helpers = { ...this.helpers, getSecureEgressFilter: undefined };
		const older = new Proxy(this, {
			get: (target, key) => {
				if (key === 'helpers') return helpers;
				const value = Reflect.get(target, key, target) as unknown;
				return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
			},
		});
		return await DifyWorkflow.prototype.execute.call(older);
	}
}

const OPERATIONS: Array<{ name: string; parameters: IDataObject }> = [
	{ name: 'a JSON call (Get Info)', parameters: { resource: 'app', operation: 'getInfo' } },
	{
		name: 'a stream (Run, streaming)',
		parameters: { resource: 'workflow', operation: 'run', inputs: '{"topic": "x"}', user: 'u', responseMode: 'streaming', options: { validateInputs: false } },
	},
	{ name: 'an upload', parameters: { resource: 'file', operation: 'upload', binaryPropertyName: 'data', user: 'u' } },
];
const BINARY = [{ property: 'data', fileName: 'a.txt', mimeType: 'text/plain', base64: Buffer.from('hi').toString('base64') }];

const node = (baseUrl: string, parameters: IDataObject, extra: { older?: boolean } = {}) =>
	runDifyNode({
		parameters: parameters as never,
		baseUrl,
		apiKey: 'app-egress',
		binaries: BINARY,
		nodeType: extra.older ? new OnOlderN8n() : undefined,
	});

describe("n8n's outbound policy (SSRF protection on)", () => {
	it.each(OPERATIONS)('refuses $name to a denied address before any connection', async ({ parameters }) => {
		const denied = await server('127.0.0.1');
		const result = await node(denied.url, parameters);
		expect(result.error?.message).toMatch(
			/^n8n's outbound network policy blocked the request to Dify at http:\/\/127\.0\.0\.1:\d+\/v1: The request was blocked because it resolves to a restricted IP address$/,
		);
		expect(result.error?.description).toMatch(/N8N_SSRF_ALLOWED_HOSTNAMES or N8N_SSRF_ALLOWED_IP_RANGES/);
		expect(denied.requests).toEqual([]);
	});

	it.each(OPERATIONS)('lets $name through to an allowed address', async ({ parameters }) => {
		const allowed = await server('127.0.0.2');
		const result = await node(allowed.url, parameters);
		expect(result.error).toBeUndefined();
		expect(allowed.requests.length).toBeGreaterThan(0);
	});

	it('downloads an output file from an allowed address, and refuses one on a denied address', async () => {
		const allowed = await server('127.0.0.2');
		const run = { resource: 'workflow', operation: 'run', inputs: '{"topic": "x"}', user: 'u', options: { downloadFiles: true } };
		const fine = await node(allowed.url, run);
		expect(fine.error).toBeUndefined();
		expect(await fine.engine.binaryBuffer(fine.items[0], 'report')).toEqual(FILE);

		const denied = await server('127.0.0.1');
		const linking = await server('127.0.0.2', () => `${denied.url.replace(/\/v1$/, '')}/files/report?sign=x`);
		const refused = await node(linking.url, run);
		expect(refused.error?.message).toMatch(
			/^n8n's outbound network policy blocked the request to the output file at http:\/\/127\.0\.0\.1:\d+\/files\/report: /,
		);
		expect(denied.requests).toEqual([]);
	});

	it('checks every redirect of a download: a hop to a denied address is refused', async () => {
		const denied = await server('127.0.0.1');
		const redirecting = await server('127.0.0.2', () => `${denied.url.replace(/\/v1$/, '')}/files/moved?sign=x`);
		// The run links to the allowed server's /files/moved, which redirects to the denied one.
		const linkingToMove = await server('127.0.0.2', () => `${redirecting.url.replace(/\/v1$/, '')}/files/moved?sign=x`);
		const result = await node(linkingToMove.url, {
			resource: 'workflow',
			operation: 'run',
			inputs: '{"topic": "x"}',
			user: 'u',
			options: { downloadFiles: true },
		});
		expect(result.error?.message).toMatch(/^n8n's outbound network policy blocked the request to the output file at http:\/\/127\.0\.0\.1:\d+\/files\/report: /);
		expect(redirecting.requests.map((r) => r.path)).toEqual(['/files/moved?sign=x']);
		expect(denied.requests).toEqual([]);
	});
});

describe('an n8n without an outbound policy for nodes (before 2.41)', () => {
	it.each(OPERATIONS)('makes $name as before', async ({ parameters }) => {
		const loopback = await server('127.0.0.1');
		const result = await node(loopback.url, parameters, { older: true });
		expect(result.error).toBeUndefined();
		expect(loopback.requests.length).toBeGreaterThan(0);
	});
});
