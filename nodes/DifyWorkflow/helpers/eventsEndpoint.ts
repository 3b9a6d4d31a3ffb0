import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { isMissingRoute } from '../transport/errors';
import type { DifyTransport } from '../transport/request';
import type { DifyServerIndex } from '../types';

/** The Dify release that added `GET /workflow/{id}/events`. */
const FIRST_VERSION = [1, 14];

function olderThanEventsEndpoint(version: string): boolean {
	const [major, minor] = version.split('.').map((part) => Number.parseInt(part, 10));
	if (!Number.isFinite(major) || !Number.isFinite(minor)) return false;
	return major < FIRST_VERSION[0] || (major === FIRST_VERSION[0] && minor < FIRST_VERSION[1]);
}

/**
 * Dify before 1.14 has no events endpoint: its router answers the path with a plain 404 page, not
 * Dify's JSON, which alone reads like a wrong Base URL. Dify's API index names the server's
 * version, so the error can say which it is. Undefined when the error is something else.
 */
export async function missingEventsEndpoint(
	ctx: IExecuteFunctions,
	transport: DifyTransport,
	itemIndex: number,
	error: unknown,
	operation: string,
): Promise<NodeOperationError | undefined> {
	if (!isMissingRoute(error)) return undefined;
	const version = await transport
		.json<DifyServerIndex>(itemIndex, { method: 'GET', path: '/', timeoutMs: 10_000, retry: 'none' })
		.then((index) => (typeof index?.server_version === 'string' ? index.server_version : undefined))
		.catch(() => undefined);
	if (version !== undefined && !olderThanEventsEndpoint(version)) return undefined;
	const what = version === undefined ? 'This Dify has' : `Dify ${version} has`;
	return new NodeOperationError(
		ctx.getNode(),
		`${what} no events endpoint: ${operation} needs Dify 1.14 or newer`,
		{
			itemIndex,
			description: `Dify added GET /workflow/{workflow_run_id}/events in 1.14. On an older Dify, follow the run with Workflow → Get Run (repeat it, e.g. after a Wait node, until its status is no longer running or paused), or upgrade Dify.${
				version === undefined ? ` If this Dify is 1.14 or newer, check that the Base URL of the Dify API credential is its API address, ending with /v1 (${transport.shownBaseUrl} answered with a page that is not Dify's).` : ''
			}`,
		},
	);
}
