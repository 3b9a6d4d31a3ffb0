import type { ServerResponse } from 'node:http';

import type { DifyVersion, RunStore, StoredRun } from './app';
import { INTERNAL_ERROR_MESSAGE } from './app';
import type { Step } from './scenarios';
import type { Chunking, LineEnding } from './sse-writer';
import { SseWriter } from './sse-writer';

/**
 * Plays a run's steps in time: onto an SSE response, or into the stored run for a blocking
 * answer. Every wait ends when the client goes away, so an abandoned run leaves no timers behind.
 */

export interface PlaySettings {
	version: DifyVersion;
	chunking: Chunking;
	lineEnding: LineEnding;
	pingIntervalMs: number;
	stepDelayMs: number;
	/** How long Dify's relay holds a stream that carries no event before it closes it (Dify: 300 s). */
	idleLimitMs: number;
}

/** The run that the steps belong to; absent for a pre-run failure that never became a run. */
export interface RunBinding {
	run: StoredRun;
	store: RunStore;
}

/** How long a silent connection is held open by default. Dify's relay gives up after 300 s; tests need less. */
export const IDLE_LIMIT_MS = 120_000;

/** Aborts when the response closes: finished, abandoned by the client, or destroyed on purpose. */
function lifetime(res: ServerResponse): AbortSignal {
	const controller = new AbortController();
	if (res.destroyed) controller.abort();
	else res.once('close', () => controller.abort());
	return controller.signal;
}

/** Waits `ms`, or less if the connection closes or (for a bound run) a stop is requested. */
function pause(ms: number, signal: AbortSignal, binding?: RunBinding): Promise<void> {
	if (signal.aborted || binding?.run.stopRequested) return Promise.resolve();
	return new Promise((resolve) => {
		const finish = () => {
			clearTimeout(timer);
			signal.removeEventListener('abort', finish);
			unwatch?.();
			resolve();
		};
		const timer = setTimeout(finish, ms);
		signal.addEventListener('abort', finish, { once: true });
		const unwatch = binding?.store.onStop(binding.run.id, finish);
	});
}

/** Holds until the connection closes or the idle limit passes. */
async function idle(signal: AbortSignal, settings: PlaySettings): Promise<'closed' | 'limit'> {
	await pause(settings.idleLimitMs, signal);
	return signal.aborted ? 'closed' : 'limit';
}

/** The steps still to come, after what is left of the one being played. */
function* remaining(first: Step, rest: Iterator<Step>): Generator<Step> {
	yield first;
	for (let next = rest.next(); !next.done; next = rest.next()) yield next.value;
}

/**
 * Streams the steps as Dify does: `event: ping` first (from 1.13), pings while busy, one `data:`
 * frame per event, and a clean end after the last step. With `stallAfterEvents`, the stream
 * goes silent after that many events and stays open.
 */
export async function streamSteps(
	res: ServerResponse,
	steps: Iterable<Step>,
	settings: PlaySettings,
	binding?: RunBinding,
	stallAfterEvents?: number,
): Promise<void> {
	const signal = lifetime(res);
	res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
	const writer = new SseWriter(res, settings);
	if (settings.version !== '1.11') void writer.ping();
	const pings = setInterval(() => void writer.ping(), settings.pingIntervalMs);
	const stopPings = () => clearInterval(pings);

	const holdOpen = async () => {
		await writer.flush();
		if ((await idle(signal, settings)) === 'limit') await writer.end();
	};

	const iterator = steps[Symbol.iterator]();
	let lastEventAt = Date.now();
	try {
		let sent = 0;
		const stall = async () => {
			stopPings();
			await holdOpen();
		};
		if (stallAfterEvents === 0) return await stall();
		/** Sends one event in its time; says whether the stream must now stall or the client left. */
		const sendEvent = async (render: () => string, name = ''): Promise<'stall' | 'gone' | undefined> => {
			if (settings.stepDelayMs > 0 && sent > 0) await pause(settings.stepDelayMs, signal, binding);
			if (signal.aborted) return 'gone';
			const json = render();
			if (binding) binding.store.publish(binding.run.id, json, name);
			const backpressure = writer.event(json);
			if (backpressure) await backpressure;
			lastEventAt = Date.now();
			sent++;
			return sent === stallAfterEvents ? 'stall' : undefined;
		};
		for (let next = iterator.next(); !next.done; next = iterator.next()) {
			const step = next.value;
			if (signal.aborted) return;
			let outcome: 'stall' | 'gone' | undefined;
			switch (step.kind) {
				case 'numbered': {
					const count = step.to - step.from + 1;
					const watched = binding !== undefined && binding.store.watched(binding.run.id);
					// Whole when nothing has to happen between its events; one by one otherwise.
					if (!watched && settings.stepDelayMs === 0 && (stallAfterEvents === undefined || sent + count < stallAfterEvents)) {
						await writer.numbered(step.head, step.tail, step.from, step.to, signal);
						sent += count;
						break;
					}
					for (let n = step.from; n <= step.to && outcome === undefined; n++) {
						outcome = await sendEvent(() => `${step.head}${n}${step.tail}`);
					}
					break;
				}
				case 'event':
					outcome = await sendEvent(() => {
						binding?.store.apply(binding.run, step.event);
						return JSON.stringify(step.event);
					}, step.event.event);
					break;
				case 'encoded':
					outcome = await sendEvent(() => step.json);
					break;
				case 'sleep': {
					// From 1.13 on the stream is a relay of a worker's events: a step that sends nothing for
					// the relay's idle limit gets the stream closed cleanly, while the worker goes on.
					const quietLeft = settings.idleLimitMs - (Date.now() - lastEventAt);
					if (binding && settings.version !== '1.11' && step.ms > quietLeft) {
						const asleepAt = Date.now();
						await pause(Math.max(0, quietLeft), signal, binding);
						if (signal.aborted) return;
						// A stop cuts the step short: the run ends on this stream.
						if (binding.run.stopRequested) break;
						stopPings();
						await writer.end();
						const rest = Math.max(0, step.ms - (Date.now() - asleepAt));
						void playDetached(remaining({ kind: 'sleep', ms: rest }, iterator), settings, binding);
						return;
					}
					await pause(step.ms, signal, binding);
					break;
				}
				case 'idle':
					if (!step.pings) stopPings();
					return await holdOpen();
				case 'drop':
					// From 1.13 on a worker runs the workflow: it carries on without its client.
					if (settings.version === '1.11' || !binding) {
						stopPings();
						return await writer.breakInsideDataLine(JSON.stringify(step.event));
					}
				// falls through
				case 'cut': {
					stopPings();
					const json = JSON.stringify(step.event);
					await writer.breakInsideDataLine(json);
					if (!binding) return;
					binding.store.apply(binding.run, step.event);
					binding.store.publish(binding.run.id, json, step.event.event);
					void playDetached(iterator, settings, binding);
					return;
				}
			}
			if (outcome === 'gone') return;
			if (outcome === 'stall') return await stall();
		}
		stopPings();
		await writer.end();
	} finally {
		stopPings();
	}
}

/**
 * Plays the rest of a run with no client attached, as Dify's worker does once a stream was cut
 * or a form was answered: every event updates the stored run and goes to the run's watchers.
 * It ends with the steps, or when the stand-in is reset or closed.
 */
export async function playDetached(steps: Iterator<Step> | Iterable<Step>, settings: PlaySettings, binding: RunBinding): Promise<void> {
	const iterator = Symbol.iterator in steps ? steps[Symbol.iterator]() : steps;
	const signal = binding.store.lifetime;
	const publish = (json: string, name: string) => binding.store.publish(binding.run.id, json, name);
	let events = 0;
	const paced = async () => {
		if (settings.stepDelayMs > 0 && events++ > 0) await pause(settings.stepDelayMs, signal, binding);
	};
	for (let next = iterator.next(); !next.done && !signal.aborted; next = iterator.next()) {
		const step = next.value;
		switch (step.kind) {
			case 'event':
			case 'cut':
			case 'drop':
				await paced();
				binding.store.apply(binding.run, step.event);
				publish(JSON.stringify(step.event), step.event.event);
				break;
			case 'encoded':
				await paced();
				publish(step.json, '');
				break;
			case 'numbered':
				for (let n = step.from; n <= step.to && !signal.aborted; n++) {
					await paced();
					publish(`${step.head}${n}${step.tail}`, '');
				}
				break;
			case 'sleep':
				await pause(step.ms, signal, binding);
				break;
			case 'idle':
				return;
		}
	}
}

export type BlockingOutcome =
	/** The run reached a state that the blocking answer reports (finished or paused). */
	| { kind: 'answer' }
	| { kind: 'error'; status: number; code: string; message: string }
	/** The client left, or the scenario cut the connection: nothing more to send. */
	| { kind: 'gone' };

/** Runs the steps without streaming, for a blocking request; the caller answers from the stored run. */
export async function playBlocking(
	res: ServerResponse,
	steps: Iterable<Step>,
	settings: PlaySettings,
	binding: RunBinding,
): Promise<BlockingOutcome> {
	const signal = lifetime(res);
	let events = 0;
	for (const step of steps) {
		if (signal.aborted) return { kind: 'gone' };
		switch (step.kind) {
			case 'numbered':
				for (let n = step.from; n <= step.to; n++) {
					if (settings.stepDelayMs > 0 && events > 0) await pause(settings.stepDelayMs, signal, binding);
					events++;
				}
				break;
			case 'event':
			case 'encoded':
				if (settings.stepDelayMs > 0 && events > 0) await pause(settings.stepDelayMs, signal, binding);
				events++;
				if (step.kind === 'encoded') break;
				binding.store.apply(binding.run, step.event);
				if (step.event.event === 'error') {
					const code = typeof step.event.code === 'string' ? step.event.code : 'internal_server_error';
					const status = typeof step.event.status === 'number' ? step.event.status : 500;
					// Outside a stream, Dify turns an unexpected exception into werkzeug's generic 500.
					const message = code === 'internal_server_error' ? INTERNAL_ERROR_MESSAGE : String(step.event.message);
					return { kind: 'error', status, code, message };
				}
				break;
			case 'sleep':
				await pause(step.ms, signal, binding);
				break;
			case 'idle':
				if ((await idle(signal, settings)) === 'limit') res.destroy();
				return { kind: 'gone' };
			case 'drop':
			case 'cut':
				res.destroy();
				return { kind: 'gone' };
		}
	}
	if (signal.aborted) return { kind: 'gone' };
	// The scenario ended without a final state: the blocking generator would have raised.
	if (binding.run.status === 'running') {
		return { kind: 'error', status: 500, code: 'internal_server_error', message: INTERNAL_ERROR_MESSAGE };
	}
	return { kind: 'answer' };
}
