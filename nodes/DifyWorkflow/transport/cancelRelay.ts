import { EventEmitter } from 'node:events';

/**
 * The execution's cancel signal, re-told as an EventEmitter, which undici accepts as a request's
 * signal. Handing the long-lived AbortSignal itself to every request costs an EventTarget listener
 * per request; those listeners live long enough to be promoted by the GC, and a thousand quick
 * Get Info calls took about 30 % longer for it (docs/benchmarks.md, figure 5). One listener on the
 * real signal and cheap emitter listeners per request keep cancellation at the same promptness.
 */
export class CancelRelay extends EventEmitter {
	aborted = false;
	reason: unknown;

	constructor(signal: AbortSignal) {
		super();
		// One listener per request in flight: as many as the Concurrency option allows.
		this.setMaxListeners(0);
		if (signal.aborted) {
			this.aborted = true;
			this.reason = signal.reason;
			return;
		}
		signal.addEventListener(
			'abort',
			() => {
				this.aborted = true;
				this.reason = signal.reason;
				this.emit('abort');
			},
			{ once: true },
		);
	}
}
