import { performance } from 'node:perf_hooks';

/**
 * Calls `onSilence` once no progress has been reported for `ms`. Progress only notes the time;
 * the one timer, when it fires early, waits for the rest. A stream reports progress on every
 * network read, and re-creating a timer each time measured as a visible part of a fast stream's
 * cost (docs/benchmarks.md, figure 1).
 */
export class SilenceWatch {
	private lastProgress = performance.now();
	private timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly ms: number,
		private readonly onSilence: () => void,
	) {
		this.wait(ms);
	}

	progress(): void {
		this.lastProgress = performance.now();
	}

	stop(): void {
		clearTimeout(this.timer);
		this.timer = undefined;
	}

	private wait(delay: number): void {
		this.timer = setTimeout(() => {
			const quiet = performance.now() - this.lastProgress;
			if (quiet >= this.ms) {
				this.timer = undefined;
				this.onSilence();
			} else {
				this.wait(this.ms - quiet);
			}
		}, delay);
	}
}
