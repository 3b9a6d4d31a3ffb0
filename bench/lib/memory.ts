import { getHeapStatistics } from 'node:v8';

/** Peaks of RSS and of the V8 heap in use, read on a timer while a measured run goes on. */
export interface MemoryPeaks {
	rssBytes: number;
	heapBytes: number;
	externalBytes: number;
	samples: number;
}

/**
 * Samples on a timer: the measured code yields to the event loop at least once per network read,
 * so samples land between reads. A peak between two samples can be missed; the kernel's maxRSS,
 * read separately, cannot.
 */
export class MemorySampler {
	private peaks: MemoryPeaks = { rssBytes: 0, heapBytes: 0, externalBytes: 0, samples: 0 };
	private timer: NodeJS.Timeout | undefined;

	start(intervalMs = 5): void {
		this.peaks = { rssBytes: 0, heapBytes: 0, externalBytes: 0, samples: 0 };
		this.sample();
		this.timer = setInterval(() => this.sample(), intervalMs);
	}

	stop(): MemoryPeaks {
		clearInterval(this.timer);
		this.timer = undefined;
		this.sample();
		return { ...this.peaks };
	}

	private sample(): void {
		const rss = process.memoryUsage.rss();
		const heap = getHeapStatistics();
		const external = heap.external_memory;
		if (rss > this.peaks.rssBytes) this.peaks.rssBytes = rss;
		if (external > this.peaks.externalBytes) this.peaks.externalBytes = external;
		if (heap.used_heap_size > this.peaks.heapBytes) this.peaks.heapBytes = heap.used_heap_size;
		this.peaks.samples++;
	}
}

/** The kernel's high-water mark of this process's resident set, in bytes. */
export function maxRssBytes(): number {
	return process.resourceUsage().maxRSS * 1024;
}

/** Collects garbage when the process was started with --expose-gc; a no-op otherwise. */
export function collectGarbage(): void {
	const gc = (globalThis as { gc?: () => void }).gc;
	if (gc) {
		gc();
		gc();
	}
}

export function heapUsedBytes(): number {
	return getHeapStatistics().used_heap_size;
}
