import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { DifyErrorBody } from '../types';

/** What the user should do about each of Dify's error codes (dify-api.md §7). */
const ADVICE_BY_CODE: Record<string, string> = {
	unauthorized:
		'Check the API key in the Dify API credential: it must be the key of this workflow app (it starts with app-), copied from the app\'s API Access page.',
	forbidden:
		'Dify refused access: the app no longer exists, its API service is disabled, the workspace is archived, or (for Get Site) the app has no web app. Check the app in Dify.',
	not_workflow_app:
		'This API key belongs to an app that is not a workflow app. Use the key of a Dify workflow app.',
	app_unavailable: 'The app has no published workflow. Publish the workflow in Dify, then try again.',
	invalid_param: "Dify rejected a parameter of the request: its message names which and why.",
	bad_request: 'Dify could not read the request: its message says what it could not read.',
	not_found: 'Dify found nothing at this address or with this ID.',
	provider_not_initialize:
		'The model provider used by the workflow has no valid credentials in Dify. Set them in Dify under Settings → Model Provider.',
	provider_quota_exceeded:
		'The quota of the hosted model provider is used up. Add your own model provider credentials in Dify under Settings → Model Provider.',
	model_currently_not_support:
		'The model the workflow uses is not available. Choose another model in the workflow, or check the model provider in Dify.',
	completion_request_error:
		'The model provider returned an error while running the workflow (for example an invalid model API key). Check the model provider settings in Dify.',
	file_too_large:
		"The file is larger than Dify's upload limit for its type (by default 15 MB for documents, 10 MB for images, 50 MB for audio, 100 MB for video). Send a smaller file, or raise UPLOAD_*_FILE_SIZE_LIMIT on the Dify server.",
	unsupported_file_type:
		'The file has no MIME type. Set the MIME type of the binary property before uploading it.',
	no_file_uploaded: 'No file reached Dify. Check the Input Binary Field parameter.',
	too_many_files: 'Dify accepts one file per upload.',
	filename_not_exists_error:
		'The file has no file name. Set the file name of the binary property before uploading it.',
	rate_limit_error:
		"Dify's rate limit or the app's limit of concurrent runs was reached. Wait and try again, or turn on Retry On Fail in the node's settings.",
	too_many_requests:
		"Dify's rate limit or the app's limit of concurrent runs was reached. Wait and try again, or turn on Retry On Fail in the node's settings.",
	internal_server_error:
		'Dify had an internal error. Retrying may help; if it persists, check the Dify server logs.',
};

const ADVICE_BY_STATUS: Record<number, string> = {
	401: ADVICE_BY_CODE.unauthorized,
	403: ADVICE_BY_CODE.forbidden,
	413: 'The request was too large for Dify or for a proxy in front of it (for example nginx client_max_body_size). Send a smaller file, or raise the limit.',
	429: ADVICE_BY_CODE.rate_limit_error,
};

/** Advice for one failed call: the operation may know better than the generic table. */
export type ErrorHints = Partial<Record<string, string>>;

export interface DifyHttpFailure {
	status: number;
	/** Dify's error body when the response was one, else undefined. */
	body?: DifyErrorBody;
	/** The start of a body that was not Dify's JSON (an HTML page from a proxy, say). */
	rawText?: string;
	contentType?: string;
	retryAfter?: string;
	baseUrl: string;
	path: string;
}

function adviceFor(failure: DifyHttpFailure, hints: ErrorHints): string {
	const code = failure.body?.code ?? '';
	if (failure.status === 429 || failure.body?.message?.startsWith('Too many requests')) {
		const wait = failure.retryAfter ? ` Dify asked to wait ${failure.retryAfter} s.` : '';
		return (hints.rate_limit_error ?? ADVICE_BY_CODE.rate_limit_error) + wait;
	}
	const hinted = hints[code] ?? hints[String(failure.status)];
	if (hinted) return hinted;
	const missingV1 = missingV1Advice(failure);
	if (missingV1) return missingV1;
	if (ADVICE_BY_CODE[code]) return ADVICE_BY_CODE[code];
	if (ADVICE_BY_STATUS[failure.status]) return ADVICE_BY_STATUS[failure.status];
	if (failure.status >= 500) return ADVICE_BY_CODE.internal_server_error;
	return `Dify answered HTTP ${failure.status}.`;
}

/** A 404 under a base URL that does not end with /v1: the usual cause, said plainly. */
function missingV1Advice(failure: DifyHttpFailure): string | undefined {
	if (failure.status !== 404 || /\/v1$/.test(new URL(failure.baseUrl).pathname)) return undefined;
	return `The base URL ${failure.baseUrl} does not end with /v1, where Dify serves its API. Set the Base URL of the Dify API credential to ${failure.baseUrl}/v1 (or your Dify's API address).`;
}

function pageTitle(html: string): string | undefined {
	const match = /<title[^>]*>([^<]*)<\/title>/i.exec(html);
	return match?.[1].trim() || undefined;
}

/** Turns a non-2xx answer into the error the user sees. */
export function httpFailureToError(
	node: INode,
	failure: DifyHttpFailure,
	itemIndex: number,
	hints: ErrorHints = {},
): NodeApiError {
	const advice = adviceFor(failure, hints);
	if (failure.body) {
		const { code, message, status } = failure.body;
		return new NodeApiError(node, { code, message, status } as JsonObject, {
			message: message || `Dify answered HTTP ${failure.status} (${code})`,
			description: `${advice} [Dify: HTTP ${failure.status}, code ${code}, at ${failure.baseUrl}${failure.path}]`,
			httpCode: String(failure.status),
			itemIndex,
		});
	}
	// Not Dify's JSON: a proxy, a load balancer or a web server that is not Dify's API answered.
	const snippet = failure.rawText ?? '';
	const shown =
		(failure.contentType?.includes('html') ? pageTitle(snippet) : undefined) ??
		snippet.replace(/\s+/g, ' ').trim().slice(0, 200);
	const proxyHint =
		missingV1Advice(failure) ??
		(failure.status >= 500
			? 'A proxy or gateway in front of Dify answered instead of Dify, which is down or overloaded. Retry later or check the Dify server.'
			: `Something other than Dify's API answered at ${failure.baseUrl}. Check the Base URL of the Dify API credential (it must end with /v1).`);
	return new NodeApiError(
		node,
		{ message: shown, status: failure.status } as JsonObject,
		{
			message: `Dify's API at ${failure.baseUrl} answered HTTP ${failure.status} with a non-JSON body${shown ? `: ${shown}` : ''}`,
			description: `${failure.status === 413 ? advice : proxyHint} [content type: ${failure.contentType || 'none'}]`,
			httpCode: String(failure.status),
			itemIndex,
		},
	);
}

/**
 * The `code` of Dify's error body behind an error, or undefined when what answered was not Dify's
 * API JSON (a router's HTML 404, a proxy page) or nothing answered.
 */
export function difyCodeOf(error: unknown): string | undefined {
	const response = (error as { errorResponse?: { code?: unknown } } | undefined)?.errorResponse;
	return typeof response?.code === 'string' && response.code !== '' ? response.code : undefined;
}

/**
 * Whether Dify has no such route: a 404 that is not Dify's own `not_found` (Flask answers an unknown
 * path with its HTML page), or a 405. A Dify older than an endpoint answers this way.
 */
export function isMissingRoute(error: unknown): boolean {
	if (!(error instanceof NodeApiError) || (error.httpCode !== '404' && error.httpCode !== '405')) return false;
	return difyCodeOf(error) !== 'not_found';
}

/** Network-level failure codes (Node, undici, OpenSSL) and what they mean for the user. */
const CONNECTION_FAILURES: Record<string, string> = {
	ECONNREFUSED: 'the connection was refused: nothing listens at that host and port',
	ENOTFOUND: 'the host name is unknown',
	EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
	ECONNRESET: 'the connection was reset',
	EHOSTUNREACH: 'the host is unreachable',
	ENETUNREACH: 'the network is unreachable',
	ETIMEDOUT: 'connecting timed out',
	UND_ERR_CONNECT_TIMEOUT: 'connecting timed out',
	UND_ERR_SOCKET: 'the connection was closed unexpectedly',
	UND_ERR_CLOSED: 'the connection was closed unexpectedly',
	DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
	SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate chain contains a self-signed certificate',
	UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate could not be verified',
	UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuer of its TLS certificate is not trusted',
	CERT_HAS_EXPIRED: 'its TLS certificate has expired',
	ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for another host name',
	EPROTO: 'the TLS handshake failed (is the server speaking http, not https?)',
	ERR_SSL_WRONG_VERSION_NUMBER: 'the TLS handshake failed (is the server speaking http, not https?)',
};

const TLS_ADVICE =
	"Give the Dify server a certificate that n8n trusts, or add its CA to n8n's trust store with NODE_EXTRA_CA_CERTS.";

/** The network error code of a failure, looked up through its causes. */
export function errorCode(error: unknown): string | undefined {
	let current = error as { code?: unknown; cause?: unknown } | undefined;
	for (let depth = 0; current && depth < 4; depth++) {
		if (typeof current.code === 'string' && CONNECTION_FAILURES[current.code]) return current.code;
		current = current.cause as typeof current;
	}
	const top = (error as { code?: unknown } | undefined)?.code;
	return typeof top === 'string' ? top : undefined;
}

/** Turns an error thrown before or while talking to Dify (no HTTP answer) into the error the user sees. */
export function connectionFailureToError(
	node: INode,
	error: unknown,
	baseUrl: string,
	itemIndex: number,
): NodeApiError {
	const code = errorCode(error);
	const what = (code && CONNECTION_FAILURES[code]) ?? 'the request failed';
	const wrongProtocol = code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER';
	const isTls = !wrongProtocol && code !== undefined && /CERT|TLS|SSL|SIGNED/.test(code);
	const detail = error instanceof Error ? error.message : String(error);
	return new NodeApiError(node, { message: what } as JsonObject, {
		message: `Could not reach Dify at ${baseUrl}: ${what}`,
		description: `${
			wrongProtocol
				? `The server at ${baseUrl} does not answer in https. Use http:// in the Base URL of the Dify API credential, or the port where Dify serves https.`
				: isTls
				? TLS_ADVICE
				: 'Check the Base URL of the Dify API credential and that the Dify server is running and reachable from n8n.'
		} [${code ?? 'error'}: ${detail}]`,
		itemIndex,
	});
}

/** Turns Dify's in-stream `error` event (HTTP status stays 200) into the error the user sees. */
export function streamErrorToError(
	node: INode,
	event: { code?: string; status?: number; message?: string },
	itemIndex: number,
): NodeApiError {
	const code = event.code ?? '';
	const message = event.message || 'Dify reported an error without a message';
	const advice = ADVICE_BY_CODE[code] ?? ADVICE_BY_CODE.internal_server_error;
	return new NodeApiError(node, { code, message, status: event.status ?? 500 } as JsonObject, {
		message: `Dify reported an error during the run: ${message}`,
		description: `${advice} [Dify error event: code ${code || 'none'}, status ${event.status ?? 'none'}]`,
		httpCode: event.status ? String(event.status) : undefined,
		itemIndex,
	});
}

/** Dify's error body (`{code, message, status}`) in a response's text, or undefined when it is not one. */
export function asDifyError(text: string): DifyErrorBody | undefined {
	try {
		const parsed = JSON.parse(text) as Partial<DifyErrorBody>;
		if (parsed && typeof parsed === 'object' && typeof parsed.message === 'string') {
			return {
				code: typeof parsed.code === 'string' ? parsed.code : '',
				message: parsed.message,
				status: typeof parsed.status === 'number' ? parsed.status : 0,
			};
		}
	} catch {}
	return undefined;
}

/** A redirect from the API: never followed, so the key goes nowhere else. */
export function redirectToError(node: INode, baseUrl: string, status: number, location: string, itemIndex: number): NodeApiError {
	return new NodeApiError(node, { status, location }, {
		message: `Dify's API at ${baseUrl} answered with a redirect (HTTP ${status}) to ${location || 'an unnamed place'}`,
		description:
			'The node does not follow redirects, so the API key is never sent to another address. Set the Base URL of the Dify API credential to the address the redirect points to (for example https instead of http).',
		httpCode: String(status),
		itemIndex,
	});
}

/** A success whose body is not JSON: something other than Dify's API answered. */
export function notJsonToError(node: INode, baseUrl: string, status: number, contentType: string, itemIndex: number): NodeApiError {
	return new NodeApiError(node, { status }, {
		message: `Dify's API at ${baseUrl} answered HTTP ${status} with a body that is not JSON (${contentType || 'no content type'})`,
		description:
			"Something other than Dify's API answered, often the Dify web app when the Base URL lacks /v1. Set the Base URL of the Dify API credential to your Dify API address, ending with /v1.",
		httpCode: String(status),
		itemIndex,
	});
}

/** No answer within the bound; `advice` is the calling operation's, about its own options. */
export function timeoutToError(node: INode, baseUrl: string, timeoutMs: number, itemIndex: number, advice?: string): NodeApiError {
	return new NodeApiError(node, { message: 'timeout' }, {
		message: `Dify did not answer within ${Math.round(timeoutMs / 1000)} s at ${baseUrl}`,
		description: `The Dify server is slow or unreachable.${advice ? ` ${advice}` : ''}`,
		itemIndex,
	});
}

/** n8n's refusal of an address under its outbound policy (SsrfBlockedIpError, SsrfBlockedHostnameError). */
export function egressRefusal(error: unknown): (Error & { description?: string }) | undefined {
	for (let cause = error; cause instanceof Error; cause = cause.cause) {
		if (cause.name.startsWith('SsrfBlocked')) return cause as Error & { description?: string };
	}
	return undefined;
}

/** n8n refused an address under its outbound policy: say so, and who can change it. */
export function egressBlockedToError(node: INode, error: unknown, what: string, itemIndex: number): NodeOperationError {
	const reason = error instanceof Error ? error.message : String(error);
	const detail = (error as { description?: unknown } | undefined)?.description;
	return new NodeOperationError(node, `n8n's outbound network policy blocked the request to ${what}: ${reason}`, {
		itemIndex,
		description: `${typeof detail === 'string' ? `${detail} ` : ''}This n8n has SSRF protection on (N8N_SSRF_PROTECTION_ENABLED). An administrator can allow the address with N8N_SSRF_ALLOWED_HOSTNAMES or N8N_SSRF_ALLOWED_IP_RANGES.`,
	});
}

/** The error with the key masked in its message and description: what a failed connection quotes may hold it. */
export function redactedError<T extends NodeApiError | NodeOperationError>(error: T, redact: (text: string) => string): T {
	error.message = redact(error.message);
	if (error.description) error.description = redact(error.description);
	return error;
}
