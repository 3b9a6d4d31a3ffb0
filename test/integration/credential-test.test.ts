import { DifyApi } from '../../credentials/DifyApi.credentials';
import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';
import { closedPort } from '../reliability/servers';
import { testCredential } from './credential-tester';
import { standinPerFile } from './standin-per-file';

const standin = standinPerFile();
const node = new DifyWorkflow();


describe('the credential test gives the node’s own messages', () => {
	// n8n prefers a credential's own test request over a node's testedBy: there must be none.
	it('is the node’s test', () => {
		expect((new DifyApi() as { test?: unknown }).test).toBeUndefined();
		const entry = node.description.credentials?.find((credential) => credential.name === 'difyApi');
		expect(entry?.testedBy).toBe('difyApiTest');
	});

	it('succeeds with the app’s name', async () => {
		const result = await testCredential({ baseUrl: standin().url, apiKey: standin().apiKey });
		expect(result).toEqual({ status: 'OK', message: 'Connected to the Dify app "Stand-in Workflow"' });
	});

	it('a refused connection names the base URL, at once', async () => {
		const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
		const result = await testCredential({ baseUrl, apiKey: 'app-CredentialTestKey000001' });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(
			new RegExp(`^Could not reach Dify at ${baseUrl.replace(/[.]/g, '\\.')}: the connection was refused`),
		);
		expect(result.message).not.toContain('app-CredentialTestKey000001');
	});

	it('an unknown host', async () => {
		const result = await testCredential({ baseUrl: 'http://dify.invalid/v1', apiKey: 'app-x' });
		expect(result.message).toMatch(/^Could not reach Dify at http:\/\/dify\.invalid\/v1: the host name/);
	});

	it('a wrong key (401) says what to do, without the key', async () => {
		const wrongKey = 'app-WrongKeyWrongKeyWrong123';
		const result = await testCredential({ baseUrl: standin().url, apiKey: wrongKey });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/^Access token is invalid\. .*API key/);
		expect(result.message).not.toContain(wrongKey);
	});

	it('a base URL without /v1 (404) says so', async () => {
		const withoutV1 = standin().url.replace(/\/v1$/, '');
		const result = await testCredential({ baseUrl: withoutV1, apiKey: standin().apiKey });
		expect(result.message).toContain(`${withoutV1}/v1`);
	});

	it('a disabled app (403)', async () => {
		standin().failNext({ path: '/v1/info' }, { status: 403, json: { code: 'forbidden', message: 'App is disabled.', status: 403 } });
		const result = await testCredential({ baseUrl: standin().url, apiKey: standin().apiKey });
		expect(result.message).toMatch(/^App is disabled\. /);
	});

	it('a missing key or a malformed URL are named', async () => {
		expect((await testCredential({ baseUrl: standin().url, apiKey: ' ' })).message).toMatch(/no API key/);
		expect((await testCredential({ baseUrl: 'dify.example.com', apiKey: 'app-x' })).status).toBe('Error');
	});
});
