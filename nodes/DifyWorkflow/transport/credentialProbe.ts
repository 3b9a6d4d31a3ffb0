import type { INode } from 'n8n-workflow';

import type { DifyAppInfo } from '../types';
import {
	asDifyError,
	connectionFailureToError,
	egressBlockedToError,
	egressRefusal,
	errorCode,
	httpFailureToError,
	notJsonToError,
	redactedError,
	redirectToError,
	timeoutToError,
} from './errors';
import { maskSecret } from './redaction';
import type { DifyCredentials } from './request';
import { displayUrl, normaliseBaseUrl, readApiKey } from './request';

/** What the probe asks of n8n's request helper, in that helper's own option names. */
interface ProbeRequest {
	method: 'GET';
	uri: string;
	headers: Record<string, string>;
	json: boolean;
	simple: boolean;
	resolveWithFullResponse: boolean;
	followRedirect: boolean;
	timeout: number;
}

/** n8n's request helper: the one HTTP client n8n hands a credential test. */
export type N8nRequest = (options: ProbeRequest) => Promise<unknown>;

interface FullResponse {
	statusCode: number;
	headers?: Record<string, string | string[] | undefined>;
	body?: unknown;
}

/** A test answers at once or says why not. */
const PROBE_TIMEOUT_MS = 15_000;

/** Bytes kept of an error body, as a run keeps them. */
const ERROR_BODY_LIMIT = 64 * 1024;

function header(response: FullResponse, name: string): string {
	const value = response.headers?.[name];
	return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

function bodyText(body: unknown): string {
	if (typeof body === 'string') return body;
	if (Buffer.isBuffer(body)) return body.toString('utf8');
	return body === undefined || body === null ? '' : JSON.stringify(body);
}

/**
 * Asks Dify which app a key belongs to (GET /info) through n8n's own HTTP client. n8n gives a
 * credential test no outbound policy for the node's client, while its own client applies the
 * instance's policy (SSRF protection) itself: so Test reaches exactly what a run may reach. Its
 * failures read as a run's do; there are no retries.
 */
export async function probeAppInfo(request: N8nRequest, node: INode, credentials: Partial<DifyCredentials>): Promise<DifyAppInfo> {
	const apiKey = readApiKey(node, credentials.apiKey);
	const baseUrl = normaliseBaseUrl(node, credentials.baseUrl);
	const shown = displayUrl(baseUrl);
	const redact = (text: string) => maskSecret(text, apiKey);
	let response: FullResponse;
	try {
		response = (await request({
			method: 'GET',
			uri: `${baseUrl}/info`,
			headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
			json: false,
			simple: false,
			resolveWithFullResponse: true,
			// As in a run: a redirect is reported, and the key is never sent to another address.
			followRedirect: false,
			timeout: PROBE_TIMEOUT_MS,
		})) as FullResponse;
	} catch (error) {
		const refusal = egressRefusal(error);
		if (refusal) throw egressBlockedToError(node, refusal, `Dify at ${shown}`, 0);
		if (errorCode(error) === 'ECONNABORTED' && /timeout/i.test((error as Error).message)) {
			throw timeoutToError(node, shown, PROBE_TIMEOUT_MS, 0);
		}
		throw redactedError(connectionFailureToError(node, error, shown, 0), redact);
	}
	const status = response.statusCode;
	if (status >= 300 && status < 400) throw redirectToError(node, shown, status, header(response, 'location'), 0);
	const text = redact(bodyText(response.body)).slice(0, status >= 400 ? ERROR_BODY_LIMIT : undefined);
	if (status >= 400) {
		throw httpFailureToError(node, {
			status,
			body: asDifyError(text),
			rawText: text,
			contentType: header(response, 'content-type'),
			retryAfter: header(response, 'retry-after') || undefined,
			baseUrl: shown,
			path: '/info',
		}, 0);
	}
	try {
		return JSON.parse(text) as DifyAppInfo;
	} catch {
		throw notJsonToError(node, shown, status, header(response, 'content-type'), 0);
	}
}
