import { createParser } from 'eventsource-parser';

/**
 * One Dify SSE frame. Dify names the event inside the JSON (`{"event":"text_chunk",…}`), never
 * with an `event:` line, so the name is read from the start of the data; the JSON itself is
 * parsed only when someone needs it: a run in `final` mode never parses its text chunks.
 */
export interface DifySseFrame {
	/** The `event` key of the JSON; '' when the data does not start like a Dify event. */
	readonly name: string;
	/** The frame's `data:` text, one JSON object. */
	readonly data: string;
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

/** Reads the event name from the opening of the data without parsing the whole JSON. */
export function frameName(data: string): string {
	const start = data.startsWith(COMPACT_PREFIX)
		? COMPACT_PREFIX.length
		: data.startsWith(SPACED_PREFIX)
			? SPACED_PREFIX.length
			: -1;
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
 * Reads an SSE body incrementally and yields the frames that each network read completed, in
 * order. Yielding per read rather than per frame keeps the per-event cost at a function call:
 * a 200,000-event run would otherwise pay 200,000 promise round trips.
 *
 * Bytes are decoded as one UTF-8 stream, so a character split across reads stays whole; the
 * parser accepts LF, CRLF and CR line ends. `event: ping` frames carry no data and so are never
 * dispatched: keep-alives are not frames.
 */
export async function* readSseFrames(
	body: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<DifySseFrame[], void, undefined> {
	let batch: DifySseFrame[] = [];
	let overflow: Error | undefined;
	const parser = createParser({
		onEvent(message) {
			batch.push({ name: frameName(message.data), data: message.data });
		},
		onError(error) {
			if ((error as { type?: string }).type === 'max-buffer-size-exceeded') overflow = error;
		},
		maxBufferSize: MAX_FRAME_CHARS,
	});
	const decoder = new TextDecoder('utf-8');
	let endsWithCr = false;
	for await (const chunk of body) {
		const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
		if (text.length > 0) endsWithCr = text.charCodeAt(text.length - 1) === 13;
		parser.feed(text);
		if (overflow) {
			throw new SseFrameError(
				`Dify sent an event larger than ${MAX_FRAME_CHARS / 1024 / 1024} MiB; the node refuses it to protect n8n's memory.`,
			);
		}
		if (batch.length > 0) {
			const done = batch;
			batch = [];
			yield done;
		}
	}
	// As the SSE standard says, a frame cut off by the end of the body (no blank line after it)
	// is dropped: it may be a truncated JSON line from a dropped connection.
	// The parser holds a trailing CR in case an LF follows; at the end of the body none will.
	parser.feed(decoder.decode() + (endsWithCr ? '\n' : ''));
	if (batch.length > 0) yield batch;
}
