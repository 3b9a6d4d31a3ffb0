import type { IDataObject } from 'n8n-workflow';

import type { DifyLogEntry } from '../../DifyWorkflow/types';

/**
 * What the trigger remembers between polls, in the workflow's static data. n8n saves it only with
 * an execution that a poll's items start (and at activation): a poll that emits nothing may have
 * its changes lost on a restart. Every change is therefore one that a poll from the older state
 * makes again: runs are found again from the older cursor, and a run's end or pause that produced
 * no item is still there to be seen.
 */
export interface TriggerState {
	/** Version of this shape. */
	v: 1;
	/** What the cursor was built for (TriggerSettings.fingerprint). */
	fingerprint: string;
	/** Dify's `created_at` (Unix seconds) of the newest run seen. */
	cursor: number;
	/** The runs seen that were created in the cursor's second: Dify's bound is inclusive, to the second. */
	atCursor: string[];
	/** Runs seen running or paused, followed by run detail until they end; by run ID. */
	followed: Record<string, FollowedRun>;
}

/** What a log row said of a run, kept for the item its end or pause will make. */
export interface RunOrigin {
	log_id: string;
	created_at: number;
	workflow_version: string | null;
	triggered_from: string | null;
	created_from: string;
	created_by_role: string;
	created_by_end_user: DifyLogEntry['created_by_end_user'];
	created_by_account: DifyLogEntry['created_by_account'];
}

export interface FollowedRun {
	origin: RunOrigin;
	/** The run's `total_steps` at the pause already reported (or present at activation): the same pause is not reported twice. */
	pausedAtSteps?: number;
}

/**
 * The most runs followed at once: each costs one request per poll. Past it, the runs followed
 * longest are let go (and n8n's log says which): their end is not reported.
 */
export const MAX_FOLLOWED = 100;

export function originOf(row: DifyLogEntry): RunOrigin {
	return {
		log_id: row.id,
		created_at: row.created_at,
		workflow_version: row.workflow_run.version ?? null,
		triggered_from: row.workflow_run.triggered_from ?? null,
		created_from: row.created_from,
		created_by_role: row.created_by_role,
		created_by_end_user: row.created_by_end_user ?? null,
		created_by_account: row.created_by_account ?? null,
	};
}

/** The state kept in static data, or undefined when there is none or it was kept for other settings. */
export function readState(staticData: IDataObject, fingerprint: string): TriggerState | undefined {
	const state = staticData.state as TriggerState | undefined;
	if (!state || state.v !== 1 || state.fingerprint !== fingerprint || typeof state.cursor !== 'number') return undefined;
	return {
		v: 1,
		fingerprint,
		cursor: state.cursor,
		atCursor: Array.isArray(state.atCursor) ? [...state.atCursor] : [],
		followed: { ...(state.followed ?? {}) },
	};
}

/** Replaces the whole state at once, so that n8n sees the change whatever it tracks. */
export function writeState(staticData: IDataObject, state: TriggerState): void {
	staticData.state = state as unknown as IDataObject;
}

/** Keeps the newest MAX_FOLLOWED runs; returns the IDs let go. */
export function boundFollowed(state: TriggerState): string[] {
	const ids = Object.keys(state.followed);
	if (ids.length <= MAX_FOLLOWED) return [];
	const oldestFirst = ids.sort((a, b) => state.followed[a].origin.created_at - state.followed[b].origin.created_at);
	const dropped = oldestFirst.slice(0, ids.length - MAX_FOLLOWED);
	for (const id of dropped) delete state.followed[id];
	return dropped;
}
