import { Readable } from 'node:stream';

import { encodeMultipart } from '../../nodes/DifyWorkflow/transport/multipart';

async function text(body: Readable): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks).toString('utf8');
}

describe('encodeMultipart', () => {
	it('writes the fields, then the file with its name and type, with an exact Content-Length', async () => {
		const encoded = encodeMultipart(
			{ user: 'user-42' },
			{ field: 'file', fileName: 'レポート.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.7') },
		);
		const boundary = /boundary=(.+)$/.exec(encoded.contentType)?.[1];
		expect(boundary).toBeTruthy();
		const body = await text(encoded.body);
		expect(Buffer.byteLength(body)).toBe(encoded.contentLength);
		expect(body).toBe(
			`--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nuser-42\r\n` +
				`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="レポート.pdf"\r\n` +
				`Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--${boundary}--\r\n`,
		);
	});

	it('streams a file of unknown size without a Content-Length', async () => {
		const encoded = encodeMultipart(
			{},
			{ field: 'file', fileName: 'a.txt', contentType: 'text/plain', content: Readable.from([Buffer.from('a'), Buffer.from('b')]) },
		);
		expect(encoded.contentLength).toBeUndefined();
		expect(await text(encoded.body)).toContain('\r\n\r\nab\r\n--');
	});

	it('counts a streamed file of known size into the Content-Length', async () => {
		const content = Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(24, 2)]);
		const encoded = encodeMultipart({ user: 'u' }, { field: 'file', fileName: 'x.bin', contentType: 'application/octet-stream', content, size: 1024 });
		expect(Buffer.byteLength(await text(encoded.body))).toBe(encoded.contentLength);
	});

	it('escapes quotes and line breaks in a file name', async () => {
		const encoded = encodeMultipart(
			{},
			{ field: 'file', fileName: 'a"b\r\nc.txt', contentType: 'text/plain', content: Buffer.from('x') },
		);
		expect(await text(encoded.body)).toContain('filename="a%22b%0D%0Ac.txt"');
	});
});
