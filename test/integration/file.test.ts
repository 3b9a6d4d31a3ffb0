import { createHash } from 'node:crypto';

import type { IWorkflowSettings } from 'n8n-workflow';

import type { BinarySpec } from './dify-node';
import { runDifyNode } from './dify-node';
import { standinPerFile } from './standin-per-file';

const standin = standinPerFile({ uploadLimitsMb: { image: 10, video: 100, audio: 50, other: 1 } });

const upload = (binaries: BinarySpec[], extra: { binaryMode?: 'default' | 'filesystem'; property?: string; continueOnFail?: boolean; settings?: IWorkflowSettings } = {}) =>
	runDifyNode({
		parameters: { resource: 'file', operation: 'upload', binaryPropertyName: extra.property ?? 'data', user: 'user-42' },
		baseUrl: standin().url,
		apiKey: standin().apiKey,
		binaries,
		binaryMode: extra.binaryMode,
		continueOnFail: extra.continueOnFail,
		settings: extra.settings,
	});

const uploads = () => standin().requests.filter((r) => r.path === '/v1/files/upload');

describe('File → Upload', () => {
	it.each(['default', 'filesystem'] as const)(
		'streams the binary as multipart with its name and MIME type (%s binary mode)',
		async (binaryMode) => {
			const text = 'Mount Fuji is 3,776 m high. 富士山。\n'.repeat(2000);
			const result = await upload([{ property: 'data', fileName: 'fuji.txt', mimeType: 'text/plain', text }], { binaryMode });
			expect(result.error).toBeUndefined();
			expect(result.items).toHaveLength(1);
			const bytes = Buffer.from(text, 'utf8');
			expect(result.items[0].json).toMatchObject({
				name: 'fuji.txt',
				size: bytes.length,
				extension: 'txt',
				mime_type: 'text/plain',
			});
			expect(result.items[0].json.id).toEqual(expect.any(String));
			const [request] = uploads();
			expect(request.multipart?.fields).toEqual({ user: 'user-42' });
			expect(request.multipart?.files).toEqual([
				{
					field: 'file',
					filename: 'fuji.txt',
					contentType: 'text/plain',
					size: bytes.length,
					sha256: createHash('sha256').update(bytes).digest('hex'),
				},
			]);
		},
	);

	it('streams a large file from disk in filesystem mode with a Content-Length', async () => {
		const sizeBytes = 24 * 1024 * 1024;
		const result = await upload(
			[{ property: 'data', fileName: 'big.mp4', mimeType: 'video/mp4', sizeBytes }],
			{ binaryMode: 'filesystem' },
		);
		expect(result.error).toBeUndefined();
		expect(result.items[0].json.size).toBe(sizeBytes);
		expect(uploads()[0].headers['content-length']).toEqual(expect.any(String));
		expect(uploads()[0].multipart?.files[0].size).toBe(sizeBytes);
	});

	it("in n8n 2.x's combined binary mode, takes the binary's path in the item's JSON", async () => {
		const text = 'Mount Fuji notes';
		const result = await upload([{ property: 'data', fileName: 'notes.txt', mimeType: 'text/plain', text }], {
			binaryMode: 'filesystem',
			property: '_files.data',
			settings: { executionOrder: 'v1', binaryMode: 'combined' },
		});
		expect(result.error).toBeUndefined();
		expect(uploads()[0].multipart?.files[0]).toMatchObject({ filename: 'notes.txt', sha256: createHash('sha256').update(text).digest('hex') });
	});

	it('names the binary field when it is missing', async () => {
		const result = await upload([{ property: 'data', fileName: 'a.txt', mimeType: 'text/plain', text: 'a' }], {
			property: 'document',
		});
		expect(result.error?.message).toMatch(/document/);
		expect(uploads()).toHaveLength(0);
	});

	it('refuses an empty file before uploading', async () => {
		const result = await upload([{ property: 'data', fileName: 'empty.txt', mimeType: 'text/plain', text: '' }]);
		expect(result.error?.message).toBe('The file in the binary field "data" is empty');
		expect(uploads()).toHaveLength(0);
	});

	it("explains Dify's 413 for a file over the limit", async () => {
		const result = await upload([{ property: 'data', fileName: 'big.pdf', mimeType: 'application/pdf', sizeBytes: 2 * 1024 * 1024 }]);
		expect(result.error?.httpCode).toBe('413');
		expect(result.error?.description).toMatch(/upload limit/);
	});

	it('explains a blocked extension (400 invalid_param) under Continue On Fail', async () => {
		const result = await upload(
			[{ property: 'data', fileName: 'tool.exe', mimeType: 'application/octet-stream', text: 'MZ' }],
			{ continueOnFail: true },
		);
		expect(result.items[0].json.error).toMatch(/not allowed/);
		expect(result.items[0].json.httpCode).toBe('400');
	});
});
