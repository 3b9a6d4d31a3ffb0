import type { IDataObject } from 'n8n-workflow';

import type { DifyRunResult } from '../types';

/**
 * What a failed run already produced: the run's fields where known, and in `events` output the
 * events that arrived before the failure. Under Continue On Fail they still leave the node.
 */
export interface RunFailureDetails {
	run?: Partial<DifyRunResult>;
	emitted?: IDataObject[];
}

const detailsByError = new WeakMap<object, RunFailureDetails>();

export function attachRunDetails<E extends Error>(error: E, details: RunFailureDetails): E {
	detailsByError.set(error, { ...detailsByError.get(error), ...details });
	return error;
}

export function runDetailsOf(error: unknown): RunFailureDetails | undefined {
	return typeof error === 'object' && error !== null ? detailsByError.get(error) : undefined;
}
