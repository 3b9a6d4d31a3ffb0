import {
	DifySseFrame,
	EventNameSet,
	frameName,
	MAX_FRAME_CHARS,
	parseFrame,
	SseFrameError,
	SseFrameReader,
} from '../../nodes/DifyWorkflow/transport/sse';

const encoder = new TextEncoder();

/** Cuts bytes at the given offsets, as a network might deliver them. */
function cutAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
	const chunks: Uint8Array[] = [];
	let start = 0;
	for (const offset of [...offsets, bytes.length]) {
		chunks.push(bytes.slice(start, offset));
		start = offset;
	}
	return chunks.filter((chunk) => chunk.length > 0);
}

/** Feeds the reads to a reader, as the transport does, and gathers what each read completed. */
function collect(chunks: Array<Uint8Array | string>): { frames: DifySseFrame[]; batches: number } {
	const reader = new SseFrameReader();
	const frames: DifySseFrame[] = [];
	let batches = 0;
	for (const batch of [...chunks.map((chunk) => reader.feed(chunk)), reader.end()]) {
		if (batch.length === 0) continue;
		batches++;
		frames.push(...batch);
	}
	return { frames, batches };
}

const started = '{"event":"workflow_started","workflow_run_id":"r1","task_id":"t1","data":{"id":"r1"}}';
const chunk = (text: string) =>
	`{"event":"text_chunk","workflow_run_id":"r1","task_id":"t1","data":{"text":${JSON.stringify(text)}}}`;
const finished =
	'{"event":"workflow_finished","workflow_run_id":"r1","task_id":"t1","data":{"status":"succeeded","outputs":{"answer":"富士山🗻"}}}';

describe('SseFrameReader', () => {
	it('reads a whole stream and skips keep-alive pings', () => {
		const body = `event: ping\n\ndata: ${started}\n\nevent: ping\n\ndata: ${chunk('hi')}\n\ndata: ${finished}\n\n`;
		const { frames } = collect([encoder.encode(body)]);
		expect(frames.map((f) => f.name)).toEqual(['workflow_started', 'text_chunk', 'workflow_finished']);
		expect(JSON.parse(frames[2].data).data.outputs.answer).toBe('富士山🗻');
	});

	it('skips a byte order mark before the first line, even when its bytes arrive apart', () => {
		const bytes = encoder.encode(`\uFEFFdata: ${started}\n\n`);
		const { frames } = collect(cutAt(bytes, [1, 2, 3]));
		expect(frames.map((f) => f.name)).toEqual(['workflow_started']);
	});

	it('keeps multi-byte characters whole when every byte arrives alone', () => {
		const body = encoder.encode(`data: ${chunk('富士山は日本で最も高い山です🗻')}\n\n`);
		const bytewise = Array.from(body, (byte) => Uint8Array.of(byte));
		const { frames } = collect(bytewise);
		expect(frames).toHaveLength(1);
		expect(JSON.parse(frames[0].data).data.text).toBe('富士山は日本で最も高い山です🗻');
	});

	it('handles cuts inside a character, inside "data:", and between the two newlines', () => {
		const text = `data: ${chunk('東京')}\n\ndata: ${finished}\n\n`;
		const bytes = encoder.encode(text);
		const insideCharacter = Buffer.from(bytes).indexOf(Buffer.from('東')) + 1;
		const insidePrefix = 2; // "da|ta:"
		const betweenNewlines = Buffer.from(bytes).indexOf(Buffer.from('\n\n')) + 1;
		const offsets = [insidePrefix, insideCharacter, betweenNewlines].sort((a, b) => a - b);
		const { frames } = collect(cutAt(bytes, offsets));
		expect(frames.map((f) => JSON.parse(f.data).event)).toEqual(['text_chunk', 'workflow_finished']);
		expect(JSON.parse(frames[0].data).data.text).toBe('東京');
	});

	it('accepts CRLF and CR line endings', () => {
		const crlf = `event: ping\r\n\r\ndata: ${started}\r\n\r\ndata: ${finished}\r\n\r\n`;
		const cr = `data: ${started}\r\rdata: ${finished}\r\r`;
		const bytes = encoder.encode(crlf);
		const cutInCrlf = Buffer.from(bytes).indexOf(Buffer.from('\r\n\r\n', 'utf8'), 20) + 1;
		expect((collect(cutAt(bytes, [cutInCrlf]))).frames.map((f) => f.name)).toEqual([
			'workflow_started',
			'workflow_finished',
		]);
		expect((collect([encoder.encode(cr)])).frames.map((f) => f.name)).toEqual([
			'workflow_started',
			'workflow_finished',
		]);
	});

	it('joins multi-line data with a newline, as the SSE standard says', () => {
		const { frames } = collect([encoder.encode('data: {"event":"x",\ndata: "data":1}\n\n')]);
		expect(frames[0].data).toBe('{"event":"x",\n"data":1}');
		expect(frames[0].name).toBe('x');
	});

	it('yields the frames of one network read as one batch', () => {
		const several = encoder.encode(`data: ${chunk('a')}\n\ndata: ${chunk('b')}\n\ndata: ${chunk('c')}\n\n`);
		const { frames, batches } = collect([several]);
		expect(frames).toHaveLength(3);
		expect(batches).toBe(1);
	});

	it('drops a frame cut off by the end of the body', () => {
		const { frames } = collect([encoder.encode(`data: ${started}\n\ndata: {"event":"workflow_fin`)]);
		expect(frames.map((f) => f.name)).toEqual(['workflow_started']);
	});

	it('refuses a frame larger than the bound instead of buffering it', () => {
		const big = 'x'.repeat(1024 * 1024);
		const reader = new SseFrameReader();
		reader.feed('data: {"event":"text_chunk","data":"');
		const feedPastTheBound = () => {
			for (let sent = 0; sent <= MAX_FRAME_CHARS; sent += big.length) reader.feed(big);
		};
		expect(feedPastTheBound).toThrow(SseFrameError);
	});
});

describe('frameName', () => {
	it('reads compact and spaced openings without parsing', () => {
		expect(frameName(started)).toBe('workflow_started');
		expect(frameName('{"event": "node_started", "task_id": "t"}')).toBe('node_started');
	});

	it('falls back to parsing when the key order differs', () => {
		expect(frameName('{"task_id":"t","event":"workflow_finished"}')).toBe('workflow_finished');
	});

	it('gives an empty name for data that is not an event', () => {
		expect(frameName('not json')).toBe('');
		expect(frameName('[1,2]')).toBe('');
	});
});

describe('EventNameSet', () => {
	const watched = new EventNameSet(['workflow_started', 'workflow_finished', 'error']);

	it('turns away frames whose name starts with a letter no watched name has', () => {
		expect(watched.surelyOutside(chunk('hi'))).toBe(true);
		expect(watched.surelyOutside('{"event": "node_started", "task_id": "t"}')).toBe(true);
	});

	it('lets through the watched frames, and others that share their first letter', () => {
		expect(watched.surelyOutside(started)).toBe(false);
		expect(watched.surelyOutside(finished)).toBe(false);
		expect(watched.surelyOutside('{"event": "error", "status": 500}')).toBe(false);
		expect(watched.surelyOutside('{"event":"workflow_paused","data":{}}')).toBe(false);
	});

	it('never turns away a frame whose name opens with an escape', () => {
		expect(watched.surelyOutside('{"event":"\\u0077orkflow_finished","data":{}}')).toBe(false);
	});

	it('never turns away a frame whose opening it does not recognise', () => {
		expect(watched.surelyOutside('{"task_id":"t","event":"text_chunk"}')).toBe(false);
		expect(watched.surelyOutside('not json')).toBe(false);
	});
});

describe('SseFrameReader with only', () => {
	const only = new EventNameSet(['workflow_started', 'workflow_finished']);
	const body = (...datas: string[]) => datas.map((data) => `data: ${data}\n\n`).join('');

	it('keeps the first frame and the watched ones, and drops the rest unread', () => {
		const reader = new SseFrameReader(only);
		const first = chunk('first');
		const frames = [
			...reader.feed(encoder.encode(body(first, started, chunk('a'), '{"task_id":"t","event":"text_chunk"}', finished))),
			...reader.end(),
		];
		expect(frames.map((frame) => frame.data)).toEqual([first, started, '{"task_id":"t","event":"text_chunk"}', finished]);
	});

	it('counts a read of dropped frames as progress, and a read of pings as none', () => {
		const reader = new SseFrameReader(only);
		reader.feed(encoder.encode(body(started)));
		expect(reader.feed(encoder.encode(body(chunk('a'), chunk('b'))))).toEqual([]);
		expect(reader.progressed()).toBe(true);
		expect(reader.feed(encoder.encode('event: ping\n\n'))).toEqual([]);
		expect(reader.progressed()).toBe(false);
	});
});

describe('parseFrame', () => {
	it('parses an event object', () => {
		expect(parseFrame(new DifySseFrame(started))).toMatchObject({ task_id: 't1' });
	});

	it('refuses JSON that is not an object, or no JSON at all', () => {
		expect(() => parseFrame(new DifySseFrame('{"event":"text_chunk",'))).toThrow(SseFrameError);
		expect(() => parseFrame(new DifySseFrame('42'))).toThrow('not a JSON object');
	});
});

describe('SseFrameReader progress', () => {
	it('counts bytes of a frame still arriving, but not keep-alive pings', () => {
		const reader = new SseFrameReader();
		const seen = (text: string) => {
			reader.feed(Buffer.from(text));
			return reader.progressed();
		};
		expect(seen('event: ping\n\n')).toBe(false);
		expect(seen('da')).toBe(false);
		expect(seen('ta: {"event":"node_finished","data":{"text":"')).toBe(true);
		expect(seen('xxxxxxxx')).toBe(true);
		expect(seen('xxxx"}}\n\n')).toBe(true);
		expect(seen(': comment\n\nevent: ping\n\n')).toBe(false);
		expect(seen('event: ping\n\ndata: {"event":"text_')).toBe(true);
	});

	it('finds where the unfinished line starts whatever the line ends, mixed ones included', () => {
		for (const [pings, end] of [
			['event: ping\r\r', '\r\r'],
			['event: ping\r\n\r\n', '\r\n\r\n'],
			[': a\n: b\r\r', '\r\r'],
			[': a\r: b\n\n', '\n\n'],
		]) {
			const reader = new SseFrameReader();
			const seen = (text: string) => {
				reader.feed(Buffer.from(text));
				return reader.progressed();
			};
			expect(seen(`${pings}da`)).toBe(false);
			expect(seen('ta: {"event":"node_finished","data":{"text":"')).toBe(true);
			expect(seen(`x"}}${end}${pings}`)).toBe(true);
			expect(seen(pings)).toBe(false);
		}
	});

	it('knows where the line left unfinished by a read that completed frames starts', () => {
		const reader = new SseFrameReader();
		const seen = (text: string) => {
			reader.feed(Buffer.from(text));
			return reader.progressed();
		};
		const frame = 'data: {"event":"text_chunk"}\n\n';
		expect(seen(`${frame}${frame}da`)).toBe(true);
		expect(seen('ta: {"event":"node_finished","data":{"text":"')).toBe(true);
		expect(seen(`x"}}\n\n${frame}: keep-`)).toBe(true);
		expect(seen('alive\n\n')).toBe(false);
		expect(seen(`${frame}\r\n: a\r`)).toBe(true);
		expect(seen('\ndata: {')).toBe(true);
		expect(seen(`"event":"x"}\n\n${frame}event: ping\n`)).toBe(true);
		expect(seen('\n')).toBe(false);
	});
});

describe('SseFrameReader cutting dropped frames out of the bytes', () => {
	const only = new EventNameSet(['workflow_started', 'workflow_finished', 'error']);

	/** A small deterministic generator (mulberry32), so that a failure names a seed that replays it. */
	function generator(seed: number) {
		let state = seed >>> 0;
		const next = () => {
			state = (state + 0x6d2b79f5) >>> 0;
			let t = state;
			t = Math.imul(t ^ (t >>> 15), t | 1);
			t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
			return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
		};
		const pick = <T>(options: readonly T[]): T => options[Math.floor(next() * options.length)];
		return { next, pick };
	}

	const NAMES = ['text_chunk', 'node_started', 'reasoning_chunk', 'workflow_started', 'workflow_finished', 'error', ''];
	const TEXTS = ['hi', '富士山🗻', 'a\\nb', 'x'.repeat(300), ''];

	/** An SSE body of Dify-like frames with every awkwardness the wire allows. */
	function body(seed: number): Uint8Array {
		const { next, pick } = generator(seed);
		const parts: string[] = next() < 0.2 ? ['\uFEFF'] : [];
		const count = 1 + Math.floor(next() * 30);
		for (let i = 0; i < count; i++) {
			const end = next() < 0.8 ? '\n' : pick(['\r\n', '\r']);
			const json = `${pick(['{"event":"', '{"event": "'])}${pick(NAMES)}","data":{"text":"${pick(TEXTS)}"}}`;
			const kind = next();
			if (kind < 0.55) parts.push(`${pick(['data: ', 'data: ', 'data:'])}${json}${end}${end}`);
			else if (kind < 0.62) parts.push(`event: ping${end}${end}`);
			else if (kind < 0.67) parts.push(`: keep-alive${end}`);
			else if (kind < 0.72) parts.push(`data: ${json}${end}data: more${end}${end}`);
			// A later data line of a frame that looks like a whole frame that would be dropped.
			else if (kind < 0.75) parts.push(`data: {"event":"error"}${end}data: {"event":"text_chunk"}${end}${end}`);
			else if (kind < 0.77) parts.push(`id: ${i}${end}data: ${json}${end}${end}`);
			else if (kind < 0.82) parts.push(end);
			// A CR inside what an LF-only reader would take for one line: two frames, the second watched.
			else if (kind < 0.87) parts.push(`data: {"event":"text_chunk"}\r\rdata: {"event":"workflow_finished"}\n\n`);
			else if (kind < 0.92) parts.push(`data: ${json}${end}`);
			else parts.push(`data: ${json}\n\n`);
		}
		return encoder.encode(parts.join(''));
	}

	/** Reads split at random offsets, some of them inside a character's bytes. */
	function reads(bytes: Uint8Array, seed: number): Uint8Array[] {
		const { next } = generator(seed * 31 + 7);
		const offsets: number[] = [];
		for (let at = 0; at < bytes.length; ) {
			at += 1 + Math.floor(next() * (next() < 0.5 ? 8 : 400));
			if (at < bytes.length) offsets.push(at);
		}
		return cutAt(bytes, offsets);
	}

	/** Per read: the data of the frames it completed, and whether it counted as progress. */
	function trace(reader: SseFrameReader, chunks: Array<Uint8Array | string>): string[] {
		const seen = chunks.map((chunk) => {
			const frames = reader.feed(chunk);
			return `${JSON.stringify(frames.map((frame) => frame.data))} ${reader.progressed()}`;
		});
		return [...seen, JSON.stringify(reader.end().map((frame) => frame.data))];
	}

	it('hands on the frames, read by read, and counts progress as a reader that drops nothing', () => {
		for (let seed = 1; seed <= 1500; seed++) {
			const chunks = reads(body(seed), seed);
			// A reader without `only` parses every frame; dropping afterwards what `only` would.
			let index = 0;
			const dropping = (frames: DifySseFrame[]) => frames.filter((frame) => index++ === 0 || !only.surelyOutside(frame.data));
			const everything = new SseFrameReader();
			const expected = [
				...chunks.map((chunk) => `${JSON.stringify(dropping(everything.feed(chunk)).map((frame) => frame.data))} ${everything.progressed()}`),
				JSON.stringify(dropping(everything.end()).map((frame) => frame.data)),
			];
			const actual = trace(new SseFrameReader(only), chunks);
			if (actual.join('\n') !== expected.join('\n')) {
				throw new Error(`seed ${seed}: the reader differs\n${actual.join('\n')}\n--- expected\n${expected.join('\n')}`);
			}
		}
	});

	it('cuts frames that span reads only where they end, and keeps the watched frame after them', () => {
		const reader = new SseFrameReader(only);
		const text = (name: string) => `data: {"event":"${name}","data":{"text":"x"}}\n\n`;
		expect(reader.feed(Buffer.from(text('workflow_started'))).map((frame) => frame.name)).toEqual(['workflow_started']);
		const all = `${text('text_chunk')}${text('text_chunk')}${text('workflow_finished')}`;
		const frames = [];
		for (let at = 0; at < all.length; at += 17) {
			frames.push(...reader.feed(Buffer.from(all.slice(at, at + 17))));
			expect(reader.progressed()).toBe(true);
		}
		expect(frames.map((frame) => frame.name)).toEqual(['workflow_finished']);
	});

	it('cuts nothing at the start of a read that goes on a frame left open by the read before', () => {
		const reader = new SseFrameReader(only);
		reader.feed(Buffer.from('data: {"event":"workflow_started"}\n\n'));
		expect(reader.feed(Buffer.from('data: {"event":"error"}\n'))).toEqual([]);
		const frames = reader.feed(Buffer.from('data: {"event":"text_chunk"}\n\n'));
		expect(frames.map((frame) => frame.data)).toEqual(['{"event":"error"}\n{"event":"text_chunk"}']);
	});

	it('hides no watched frame behind a CR in a read', () => {
		const reader = new SseFrameReader(only);
		reader.feed(Buffer.from('data: {"event":"workflow_started"}\n\n'));
		const frames = reader.feed(Buffer.from('data: {"event":"text_chunk"}\r\rdata: {"event":"workflow_finished"}\n\n'));
		expect(frames.map((frame) => frame.name)).toEqual(['workflow_finished']);
	});
});
