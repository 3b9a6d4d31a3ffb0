import { SsrfProtectionConfig } from '@n8n/config';
import { Container } from '@n8n/di';

import type { DifyStandin } from '../standin/server';
import { startDifyStandin } from '../standin/server';
import { closedPort } from '../reliability/servers';
import { testCredential } from './credential-tester';

/**
 * The credential's Test under n8n's outbound policy, as an n8n 2.41 with SSRF protection on applies
 * it: 127.0.0.0/8 blocked (n8n's default) except 127.0.0.2, which stands for an allowed Dify.
 */
beforeAll(() => {
	Object.assign(Container.get(SsrfProtectionConfig), { enabled: true, allowedIpRanges: ['127.0.0.2/32'] });
});

const standins: DifyStandin[] = [];
afterAll(async () => {
	await Promise.all(standins.map(async (s) => await s.close()));
});
async function standinOn(host: string): Promise<DifyStandin> {
	const started = await startDifyStandin({ host });
	standins.push(started);
	return started;
}

describe('the credential test obeys n8n’s outbound policy', () => {
	it('a denied address is refused before any request, in the node’s words', async () => {
		const denied = await standinOn('127.0.0.1');
		const result = await testCredential({ baseUrl: denied.url, apiKey: denied.apiKey });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(new RegExp(`^n8n's outbound network policy blocked the request to Dify at ${denied.url.replace(/[.]/g, '\\.')}`));
		expect(result.message).toMatch(/N8N_SSRF_ALLOWED_IP_RANGES/);
		expect(denied.requests).toHaveLength(0);
	});

	it('a closed port of a denied address says the same: Test cannot probe ports', async () => {
		const port = await closedPort();
		const result = await testCredential({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: 'app-x' });
		expect(result.message).toMatch(/^n8n's outbound network policy blocked the request/);
		expect(result.message).not.toMatch(/refused/);
	});

	it('a host name that resolves to a denied address is refused too', async () => {
		const denied = await standinOn('127.0.0.1');
		const result = await testCredential({ baseUrl: denied.url.replace('127.0.0.1', 'localhost'), apiKey: denied.apiKey });
		expect(result.message).toMatch(/^n8n's outbound network policy blocked the request/);
		expect(denied.requests).toHaveLength(0);
	});

	it('an allowed address answers as usual', async () => {
		const allowed = await standinOn('127.0.0.2');
		const result = await testCredential({ baseUrl: allowed.url, apiKey: allowed.apiKey });
		expect(result).toEqual({ status: 'OK', message: 'Connected to the Dify app "Stand-in Workflow"' });
	});
});
