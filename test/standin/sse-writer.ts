import type { ServerResponse } from 'node:http';

/**
 * How the bytes of an event stream are cut into network writes.
 * - `awkward`: deterministic cuts where naive SSE readers break (see awkwardCuts).
 * - `frame`: one write per frame, the way Dify's server flushes.
 * - `bulk`: large writes for throughput measurements.
 */
export type Chunking = 'awkward' | 'frame' | 'bulk';
export type LineEnding = '\n' | '\r\n';

export interface SseWriterOptions {
	chunking: Chunking;
	lineEnding: LineEnding;
}

/** The one frame shape Dify uses for JSON events. */
export function dataFrame(json: string, eol: LineEnding): string {
	return `data: ${json}${eol}${eol}`;
}

/** Dify's keep-alive: an `event:` line without any `data:` line. */
export function pingFrame(eol: LineEnding): string {
	return `event: ping${eol}${eol}`;
}

/** A frame pattern repeats every this many frames, so every kind of cut shows up in any stream of a few events. */
const AWKWARD_CYCLE = 5;

/**
 * Offsets inside one frame (0 < offset <= length) at which the awkward plan ends a network write.
 * A frame with no cut at its end flows into the next write together with the following frames.
 *
 * By position in the cycle:
 * 0. inside the field name (`dat|a: …`, `eve|nt: ping`), inside the first and the last multi-byte
 *    UTF-8 character of the frame, and at the frame end;
 * 1. in the middle of the line, and between the two line endings that close the frame;
 * 2. and 3. no cut: they travel whole, with the tail of 1 and the frame of 4, in one write;
 * 4. at the end (`\n` frames) or between the CR and the LF of the last line ending (CRLF frames).
 */
export function awkwardCuts(frame: Uint8Array, index: number, eol: LineEnding): number[] {
	const length = frame.length;
	const lineLength = length - 2 * eol.length;
	switch (index % AWKWARD_CYCLE) {
		case 0: {
			const cuts = new Set<number>([3, length]);
			const multiByte = multiByteCharacters(frame);
			const first = multiByte[0];
			const last = multiByte[multiByte.length - 1];
			if (first) cuts.add(first.start + 1);
			if (last) cuts.add(last.start + last.size - 1);
			return [...cuts].filter((cut) => cut > 0 && cut <= length).sort((a, b) => a - b);
		}
		case 1:
			return [Math.max(1, Math.floor(lineLength / 2)), length - eol.length];
		case 4:
			return [eol === '\r\n' ? length - 1 : length];
		default:
			return [];
	}
}

function multiByteCharacters(bytes: Uint8Array): Array<{ start: number; size: number }> {
	const found: Array<{ start: number; size: number }> = [];
	for (let i = 0; i < bytes.length; i++) {
		const byte = bytes[i];
		if (byte < 0xc0) continue;
		const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
		found.push({ start: i, size });
		i += size - 1;
	}
	return found;
}

/** Where bytes go; each strategy decides how queued frames become writes. */
interface FrameSink {
	/** Queues a frame; returns a promise only when the producer should wait (backpressure). */
	push(frame: string): Promise<void> | undefined;
	/** Resolves once everything queued has been handed to the socket. */
	flush(): Promise<void>;
}

function writable(res: ServerResponse): boolean {
	return !res.destroyed && !res.writableEnded;
}

/** Settles on 'drain', or on 'close' so that nobody waits on a connection that is gone. */
function drained(res: ServerResponse): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			res.off('drain', done);
			res.off('close', done);
			resolve();
		};
		res.on('drain', done);
		res.on('close', done);
	});
}

/** Writes one chunk and waits until it has left, plus one turn of the event loop. */
function writeAndPause(res: ServerResponse, chunk: Buffer): Promise<void> {
	return new Promise((resolve) => {
		let settled = false;
		const done = () => {
			if (settled) return;
			settled = true;
			res.off('close', done);
			setImmediate(resolve);
		};
		res.on('close', done);
		if (writable(res)) res.write(chunk, () => done());
		else done();
	});
}

class FramePerWrite implements FrameSink {
	constructor(private readonly res: ServerResponse) {}

	push(frame: string): Promise<void> | undefined {
		if (!writable(this.res)) return undefined;
		return this.res.write(frame) ? undefined : drained(this.res);
	}

	flush(): Promise<void> {
		return this.res.writableNeedDrain ? drained(this.res) : Promise.resolve();
	}
}

const BULK_WRITE_CHARS = 64 * 1024;

/**
 * Renders the frames `before n after` from n = `from` into `chunk` while they fit (at least one);
 * returns the bytes used and the next n. Kept apart from the async writer so that it runs optimised.
 */
function fillNumbered(chunk: Buffer, frame: { before: Buffer; after: Buffer }, from: number, to: number): { used: number; next: number } {
	const { before, after } = frame;
	const largest = before.length + after.length + 16;
	let used = 0;
	let n = from;
	for (; n <= to && (used === 0 || used + largest <= chunk.length); n++) {
		chunk.set(before, used);
		used += before.length;
		used += writeDecimal(chunk, used, n);
		chunk.set(after, used);
		used += after.length;
	}
	return { used, next: n };
}

/** Writes `n` (a whole number ≥ 0) in decimal ASCII at `at`; returns how many bytes it took. */
function writeDecimal(target: Buffer, at: number, n: number): number {
	let digits = 1;
	for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
	for (let i = digits - 1, rest = n; i >= 0; i--, rest = Math.floor(rest / 10)) target[at + i] = 48 + (rest % 10);
	return digits;
}

/** Gathers frames into large writes; a short pause of the producer flushes what has gathered. */
class BulkWrites implements FrameSink {
	private parts: string[] = [];
	private size = 0;
	private flushScheduled = false;
	private blocked: Promise<void> | undefined;

	constructor(private readonly res: ServerResponse) {}

	push(frame: string): Promise<void> | undefined {
		this.parts.push(frame);
		this.size += frame.length;
		if (this.size >= BULK_WRITE_CHARS) this.writeOut();
		else if (!this.flushScheduled) {
			this.flushScheduled = true;
			setImmediate(() => {
				this.flushScheduled = false;
				this.writeOut();
			});
		}
		return this.blocked;
	}

	flush(): Promise<void> {
		this.writeOut();
		return this.blocked ?? Promise.resolve();
	}

	/** Writes ready bytes after whatever text has gathered, keeping their order; `written` follows the write. */
	pushBytes(bytes: Buffer, written?: () => void): Promise<void> | undefined {
		this.writeOut();
		if (!writable(this.res)) return this.blocked;
		if (!this.res.write(bytes, written) && !this.blocked) {
			this.blocked = drained(this.res).then(() => {
				this.blocked = undefined;
			});
		}
		return this.blocked;
	}

	private writeOut(): void {
		if (this.size === 0) return;
		const chunk = Buffer.from(this.parts.join(''), 'utf8');
		this.parts = [];
		this.size = 0;
		if (!writable(this.res)) return;
		if (!this.res.write(chunk) && !this.blocked) {
			this.blocked = drained(this.res).then(() => {
				this.blocked = undefined;
			});
		}
	}
}

/** Queued bytes above which the producer of an awkward stream waits for the writes to catch up. */
const AWKWARD_HIGH_WATER = 64 * 1024;

/**
 * Writes piece by piece along the awkward cut plan. It never waits for more bytes to reach a cut:
 * when the queue runs dry mid-plan it writes what it has, so a slow run is never held back.
 */
class AwkwardWrites implements FrameSink {
	private readonly frames: Array<{ bytes: Buffer; cuts: number[] }> = [];
	private offset = 0;
	private queuedBytes = 0;
	private framesSeen = 0;
	private pumping = false;
	private waiters: Array<() => void> = [];

	constructor(
		private readonly res: ServerResponse,
		private readonly eol: LineEnding,
	) {}

	push(frame: string): Promise<void> | undefined {
		const bytes = Buffer.from(frame, 'utf8');
		this.frames.push({ bytes, cuts: awkwardCuts(bytes, this.framesSeen++, this.eol) });
		this.queuedBytes += bytes.length;
		if (!this.pumping) void this.pump();
		return this.queuedBytes > AWKWARD_HIGH_WATER ? this.flush() : undefined;
	}

	flush(): Promise<void> {
		if (!this.pumping && this.frames.length === 0) return Promise.resolve();
		return new Promise((resolve) => this.waiters.push(resolve));
	}

	private async pump(): Promise<void> {
		this.pumping = true;
		while (this.frames.length > 0 && writable(this.res)) {
			const piece = this.nextPiece();
			this.queuedBytes -= piece.length;
			await writeAndPause(this.res, piece);
		}
		// Whatever is left can never be sent: forget it, so that flushing a dead stream returns.
		this.frames.length = 0;
		this.offset = 0;
		this.queuedBytes = 0;
		this.pumping = false;
		const waiters = this.waiters;
		this.waiters = [];
		for (const wake of waiters) wake();
	}

	private nextPiece(): Buffer {
		const parts: Buffer[] = [];
		while (this.frames.length > 0) {
			const { bytes, cuts } = this.frames[0];
			const cut = cuts.find((at) => at > this.offset);
			const end = cut ?? bytes.length;
			parts.push(bytes.subarray(this.offset, end));
			if (end === bytes.length) {
				this.frames.shift();
				this.offset = 0;
			} else {
				this.offset = end;
			}
			if (cut !== undefined) break;
		}
		return Buffer.concat(parts);
	}
}

/** An SSE response body: frames in, network writes out, following the chosen chunking. */
export class SseWriter {
	private readonly sink: FrameSink;
	/** The same sink when it is a bulk one: it also takes ready bytes. */
	private readonly bulk: BulkWrites | undefined;
	private readonly eol: LineEnding;

	constructor(
		private readonly res: ServerResponse,
		options: SseWriterOptions,
	) {
		this.eol = options.lineEnding;
		res.socket?.setNoDelay(true);
		this.bulk = options.chunking === 'bulk' ? new BulkWrites(res) : undefined;
		if (this.bulk) this.sink = this.bulk;
		else if (options.chunking === 'frame') this.sink = new FramePerWrite(res);
		else this.sink = new AwkwardWrites(res, options.lineEnding);
	}

	/** Queues one JSON event (already serialised, compact); a returned promise asks the caller to wait. */
	event(json: string): Promise<void> | undefined {
		return this.sink.push(dataFrame(json, this.eol));
	}

	/**
	 * Writes the events `${head}${n}${tail}` for n from `from` to `to`. A bulk stream renders them
	 * straight into its write buffers, byte by byte, so that the server's cost per event stays far
	 * below a client's; the other chunkings take them one frame at a time.
	 */
	async numbered(head: string, tail: string, from: number, to: number, signal: AbortSignal): Promise<void> {
		const bulk = this.bulk;
		if (!bulk) {
			for (let n = from; n <= to && !signal.aborted; n++) {
				const backpressure = this.sink.push(dataFrame(`${head}${n}${tail}`, this.eol));
				if (backpressure) await backpressure;
			}
			return;
		}
		const frame = { before: Buffer.from(`data: ${head}`, 'utf8'), after: Buffer.from(`${tail}${this.eol}${this.eol}`, 'utf8') };
		const size = Math.max(BULK_WRITE_CHARS, frame.before.length + frame.after.length + 16);
		// Buffers come back once the socket has taken them: tens of megabytes of fresh external
		// memory per run would otherwise drive the server's GC, and the server must stay cheap.
		const spare: Buffer[] = [];
		for (let next = from; next <= to && !signal.aborted; ) {
			const chunk = spare.pop() ?? Buffer.allocUnsafeSlow(size);
			const filled = fillNumbered(chunk, frame, next, to);
			next = filled.next;
			const backpressure = bulk.pushBytes(chunk.subarray(0, filled.used), () => spare.push(chunk));
			if (backpressure) await backpressure;
		}
	}

	ping(): Promise<void> | undefined {
		return this.sink.push(pingFrame(this.eol));
	}

	flush(): Promise<void> {
		return this.sink.flush();
	}

	/** Sends what is queued, then ends the response cleanly (terminating chunk included). */
	async end(): Promise<void> {
		await this.sink.flush();
		if (writable(this.res)) this.res.end();
	}

	/**
	 * Sends what is queued and the first half of this event's `data:` line, then destroys the
	 * connection: the client sees bytes stop in the middle of a line, without a clean end.
	 */
	async breakInsideDataLine(json: string): Promise<void> {
		await this.sink.flush();
		const line = Buffer.from(`data: ${json}`, 'utf8');
		const half = line.subarray(0, Math.max(7, Math.floor(line.length / 2)));
		await writeAndPause(this.res, half);
		this.res.socket?.destroy();
	}
}
