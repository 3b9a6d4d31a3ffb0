import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

/** What the stand-in keeps of one file part: never its bytes, so uploads of any size cost no memory. */
export interface MultipartFileSummary {
	field: string;
	/** As sent; '' when the part said `filename=""`. A part without a filename is a field, not a file. */
	filename?: string;
	contentType?: string;
	size: number;
	sha256: string;
}

export interface MultipartSummary {
	fields: Record<string, string>;
	files: MultipartFileSummary[];
}

/** A body that is not well-formed multipart; `status` is what a werkzeug-based server answers. */
export class MultipartError extends Error {
	constructor(
		message: string,
		readonly status = 400,
	) {
		super(message);
		this.name = 'MultipartError';
	}
}

export interface PartHeaders {
	name: string;
	filename?: string;
	contentType?: string;
}

export interface PartHandlers {
	onPartStart(headers: PartHeaders): void;
	onPartData(chunk: Buffer): void;
	onPartEnd(): void;
}

const MAX_HEADER_BYTES = 16 * 1024;
/** Werkzeug's default `max_form_memory_size`: text fields beyond it are refused with 413. */
const MAX_FIELD_BYTES = 500_000;

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary parameter of a multipart/form-data Content-Type, if it is one. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
	if (!contentType) return undefined;
	const [type, ...params] = splitParameters(contentType);
	if (type.trim().toLowerCase() !== 'multipart/form-data') return undefined;
	const boundary = parseParameters(params).boundary;
	return boundary && boundary.length <= 70 ? boundary : undefined;
}

/** Splits `a; b="x;y"; c` on semicolons outside quotes. */
function splitParameters(value: string): string[] {
	const pieces: string[] = [];
	let current = '';
	let quoted = false;
	for (let i = 0; i < value.length; i++) {
		const ch = value[i];
		if (quoted && ch === '\\' && i + 1 < value.length) {
			current += ch + value[++i];
		} else if (ch === '"') {
			quoted = !quoted;
			current += ch;
		} else if (ch === ';' && !quoted) {
			pieces.push(current);
			current = '';
		} else {
			current += ch;
		}
	}
	pieces.push(current);
	return pieces;
}

function parseParameters(pieces: string[]): Record<string, string> {
	const params: Record<string, string> = {};
	for (const piece of pieces) {
		const eq = piece.indexOf('=');
		if (eq < 0) continue;
		const key = piece.slice(0, eq).trim().toLowerCase();
		let value = piece.slice(eq + 1).trim();
		if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
			value = value.slice(1, -1).replace(/\\(.)/g, '$1');
		}
		if (!(key in params)) params[key] = value;
	}
	return params;
}

/** RFC 5987 `filename*=UTF-8''caf%C3%A9.pdf`; undefined when it cannot be decoded. */
function decodeExtendedValue(value: string): string | undefined {
	const match = /^([^']*)'[^']*'(.*)$/.exec(value);
	if (!match) return undefined;
	try {
		return decodeURIComponent(match[2]);
	} catch {
		return undefined;
	}
}

function parsePartHeaders(block: string): PartHeaders {
	let disposition: Record<string, string> | undefined;
	let contentType: string | undefined;
	for (const line of block.split('\r\n')) {
		const colon = line.indexOf(':');
		if (colon < 0) continue;
		const name = line.slice(0, colon).trim().toLowerCase();
		const value = line.slice(colon + 1).trim();
		if (name === 'content-disposition') {
			const [type, ...params] = splitParameters(value);
			if (type.trim().toLowerCase() !== 'form-data') throw new MultipartError('A part is not form-data');
			disposition = parseParameters(params);
		} else if (name === 'content-type' && value !== '') {
			contentType = value;
		}
	}
	if (!disposition || disposition.name === undefined) throw new MultipartError('A part has no field name');
	const extended = disposition['filename*'] !== undefined ? decodeExtendedValue(disposition['filename*']) : undefined;
	return { name: disposition.name, filename: extended ?? disposition.filename, contentType };
}

type State = 'preamble' | 'after-boundary' | 'headers' | 'body' | 'done';

/**
 * Incremental multipart/form-data parser. Bytes go in as they arrive; part data comes out as it is
 * found. Only a delimiter's length of bytes (or a header block) is ever held back, so memory stays
 * flat however large a part is.
 */
export class MultipartParser {
	private readonly delimiter: Buffer;
	private state: State = 'preamble';
	// The stream is read as if it began with CRLF, so the first boundary needs no special case.
	private pending: Buffer = Buffer.from(CRLF);

	constructor(
		boundary: string,
		private readonly handlers: PartHandlers,
	) {
		this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
	}

	write(chunk: Buffer): void {
		const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
		let position = 0;
		while (this.state !== 'done') {
			const next = this.step(buffer, position);
			if (next === position) break;
			position = next;
		}
		// A copy, so that a small remainder does not keep a whole network chunk alive.
		this.pending = this.state === 'done' ? Buffer.alloc(0) : Buffer.from(buffer.subarray(position));
	}

	end(): void {
		if (this.state !== 'done') throw new MultipartError('The multipart body ended before its closing boundary');
	}

	/** Consumes what it can from `position`; returns the new position (unchanged = needs more bytes). */
	private step(buffer: Buffer, position: number): number {
		switch (this.state) {
			case 'preamble': {
				const found = buffer.indexOf(this.delimiter, position);
				if (found < 0) return Math.max(position, buffer.length - this.delimiter.length + 1);
				this.state = 'after-boundary';
				return found + this.delimiter.length;
			}
			case 'after-boundary': {
				let at = position;
				while (at < buffer.length && (buffer[at] === 0x20 || buffer[at] === 0x09)) at++;
				if (buffer.length - at < 2) return position;
				if (buffer[at] === 0x2d && buffer[at + 1] === 0x2d) {
					this.state = 'done';
					return buffer.length;
				}
				if (buffer[at] !== 0x0d || buffer[at + 1] !== 0x0a) throw new MultipartError('Malformed boundary line');
				this.state = 'headers';
				return at + 2;
			}
			case 'headers': {
				if (buffer.length - position >= 2 && buffer[position] === 0x0d && buffer[position + 1] === 0x0a) {
					throw new MultipartError('A part has no headers');
				}
				const end = buffer.indexOf(HEADER_END, position);
				if (end < 0) {
					if (buffer.length - position > MAX_HEADER_BYTES) throw new MultipartError('Part headers are too long');
					return position;
				}
				this.handlers.onPartStart(parsePartHeaders(buffer.toString('utf8', position, end)));
				this.state = 'body';
				return end + HEADER_END.length;
			}
			case 'body': {
				const found = buffer.indexOf(this.delimiter, position);
				if (found >= 0) {
					if (found > position) this.handlers.onPartData(buffer.subarray(position, found));
					this.handlers.onPartEnd();
					this.state = 'after-boundary';
					return found + this.delimiter.length;
				}
				// Hold back what could be the start of a delimiter split across chunks.
				const safe = buffer.length - this.delimiter.length + 1;
				if (safe <= position) return position;
				this.handlers.onPartData(buffer.subarray(position, safe));
				return safe;
			}
			default:
				return position;
		}
	}
}

/**
 * Reads a multipart body to its end and summarises it: text fields by name (the first of a name
 * wins, as werkzeug's `form.get` does), and for each part that carries a filename its size and
 * SHA-256. File bytes are hashed and dropped as they stream past.
 */
export async function readMultipart(body: AsyncIterable<Buffer | string>, boundary: string): Promise<MultipartSummary> {
	const summary: MultipartSummary = { fields: {}, files: [] };
	let file: { summary: MultipartFileSummary; hash: Hash } | undefined;
	let field: { name: string; chunks: Buffer[]; size: number } | undefined;

	const parser = new MultipartParser(boundary, {
		onPartStart(headers) {
			if (headers.filename === undefined) {
				field = { name: headers.name, chunks: [], size: 0 };
				return;
			}
			const entry: MultipartFileSummary = { field: headers.name, filename: headers.filename, size: 0, sha256: '' };
			if (headers.contentType !== undefined) entry.contentType = headers.contentType;
			file = { summary: entry, hash: createHash('sha256') };
		},
		onPartData(chunk) {
			if (file) {
				file.summary.size += chunk.length;
				file.hash.update(chunk);
			} else if (field) {
				field.size += chunk.length;
				if (field.size > MAX_FIELD_BYTES) {
					throw new MultipartError('The data value transmitted exceeds the capacity limit.', 413);
				}
				field.chunks.push(Buffer.from(chunk));
			}
		},
		onPartEnd() {
			if (file) {
				file.summary.sha256 = file.hash.digest('hex');
				summary.files.push(file.summary);
			} else if (field && !(field.name in summary.fields)) {
				summary.fields[field.name] = Buffer.concat(field.chunks).toString('utf8');
			}
			file = undefined;
			field = undefined;
		},
	});

	for await (const chunk of body) parser.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
	parser.end();
	return summary;
}
