import type { INode, NodeApiError } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { AGGREGATED_EVENTS, RunAggregator } from '../../DifyWorkflow/helpers/runResult';
import { difyCodeOf, isMissingRoute } from '../../DifyWorkflow/transport/errors';
import type { DifyTransport } from '../../DifyWorkflow/transport/request';
import type { DifyRunResult } from '../../DifyWorkflow/types';

/** What the events endpoint says of a run that run detail showed paused. */
export type PauseLookup =
	/** Paused: the result the Run operation gives for a paused run, forms and tokens included. */
	| { kind: 'paused'; result: DifyRunResult }
	/** It went on between the two requests: the next poll sees where it is. */
	| { kind: 'moved' }
	/** Dify does not re-attach this user to the run (a web-app visitor Dify does not find by session ID). */
	| { kind: 'unreachable' };

/** A snapshot of a paused run closes at once; the bound only matters for a run that resumed meanwhile. */
const SNAPSHOT_TIMEOUT_MS = 15_000;

/**
 * Reads a paused run's open forms as the Run operation's paused item carries them: through
 * `GET /workflow/{id}/events?include_state_snapshot=true` (dify-api.md §12.2 C) with the run's
 * own end user, folded by the same RunAggregator.
 */
export async function readPause(transport: DifyTransport, node: INode, runId: string, user: string): Promise<PauseLookup> {
	const opened = await transport
		.stream(0, {
			method: 'GET',
			path: `/workflow/${runId}/events`,
			query: { user, include_state_snapshot: 'true' },
			timeoutMs: SNAPSHOT_TIMEOUT_MS,
			only: AGGREGATED_EVENTS,
		})
		.catch(async (error: unknown) => {
			if (difyCodeOf(error) === 'not_found') return undefined;
			if (!isMissingRoute(error)) return await Promise.reject(error);
			throw new NodeOperationError(node, 'Run Paused for Human Input needs Dify 1.14 or newer', {
				description: `Dify at ${transport.shownBaseUrl} has no events endpoint (GET /workflow/{id}/events answered HTTP ${(error as NodeApiError).httpCode}), which is where a paused run's forms are read. Upgrade Dify to 1.14 or newer, or choose another event.`,
			});
		});
	if (!opened) return { kind: 'unreachable' };
	if (opened.kind !== 'events') return { kind: 'moved' };
	const aggregator = new RunAggregator();
	try {
		reading: for await (const batch of opened.frames) {
			for (const frame of batch) {
				if (aggregator.accept(frame.name, frame, (unparsed) => transport.event<Record<string, unknown>>(0, unparsed))) break reading;
			}
		}
	} catch {
		// A run that resumed sends live events, or none for a while: where it is, the next poll reads.
		return { kind: 'moved' };
	}
	const outcome = aggregator.outcome();
	if (outcome?.kind !== 'finished' || outcome.result.status !== 'paused') return { kind: 'moved' };
	return { kind: 'paused', result: outcome.result };
}
