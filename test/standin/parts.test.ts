import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import { parseArguments } from './cli';
import { pythonJsonDumps, pythonNumber, pythonRepr } from './json-python';
import { MultipartError, multipartBoundary, MultipartParser, readMultipart } from './multipart';
import type { PartHeaders } from './multipart';
import { awkwardCuts, dataFrame, pingFrame } from './sse-writer';

describe('pythonJsonDumps', () => {
	it('uses Python separators and key order', () => {
		expect(pythonJsonDumps({ b: 1, a: [true, null, 'x'], c: {} })).toBe('{"b": 1, "a": [true, null, "x"], "c": {}}');
		expect(pythonJsonDumps([])).toBe('[]');
		expect(pythonJsonDumps({ skipped: undefined, kept: 0 })).toBe('{"kept": 0}');
	});

	it('escapes everything outside printable ASCII, astral characters as surrogate pairs', () => {
		expect(pythonJsonDumps('富士山🗻')).toBe('"\\u5bcc\\u58eb\\u5c71\\ud83d\\uddfb"');
		expect(pythonJsonDumps('a"b\\c\n\t\r\b\f\u0001\u007f~')).toBe('"a\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u007f~"');
		expect(pythonJsonDumps('é')).toBe('"\\u00e9"');
		expect(JSON.parse(pythonJsonDumps({ text: '富士山は🗻' }))).toEqual({ text: '富士山は🗻' });
	});

	it('prints floats as Python repr does', () => {
		const cases: Array<[number, string]> = [
			[1.402377, '1.402377'],
			[1e-6, '1e-06'],
			[6.3e-6, '6.3e-06'],
			[0.0000168, '1.68e-05'],
			[0.0001, '0.0001'],
			[123.5, '123.5'],
			[1.5e-16, '1.5e-16'],
			[1.25e300, '1.25e+300'],
			[-0.25, '-0.25'],
			// Integral values print as ints: JS numbers do not say whether Python had a float.
			[70, '70'],
			[-3, '-3'],
			[1.5e16, '1.5e+16'],
			[1e21, '1e+21'],
		];
		for (const [value, text] of cases) expect([value, pythonNumber(value)]).toEqual([value, text]);
	});

	it('reprs values like Python for pydantic messages', () => {
		expect(pythonRepr({ user: 'u', n: null, ok: true, list: [1, 2.5] })).toBe("{'user': 'u', 'n': None, 'ok': True, 'list': [1, 2.5]}");
		expect(pythonRepr("it's")).toBe('"it\'s"');
		expect(pythonRepr('line\nbreak')).toBe("'line\\nbreak'");
	});
});

describe('multipart', () => {
	const boundary = '----formBoundaryX1';
	const file = Buffer.from(`first line\r\n--${boundary.slice(0, 8)} not a boundary\r\n富士山\r\n`.repeat(3));
	const body = Buffer.concat([
		Buffer.from(
			`preamble to ignore\r\n--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nuser-42\r\n` +
				`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="caf\u00e9.txt"; filename*=UTF-8''caf%C3%A9%20%E2%82%AC.txt\r\n` +
				`Content-Type: text/plain; charset=utf-8\r\n\r\n`,
		),
		file,
		Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="empty"\r\n\r\n\r\n--${boundary}--\r\nepilogue`),
	]);
	const expected = {
		fields: { user: 'user-42', empty: '' },
		files: [
			{
				field: 'file',
				filename: 'café €.txt',
				contentType: 'text/plain; charset=utf-8',
				size: file.length,
				sha256: createHash('sha256').update(file).digest('hex'),
			},
		],
	};

	it('reads the boundary from the Content-Type', () => {
		expect(multipartBoundary(`multipart/form-data; boundary="${boundary}"`)).toBe(boundary);
		expect(multipartBoundary(`Multipart/Form-Data; charset=utf-8; boundary=${boundary}`)).toBe(boundary);
		expect(multipartBoundary('application/json')).toBeUndefined();
		expect(multipartBoundary(undefined)).toBeUndefined();
	});

	it('gives the same summary however the body is split, down to one byte at a time', async () => {
		expect(await readMultipart(Readable.from([body]), boundary)).toEqual(expected);
		for (let cut = 1; cut < body.length; cut++) {
			const parts = [body.subarray(0, cut), body.subarray(cut)];
			expect([cut, await readMultipart(Readable.from(parts), boundary)]).toEqual([cut, expected]);
		}
		const bytes = Array.from({ length: body.length }, (_, i) => body.subarray(i, i + 1));
		expect(await readMultipart(Readable.from(bytes), boundary)).toEqual(expected);
	});

	it('passes file data through without gathering it', () => {
		const seen: Array<{ headers: PartHeaders; sizes: number[] }> = [];
		const parser = new MultipartParser(boundary, {
			onPartStart: (headers) => seen.push({ headers, sizes: [] }),
			onPartData: (chunk) => seen[seen.length - 1].sizes.push(chunk.length),
			onPartEnd: () => undefined,
		});
		const head = Buffer.from(
			`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
		);
		parser.write(head);
		const block = Buffer.alloc(64 * 1024, 1);
		for (let i = 0; i < 16; i++) parser.write(block);
		parser.write(Buffer.from(`\r\n--${boundary}--\r\n`));
		parser.end();
		const sizes = seen[0].sizes;
		expect(sizes.reduce((a, b) => a + b, 0)).toBe(16 * block.length);
		expect(Math.max(...sizes)).toBeLessThanOrEqual(block.length + 64);
	});

	it('refuses bodies that end early or parts without a name', async () => {
		const truncated = body.subarray(0, body.length - 30);
		await expect(readMultipart(Readable.from([truncated]), boundary)).rejects.toBeInstanceOf(MultipartError);
		const nameless = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${boundary}--\r\n`);
		await expect(readMultipart(Readable.from([nameless]), boundary)).rejects.toThrow('A part has no field name');
	});

	it('keeps a filename="" part as a file with an empty name, and a part without Content-Type without one', async () => {
		const raw = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename=""\r\n\r\nabc\r\n--${boundary}--\r\n`);
		expect((await readMultipart(Readable.from([raw]), boundary)).files).toEqual([
			{ field: 'file', filename: '', size: 3, sha256: createHash('sha256').update('abc').digest('hex') },
		]);
	});
});

describe('awkward cut plan', () => {
	const frame = Buffer.from(dataFrame('{"event":"text_chunk","data":{"text":"富士山は🗻"}}', '\n'));

	it('cycles through its five frame treatments', () => {
		const first = frame.indexOf(Buffer.from('富'));
		const emoji = frame.indexOf(Buffer.from('🗻'));
		expect(awkwardCuts(frame, 0, '\n')).toEqual([3, first + 1, emoji + 3, frame.length]);
		expect(awkwardCuts(frame, 1, '\n')).toEqual([Math.floor((frame.length - 2) / 2), frame.length - 1]);
		expect(awkwardCuts(frame, 2, '\n')).toEqual([]);
		expect(awkwardCuts(frame, 3, '\n')).toEqual([]);
		expect(awkwardCuts(frame, 4, '\n')).toEqual([frame.length]);
		expect(awkwardCuts(frame, 5, '\n')).toEqual(awkwardCuts(frame, 0, '\n'));
	});

	it('cuts inside the last CRLF and splits pings too', () => {
		const crlf = Buffer.from(dataFrame('{}', '\r\n'));
		expect(awkwardCuts(crlf, 4, '\r\n')).toEqual([crlf.length - 1]);
		expect(awkwardCuts(crlf, 1, '\r\n')).toEqual(['data: {}'.length / 2, crlf.length - 2]);
		const ping = Buffer.from(pingFrame('\n'));
		expect(awkwardCuts(ping, 0, '\n')).toEqual([3, ping.length]);
	});
});

describe('cli arguments', () => {
	it('maps flags to options', () => {
		expect(
			parseArguments([
				'--port', '8123', '--key', 'app-X', '--ping-ms', '50', '--chunking', 'bulk',
				'--dify-version', '1.16', '--line-ending', 'crlf', '--step-delay-ms', '5', '--seed-logs', '0',
			]),
		).toEqual({
			port: 8123,
			apiKey: 'app-X',
			pingIntervalMs: 50,
			chunking: 'bulk',
			version: '1.16',
			lineEnding: '\r\n',
			stepDelayMs: 5,
			seedLogs: 0,
		});
		expect(parseArguments([])).toEqual({});
	});

	it('refuses what it does not know', () => {
		expect(() => parseArguments(['--chunking', 'odd'])).toThrow(/--chunking must be one of/);
		expect(() => parseArguments(['--port', 'x'])).toThrow(/whole number/);
		expect(() => parseArguments(['--verbose'])).toThrow(/Unknown option/);
	});
});
