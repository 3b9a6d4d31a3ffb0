import { performance } from 'node:perf_hooks';

/**
 * When a run last made progress: the time of its last workflow event (dropped frames included,
 * keep-alive pings not). One clock may follow a run across several streams, so that a stream
 * re-attached after Dify closed a quiet one allows only what is left of the silence, not a fresh one.
 */
export class ProgressClock {
	private last = performance.now();
	private begun = false;

	note(): void {
		this.last = performance.now();
	}

	/** A stream of the run began: from now on a silence is the run's, not a stream that never started. */
	begin(): void {
		this.begun = true;
	}

	/** Milliseconds since the last progress (or since the clock was made). */
	quietFor(): number {
		return performance.now() - this.last;
	}

	get started(): boolean {
		return this.begun;
	}

	/** The clock's reading, to tell later whether anything moved since. */
	get reading(): number {
		return this.last;
	}
}

/**
 * Calls `onSilence` once the clock has seen no progress for `ms`. Progress only notes the time;
 * the one timer, when it fires early, waits for the rest. A stream reports progress on every
 * network read, and re-creating a timer each time measured as a visible part of a fast stream's
 * cost (docs/benchmarks.md, figure 1).
 */
export class SilenceWatch {
	private timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly ms: number,
		private readonly onSilence: () => void,
		readonly clock: ProgressClock = new ProgressClock(),
	) {
		this.wait(Math.max(0, ms - clock.quietFor()));
	}

	progress(): void {
		this.clock.note();
	}

	stop(): void {
		clearTimeout(this.timer);
		this.timer = undefined;
	}

	private wait(delay: number): void {
		this.timer = setTimeout(() => {
			const quiet = this.clock.quietFor();
			if (quiet >= this.ms) {
				this.timer = undefined;
				this.onSilence();
			} else {
				this.wait(this.ms - quiet);
			}
		}, delay);
	}
}
