import type { INode } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import {
	connectionFailureToError,
	httpFailureToError,
	streamErrorToError,
} from '../../nodes/DifyWorkflow/transport/errors';

const node: INode = {
	id: 'n1',
	name: 'Dify Workflow',
	type: 'n8n-nodes-dify-workflow.difyWorkflow',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};
const baseUrl = 'https://dify.example.com/v1';

const difyError = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) =>
	httpFailureToError(node, { status, body: { code, message, status }, baseUrl, path: '/workflows/run', ...extra }, 3);

describe('httpFailureToError', () => {
	it.each([
		[401, 'unauthorized', 'Access token is invalid', /API key/],
		[403, 'forbidden', "The app's API service has been disabled.", /API service is disabled/],
		[400, 'invalid_param', 'topic is required in input form', /its message names which and why/],
		[400, 'app_unavailable', 'App unavailable', /Publish the workflow/],
		[400, 'not_workflow_app', 'Please check if your app mode matches the right API route.', /not a workflow app/],
		[400, 'provider_not_initialize', 'No valid model provider credentials found.', /Model Provider/],
		[400, 'provider_quota_exceeded', 'Your quota for Dify Hosted Model Provider has been exhausted.', /quota/],
		[400, 'model_currently_not_support', 'Dify Hosted OpenAI trial currently not support the GPT-4 model.', /another model/],
		[400, 'completion_request_error', 'Incorrect API key provided', /model provider returned an error/],
		[413, 'file_too_large', 'File size exceeded. {message}', /upload limit/],
		[415, 'unsupported_file_type', 'File type not allowed.', /MIME type/],
		[404, 'not_found', 'Workflow run not found.', /nothing at this address/],
		[500, 'internal_server_error', 'The server encountered an internal error', /internal error/],
	])('HTTP %i %s keeps Dify\'s message and says what to do', (status, code, message, advice) => {
		const error = difyError(status, code, message);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe(message);
		expect(error.description).toMatch(advice);
		expect(error.description).toContain(`code ${code}`);
		expect(error.httpCode).toBe(String(status));
		expect(error.context.itemIndex).toBe(3);
	});

	it('lets an operation give better advice for a code', () => {
		const error = httpFailureToError(
			node,
			{ status: 404, body: { code: 'not_found', message: 'Workflow run not found.', status: 404 }, baseUrl, path: '/x' },
			0,
			{ not_found: 'No run with this ID.' },
		);
		expect(error.description).toMatch(/^No run with this ID\./);
	});

	it('says when the base URL lacks /v1', () => {
		const error = httpFailureToError(
			node,
			{ status: 404, body: { code: 'not_found', message: 'Not Found', status: 404 }, baseUrl: 'https://dify.example.com', path: '/info' },
			0,
		);
		expect(error.description).toContain('does not end with /v1');
		expect(error.description).toContain('https://dify.example.com/v1');
	});

	it('tells rate limits apart, with the wait Dify asked for', () => {
		const error = difyError(429, 'rate_limit_error', 'Workflow execution quota limit reached for tenant t', {
			retryAfter: '30',
		});
		expect(error.description).toMatch(/Retry On Fail.*wait 30 s/);
		const concurrency = difyError(
			400,
			'invalid_param',
			'Too many requests. Please try again later. The current maximum concurrent requests allowed for a is 1.',
		);
		expect(concurrency.description).toMatch(/concurrent runs/);
	});

	it('names the base URL and the page title when a proxy answers with HTML', () => {
		const error = httpFailureToError(
			node,
			{
				status: 502,
				rawText: '<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>',
				contentType: 'text/html',
				baseUrl,
				path: '/workflows/run',
			},
			0,
		);
		expect(error.message).toBe(`Dify's API at ${baseUrl} answered HTTP 502 with a non-JSON body: 502 Bad Gateway`);
		expect(error.description).toMatch(/proxy or gateway/);
		expect(error.httpCode).toBe('502');
	});
});

describe('connectionFailureToError', () => {
	const cases: Array<[string, RegExp, RegExp]> = [
		['ECONNREFUSED', /connection was refused/, /Base URL/],
		['ENOTFOUND', /host name is unknown/, /Base URL/],
		['DEPTH_ZERO_SELF_SIGNED_CERT', /self-signed/, /NODE_EXTRA_CA_CERTS/],
		['CERT_HAS_EXPIRED', /expired/, /NODE_EXTRA_CA_CERTS/],
	];
	it.each(cases)('%s gives a message naming the base URL', (code, message, advice) => {
		const cause = Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code });
		const error = connectionFailureToError(node, Object.assign(new TypeError('fetch failed'), { cause }), baseUrl, 1);
		// n8n rewrites messages that contain a raw error code: the code must stay in the description.
		expect(error.message).toMatch(new RegExp(`^Could not reach Dify at ${baseUrl.replace(/[./]/g, '\\$&')}: `));
		expect(error.message).toMatch(message);
		expect(error.message).not.toContain(code);
		expect(error.description).toMatch(advice);
		expect(error.description).toContain(code);
	});
});

describe('streamErrorToError', () => {
	it('turns the in-stream error event into an API error with advice by code', () => {
		const error = streamErrorToError(
			node,
			{ code: 'provider_quota_exceeded', status: 400, message: 'Your quota … exhausted.' },
			2,
		);
		expect(error.message).toBe('Dify reported an error during the run: Your quota … exhausted.');
		expect(error.description).toMatch(/Model Provider/);
		expect(error.httpCode).toBe('400');
	});

	it('copes with the code-less error of newer Dify builds', () => {
		const error = streamErrorToError(node, { message: 'topic is required in input form', status: 500 }, 0);
		expect(error.message).toContain('topic is required in input form');
		expect(error.description).toContain('code none');
	});
});
