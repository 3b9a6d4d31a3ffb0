import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** The file part of an upload; `content` is read once, as it is, never gathered in memory. */
export interface MultipartFile {
	field: string;
	fileName: string;
	contentType: string;
	content: Buffer | AsyncIterable<Uint8Array>;
	/** Exact byte size when known: it lets the body carry a Content-Length. */
	size?: number;
}

export interface MultipartBody {
	contentType: string;
	/** Set when every part's size is known; otherwise the body goes chunked. */
	contentLength?: number;
	body: Readable;
	/** Ends the body and closes the file's source, whether or not it was read to its end. */
	close(): void;
}

/** Quotes a header parameter the way browsers do (WHATWG multipart/form-data encoding). */
function quoteParameter(value: string): string {
	return value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

/**
 * Encodes text fields and one file as multipart/form-data, streaming the file's bytes through.
 * Dify wants the file part to carry both a file name and a Content-Type (dify-api.md §8.3).
 */
export function encodeMultipart(fields: Record<string, string>, file: MultipartFile): MultipartBody {
	const boundary = `----n8nDifyBoundary${randomBytes(12).toString('hex')}`;
	const head = Buffer.from(
		Object.entries(fields)
			.map(
				([name, value]) =>
					`--${boundary}\r\nContent-Disposition: form-data; name="${quoteParameter(name)}"\r\n\r\n${value}\r\n`,
			)
			.join('') +
			`--${boundary}\r\nContent-Disposition: form-data; name="${quoteParameter(file.field)}"; filename="${quoteParameter(file.fileName)}"\r\n` +
			`Content-Type: ${file.contentType.replace(/[\r\n]/g, '')}\r\n\r\n`,
		'utf8',
	);
	const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
	const size = Buffer.isBuffer(file.content) ? file.content.length : file.size;

	async function* parts(): AsyncGenerator<Uint8Array> {
		yield head;
		if (Buffer.isBuffer(file.content)) yield file.content;
		else for await (const chunk of file.content) yield chunk;
		yield tail;
	}

	const body = Readable.from(parts(), { objectMode: false });
	return {
		contentType: `multipart/form-data; boundary=${boundary}`,
		contentLength: size === undefined ? undefined : head.length + size + tail.length,
		body,
		close() {
			body.destroy();
			const source = file.content as Partial<Readable>;
			if (typeof source.destroy === 'function' && !source.destroyed) source.destroy();
		},
	};
}
