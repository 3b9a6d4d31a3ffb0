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
const LF = 0x0a;
const CR = 0x0d;
/** A frame's only line, as Dify writes it, up to the first letter of the event's name. */
const DATA_LINE_PREFIX = Buffer.from(`data: ${COMPACT_PREFIX}`, 'latin1');

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

	/** The same for a frame's line in bytes, when it opens as Dify writes it: `data: {"event":"`. */
	surelyOutsideLine(bytes: Uint8Array, lineStart: number): boolean {
		const prefix = DATA_LINE_PREFIX;
		if (lineStart + prefix.length >= bytes.length) return false;
		for (let i = 0; i < prefix.length; i++) if (bytes[lineStart + i] !== prefix[i]) return false;
		const first = bytes[lineStart + prefix.length];
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

/**
 * Where the next event starts after `from` in the bytes of a read: after the next LF LF. The
 * second of two LFs always ends an empty line, since the first ends a line (alone or after a CR),
 * and an empty line ends the event. Event starts after other line ends are not looked for.
 */
function nextEventStart(bytes: Buffer, from: number): number {
	for (let lf = bytes.indexOf(LF, from); lf >= 0 && lf + 1 < bytes.length; lf = bytes.indexOf(LF, lf + 1)) {
		if (bytes[lf + 1] === LF) return lf + 2 < bytes.length ? lf + 2 : -1;
	}
	return -1;
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
	/** Whether the bytes so far end with LF, and with LF LF: then the next byte starts a new event. */
	private endsWithLf = false;
	private atEventStart = false;
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
	 * With `only`, frames surely named otherwise are dropped unread: a `final` run of 200,000 text
	 * chunks then hands on a handful of frames. Most are cut out of the bytes before they are
	 * decoded or parsed (`skipFrames`); the parser's callback turns away the rest.
	 */
	constructor(private readonly only?: EventNameSet) {}

	/** Takes one network read; returns the frames it completed, in order (often none). */
	feed(chunk: Uint8Array | string): DifySseFrame[] {
		const before = this.frames;
		let text: string;
		if (typeof chunk === 'string') {
			text = this.decoded(chunk);
			this.parse(text);
		} else if (this.only !== undefined && this.frames > 0) {
			// Never before the first frame: it names the run, and always stays.
			text = this.skipFrames(chunk);
		} else {
			text = this.decoded(this.decoder.write(chunk));
			this.parse(text);
		}
		this.noteEnding(chunk);
		// A completed frame is progress; so are the bytes of a data line still arriving (one large
		// event slower than the Timeout). Only a fast stream's reads complete frames, so only the
		// rare read that completes none is looked at more closely.
		const completed = this.frames > before;
		if (completed) this.unscanned = text;
		this.lastReadProgressed = completed || this.followLines(text);
		return this.take();
	}

	/**
	 * Hands a read to the parser without the frames it would only drop: a frame that starts an
	 * event, has one line `data: {"event":"<name>…` with a name `only` surely lacks, and ends in
	 * this read with LF LF is cut out of the bytes and counted, never decoded nor parsed. The parser
	 * is between events where such a frame starts and again where it ends (a frame that ends in LF
	 * LF has dispatched, whatever line ends came before), so it reads the rest as it would have.
	 * A read with a CR anywhere is parsed whole: a CR may end a line inside what looks like one.
	 * Returns the text handed over last: when frames were cut, from the end of the last one.
	 */
	private skipFrames(chunk: Uint8Array): string {
		const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
		const only = this.only as EventNameSet;
		let handed = 0;
		let text = '';
		let cut = false;
		if (bytes.indexOf(CR) < 0) {
			let eventStart = this.atEventStart ? 0 : this.endsWithLf && bytes[0] === LF ? 1 : nextEventStart(bytes, 0);
			while (eventStart >= 0) {
				const lineEnd = only.surelyOutsideLine(bytes, eventStart) ? bytes.indexOf(LF, eventStart) : -1;
				if (lineEnd < 0 || bytes[lineEnd + 1] !== LF) {
					eventStart = nextEventStart(bytes, eventStart);
					continue;
				}
				if (handed < eventStart) {
					this.parse(this.decoded(this.decoder.write(bytes.subarray(handed, eventStart))));
					handed = eventStart;
				}
				this.frames++;
				cut = true;
				handed = eventStart = lineEnd + 2;
			}
		}
		if (handed < bytes.length) {
			text = this.decoded(this.decoder.write(handed === 0 ? bytes : bytes.subarray(handed)));
			this.parse(text);
		}
		// The text handed over last starts a line: the line unfinished before it is long done.
		if (cut) this.lineHead = '';
		return text;
	}

	/** Text as it goes to the parser: a byte order mark may open a stream and is not part of its first line. */
	private decoded(text: string): string {
		if (!this.started && text.length > 0) {
			this.started = true;
			if (text.charCodeAt(0) === 0xfeff) return text.slice(1);
		}
		return text;
	}

	private parse(text: string): void {
		if (text.length === 0) return;
		this.endsWithCr = text.charCodeAt(text.length - 1) === CR;
		this.parser.feed(text);
		if (this.overflow) {
			throw new SseFrameError(
				`Dify sent an event larger than ${MAX_FRAME_CHARS / 1024 / 1024} MiB; the node refuses it to protect n8n's memory.`,
			);
		}
	}

	/** Notes how the bytes so far end, for the next read's first event start. */
	private noteEnding(chunk: Uint8Array | string): void {
		const length = chunk.length;
		if (length === 0) return;
		const lf = (index: number) => (typeof chunk === 'string' ? chunk.charCodeAt(index) : chunk[index]) === LF;
		this.atEventStart = lf(length - 1) && (length > 1 ? lf(length - 2) : this.endsWithLf);
		this.endsWithLf = lf(length - 1);
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
