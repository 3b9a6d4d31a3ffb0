import { everythingShown, runDifyNode } from './dify-node';
import { standinPerFile } from './standin-per-file';

const standin = standinPerFile();

const appOperation = (operation: string, overrides: Partial<{ baseUrl: string; apiKey: string }> = {}) =>
	runDifyNode({
		parameters: { resource: 'app', operation },
		baseUrl: overrides.baseUrl ?? standin().url,
		apiKey: overrides.apiKey ?? standin().apiKey,
	});

describe('App operations against the stand-in', () => {
	it('Get Info returns the app info as one item', async () => {
		const run = await appOperation('getInfo');
		expect(run.error).toBeUndefined();
		expect(run.items).toHaveLength(1);
		expect(run.items[0].json).toMatchObject({ name: 'Stand-in Workflow', mode: 'workflow', tags: ['demo'] });
		expect(run.items[0].pairedItem).toEqual({ item: 0 });
		const request = standin().requests.at(-1)!;
		expect(request).toMatchObject({ method: 'GET', path: '/v1/info' });
		expect(request.headers.authorization).toBe(`Bearer ${standin().apiKey}`);
	});

	it('Get Parameters returns the input form', async () => {
		const run = await appOperation('getParameters');
		const form = run.items[0].json.user_input_form as Array<Record<string, { variable: string; required: boolean }>>;
		expect(form.map((entry) => Object.values(entry)[0].variable)).toContain('topic');
		expect(run.items[0].json).toHaveProperty('system_parameters');
	});

	it('Get Site returns the web app settings', async () => {
		const run = await appOperation('getSite');
		expect(run.items[0].json).toHaveProperty('title');
		expect(run.items[0].json).toHaveProperty('default_language');
	});

	it('accepts a base URL with trailing slashes', async () => {
		const run = await appOperation('getInfo', { baseUrl: `${standin().url}//` });
		expect(run.error).toBeUndefined();
		expect(standin().requests.at(-1)!.path).toBe('/v1/info');
	});

	it('says the API key is wrong on 401, without showing the key', async () => {
		const wrongKey = 'app-WrongKeyWrongKeyWrong123';
		const run = await appOperation('getInfo', { apiKey: wrongKey });
		expect(run.error?.message).toBe('Access token is invalid');
		expect(run.error?.description).toMatch(/API key/);
		expect(run.error?.httpCode).toBe('401');
		expect(everythingShown(run)).not.toContain(wrongKey);
	});

	it('says the base URL lacks /v1 when Dify answers 404 there', async () => {
		const withoutV1 = standin().url.replace(/\/v1$/, '');
		const run = await appOperation('getInfo', { baseUrl: withoutV1 });
		expect(run.error?.httpCode).toBe('404');
		expect(run.error?.description).toContain(`${withoutV1}/v1`);
	});

	it('explains a 403 on Get Site', async () => {
		standin().failNext(
			{ path: '/v1/site' },
			{ status: 403, json: { code: 'forbidden', message: 'Site not found.', status: 403 } },
		);
		const run = await appOperation('getSite');
		expect(run.error?.message).toBe('Site not found.');
		expect(run.error?.description).toMatch(/web app/);
	});

	it('names the base URL when a proxy answers with an HTML page', async () => {
		// 500 is not retried (a 502 is, and is tested with the retries).
		standin().failNext(
			{ path: '/v1/info' },
			{ status: 500, html: '<html><head><title>500 Internal Server Error</title></head><body>nginx</body></html>' },
		);
		const run = await appOperation('getInfo');
		expect(run.error?.message).toBe(
			`Dify's API at ${standin().url} answered HTTP 500 with a non-JSON body: 500 Internal Server Error`,
		);
	});

	it('refuses a success answer that is not JSON (the web app instead of the API)', async () => {
		standin().failNext({ path: '/v1/info' }, { status: 200, html: '<!doctype html><title>Dify</title>' });
		const run = await appOperation('getInfo');
		expect(run.error?.message).toMatch(/not JSON/);
		expect(run.error?.description).toMatch(/\/v1/);
	});

	it('does not follow a redirect, so the key stays with the configured address', async () => {
		standin().failNext({ path: '/v1/info' }, { kind: 'redirect', status: 301, location: 'https://elsewhere.example/v1/info' });
		const run = await appOperation('getInfo');
		expect(run.error?.message).toMatch(/redirect \(HTTP 301\) to https:\/\/elsewhere\.example\/v1\/info/);
		expect(standin().requests.filter((r) => r.path === '/v1/info')).toHaveLength(1);
	});
});
