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
