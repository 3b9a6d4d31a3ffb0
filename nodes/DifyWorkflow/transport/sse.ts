import { StringDecoder } from 'node:string_decoder';

import { createParser } from 'eventsource-parser';

/**
 * One Dify SSE frame. Dify names the event inside the JSON (`{"event":"text_chunk",…}`), never
 * with an `event:` line, so the name is read from the start of the data; the JSON itself is
 * parsed only when someone needs it: a run in `final` mode never parses its text chunks.
 */
export class DifySseFrame {
	private knownName: string | undefined;

	/** `data` is the frame's `data:` text, one JSON object. */
	constructor(readonly data: string) {}

	/** The `event` key of the JSON; '' when the data does not start like a Dify event. */
	get name(): string {
		return (this.knownName ??= frameName(this.data));
	}
}

/** A frame the node cannot use: not a JSON object, or too large to hold. */
export class SseFrameError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SseFrameError';
	}
}

/** Frames larger than this are refused instead of growing memory without bound. */
export const MAX_FRAME_CHARS = 64 * 1024 * 1024;

/** Compact (orjson, Dify 1.11+) and spaced (json.dumps, older Dify) openings of an event. */
const COMPACT_PREFIX = '{"event":"';
const SPACED_PREFIX = '{"event": "';
const BACKSLASH = 0x5c;

/**
 * Where the event name starts in the data, or -1 when the data does not open like a Dify event.
 * Runs for every frame of a stream: comparing a short slice measured cheaper here than
 * startsWith or a loop over the characters, on the substrings the SSE parser hands over.
 */
function nameOffset(data: string): number {
	if (data.slice(0, COMPACT_PREFIX.length) === COMPACT_PREFIX) return COMPACT_PREFIX.length;
	if (data.slice(0, SPACED_PREFIX.length) === SPACED_PREFIX) return SPACED_PREFIX.length;
	return -1;
}

/** Reads the event name from the opening of the data without parsing the whole JSON. */
export function frameName(data: string): string {
	const start = nameOffset(data);
	if (start >= 0) {
		const end = data.indexOf('"', start);
		// A name with escapes would need real parsing; Dify's names never have them.
		if (end > start && data.lastIndexOf('\\', end) < start) return data.slice(start, end);
	}
	try {
		const parsed = JSON.parse(data) as { event?: unknown };
		return typeof parsed?.event === 'string' ? parsed.event : '';
	} catch {
		return '';
	}
}

/**
 * The few event names a reader waits for among many frames. Frames are turned away by the first
 * letter of their name alone, which is cheap enough to run on every frame of a fast stream; the
 * few that pass are then told apart by their full name.
 */
export class EventNameSet {
	/** Indexed by a character code's low 7 bits: 1 when some name may start with it. */
	private readonly firstLetters = new Uint8Array(128);

	constructor(names: Iterable<string>) {
		for (const name of names) this.firstLetters[name.charCodeAt(0) & 0x7f] = 1;
	}

	/** True when the frame's name is certainly not in the set, seen from its first letter alone. */
	surelyOutside(data: string): boolean {
		// The compact opening first, inline: this runs once for every frame of a stream.
		const start = data.slice(0, COMPACT_PREFIX.length) === COMPACT_PREFIX ? COMPACT_PREFIX.length : nameOffset(data);
		if (start < 0) return false;
		const first = data.charCodeAt(start);
		// A name that opens with an escape (\u0077…) may be any name: only parsing can tell.
		return first !== BACKSLASH && this.firstLetters[first & 0x7f] === 0;
	}
}

/** Parses a frame's JSON; a frame that is not a JSON object is an SseFrameError. */
export function parseFrame<T = Record<string, unknown>>(frame: DifySseFrame): T {
	let parsed: unknown;
	try {
		parsed = JSON.parse(frame.data);
	} catch {
		parsed = undefined;
	}
	if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
		const shown = frame.data.length > 200 ? `${frame.data.slice(0, 200)}…` : frame.data;
		throw new SseFrameError(`Dify sent an event that is not a JSON object: ${shown}`);
	}
	return parsed as T;
}

/**
 * Where the last line of the text starts, less one: its last LF or CR, or -1. Runs on every read
 * that completes no frame, such as the many reads of one large event: a text with no line break
 * is told by indexOf, which V8 runs far faster than lastIndexOf over a whole read; and a CR can
 * only be last when it comes after the last LF, so only that tail is searched for one.
 */
function lastLineBreak(text: string): number {
	if (text.indexOf('\n') < 0) return text.indexOf('\r') < 0 ? -1 : text.lastIndexOf('\r');
	const lf = text.lastIndexOf('\n');
	return text.indexOf('\r', lf + 1) < 0 ? lf : text.lastIndexOf('\r');
}

/** The first characters of the line left unfinished after `text`, given those before it. */
function lineHeadAfter(text: string, before: string): string {
	const lastBreak = lastLineBreak(text);
	return lastBreak < 0 ? (before + text.slice(0, 5)).slice(0, 5) : text.slice(lastBreak + 1, lastBreak + 6);
}

/**
 * Turns an SSE body into Dify frames as its bytes arrive: feed each network read, get the frames
 * it completed. Synchronous, so that the reader of a stream needs one async step per network
 * read and none per frame: a 200,000-event run would otherwise pay 200,000 promise round trips.
 *
 * Bytes are decoded as one UTF-8 stream, so a character split across reads stays whole; the
 * parser accepts LF, CRLF and CR line ends. `event: ping` frames carry no data and so are never
 * dispatched: keep-alives are not frames.
 *
 * string_decoder rather than TextDecoder: on Node.js 20 it decoded a 43 MB stream about four
 * times faster, and decoding is the largest single cost of reading a fast stream.
 */
export class SseFrameReader {
	private batch: DifySseFrame[] = [];
	private overflow = false;
	private endsWithCr = false;
	private started = false;
	/** Frames completed so far, dropped ones included, and how many the last read completed. */
	private frames = 0;
	private lastReadProgressed = false;
	/** The first characters of the line still unfinished after the last read, or before `unscanned`. */
	private lineHead = '';
	/**
	 * The last read, when it completed frames: where its unfinished line starts is looked up only
	 * if the next read completes none. A read that completes a frame holds a line break (the
	 * parser ends lines only at one), so that start does not depend on the reads before it.
	 */
	private unscanned: string | undefined;
	private readonly decoder = new StringDecoder('utf8');
	private readonly parser = createParser({
		onEvent: (message) => {
			// The first frame always stays: it is the one that names the run and its task.
			if (this.frames++ > 0 && this.only !== undefined && this.only.surelyOutside(message.data)) return;
			this.batch.push(new DifySseFrame(message.data));
		},
		onError: (error) => {
			if ((error as { type?: string }).type === 'max-buffer-size-exceeded') this.overflow = true;
		},
		maxBufferSize: MAX_FRAME_CHARS,
	});

	/**
	 * With `only`, frames surely named otherwise are dropped as soon as they are parsed, before any
	 * object is made for them: a `final` run of 200,000 text chunks then hands on a handful of frames.
	 */
	constructor(private readonly only?: EventNameSet) {}

	/** Takes one network read; returns the frames it completed, in order (often none). */
	feed(chunk: Uint8Array | string): DifySseFrame[] {
		let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
		if (!this.started && text.length > 0) {
			this.started = true;
			// A byte order mark may open an event stream and is not part of its first line.
			if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
		}
		if (text.length > 0) this.endsWithCr = text.charCodeAt(text.length - 1) === 13;
		const before = this.frames;
		this.parser.feed(text);
		// A completed frame is progress; so are the bytes of a data line still arriving (one large
		// event slower than the Timeout). Only a fast stream's reads complete frames, so only the
		// rare read that completes none is looked at more closely.
		const completed = this.frames > before;
		if (completed) this.unscanned = text;
		this.lastReadProgressed = completed || this.followLines(text);
		if (this.overflow) {
			throw new SseFrameError(
				`Dify sent an event larger than ${MAX_FRAME_CHARS / 1024 / 1024} MiB; the node refuses it to protect n8n's memory.`,
			);
		}
		return this.take();
	}

	/**
	 * Whether the last read completed a frame (kept or dropped), or brought bytes of a frame's
	 * data: keep-alive pings (`event: ping` and comments, no data) are neither.
	 */
	progressed(): boolean {
		return this.lastReadProgressed;
	}

	/**
	 * For a read that completed no frame: keeps the start of the line it leaves unfinished, and
	 * tells whether it added to a `data:` line (a new one, or the unfinished one continued).
	 */
	private followLines(text: string): boolean {
		if (text.length === 0) return false;
		const head = this.unscanned === undefined ? this.lineHead : lineHeadAfter(this.unscanned, this.lineHead);
		this.unscanned = undefined;
		const lastBreak = lastLineBreak(text);
		this.lineHead = lastBreak < 0 ? (head + text.slice(0, 5)).slice(0, 5) : text.slice(lastBreak + 1, lastBreak + 6);
		const continues = (line: string) => /^data(:|$)/.test(line.slice(0, 5));
		if (lastBreak < 0) return continues(this.lineHead);
		const firstBreak = text.search(/[\r\n]/);
		return (firstBreak !== 0 && continues(head + text.slice(0, Math.min(firstBreak, 5)))) || /[\r\n]data(:|[\r\n]|$)/.test(text);
	}

	/**
	 * Ends the body. As the SSE standard says, a frame cut off by the end of the body (no blank
	 * line after it) is dropped: it may be a truncated JSON line from a dropped connection.
	 */
	end(): DifySseFrame[] {
		// The parser holds a trailing CR in case an LF follows; at the end of the body none will.
		this.parser.feed(this.decoder.end() + (this.endsWithCr ? '\n' : ''));
		return this.take();
	}

	private take(): DifySseFrame[] {
		if (this.batch.length === 0) return [];
		const done = this.batch;
		this.batch = [];
		return done;
	}
}
