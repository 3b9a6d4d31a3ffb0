import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { everythingShown, runDifyNode } from './dify-node';

const apiKey = 'app-ConnectionTestKey0000001';

const getInfo = (baseUrl: string) =>
	runDifyNode({ parameters: { resource: 'app', operation: 'getInfo' }, baseUrl, apiKey });

/** A port that was free a moment ago and has nothing listening now. */
async function closedPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

describe('connection failures name the base URL', () => {
	it('connection refused', async () => {
		const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
		const run = await getInfo(baseUrl);
		expect(run.error?.message).toBe(`Could not reach Dify at ${baseUrl}: the connection was refused: nothing listens at that host and port`);
		expect(run.error?.description).toContain('ECONNREFUSED');
		expect(everythingShown(run)).not.toContain(apiKey);
	});

	it('unknown host', async () => {
		const run = await getInfo('http://dify.invalid/v1');
		expect(run.error?.message).toMatch(/^Could not reach Dify at http:\/\/dify\.invalid\/v1: the host name (is unknown|could not be resolved)/);
	});

	it('a self-signed TLS certificate', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'dify-tls-'));
		try {
			execFileSync('openssl', [
				'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
				'-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
			], { stdio: 'ignore' });
			const server = createHttpsServer(
				{ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
				(_, response) => response.end('{}'),
			);
			await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
			const baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
			try {
				const run = await getInfo(baseUrl);
				expect(run.error?.message).toBe(`Could not reach Dify at ${baseUrl}: its TLS certificate is self-signed`);
				expect(run.error?.description).toContain('NODE_EXTRA_CA_CERTS');
			} finally {
				server.closeAllConnections();
				server.close();
			}
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('a base URL that is not http(s) is refused before any request', async () => {
		const run = await getInfo('ftp://dify.example.com/v1');
		expect(run.error?.message).toMatch(/Base URL .* not a valid http\(s\) URL/);
	});
});
