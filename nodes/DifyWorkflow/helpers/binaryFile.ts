import type { IBinaryData, IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { MultipartFile } from '../transport/multipart';

/**
 * A file to read: the name of a binary property of the item, or a binary object itself, as n8n
 * 2.x's *combined* binary mode (execution logic v2) puts it inside an item's JSON.
 */
export type BinarySource = string | IBinaryData;

/**
 * Whether a value is one of n8n's binary objects: n8n's own test, written here because n8n 1.x's
 * n8n-workflow does not export it. A form answer's file metadata (`{filename, mimetype, size}`)
 * is not one.
 */
export function isBinaryData(value: unknown): value is IBinaryData {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
	const binary = value as Partial<IBinaryData>;
	return typeof binary.mimeType === 'string' && (typeof binary.id === 'string' || typeof binary.data === 'string');
}

/**
 * Whether the workflow runs in n8n 2.x's combined binary mode, the only mode in which n8n puts
 * binaries inside JSON. Elsewhere a binary-looking object in JSON came from data, not from n8n,
 * and its `id` could name another execution's file, so it is never read.
 */
export function binariesInJson(ctx: IExecuteFunctions): boolean {
	const settings = ctx.getWorkflowSettings?.() as { binaryMode?: string } | undefined;
	return settings?.binaryMode === 'combined';
}

/**
 * The binary object at a dotted path of an item's JSON (`_files.data`): where n8n 2.x's combined
 * binary mode keeps the binaries that other modes keep in `binary.data`.
 */
export function binaryAtPath(json: IDataObject | undefined, path: string): IBinaryData | undefined {
	let value: unknown = json;
	for (const step of path.split('.')) {
		if (typeof value !== 'object' || value === null) return undefined;
		value = (value as IDataObject)[step];
	}
	return isBinaryData(value) ? value : undefined;
}

/** Where the bytes come from: a stream when n8n keeps binaries on disk or in S3, else a buffer. */
export async function fileFromBinary(ctx: IExecuteFunctions, itemIndex: number, source: BinarySource): Promise<MultipartFile> {
	const binary = typeof source === 'string' ? ctx.helpers.assertBinaryData(itemIndex, source) : source;
	// The item's own name and type come first: a node after the upload's source may have renamed it.
	const mimeType = binary.mimeType || 'application/octet-stream';
	const fileName = binary.fileName || `file${binary.fileExtension ? `.${binary.fileExtension}` : ''}`;
	const where = typeof source === 'string' ? `the binary field "${source}"` : `"${fileName}"`;
	if (binary.id) {
		const metadata = await ctx.helpers.getBinaryMetadata(binary.id);
		if (metadata.fileSize === 0) throw emptyFile(ctx, itemIndex, where);
		return {
			field: 'file',
			fileName: binary.fileName || metadata.fileName || fileName,
			contentType: binary.mimeType || metadata.mimeType || mimeType,
			content: await ctx.helpers.getBinaryStream(binary.id),
			size: metadata.fileSize,
		};
	}
	// A binary object kept inline holds its bytes as base64 (n8n's BINARY_ENCODING).
	const buffer = typeof source === 'string' ? await ctx.helpers.getBinaryDataBuffer(itemIndex, source) : Buffer.from(binary.data, 'base64');
	if (buffer.length === 0) throw emptyFile(ctx, itemIndex, where);
	return { field: 'file', fileName, contentType: mimeType, content: buffer };
}

function emptyFile(ctx: IExecuteFunctions, itemIndex: number, where: string): NodeOperationError {
	return new NodeOperationError(ctx.getNode(), `The file in ${where} is empty`, {
		itemIndex,
		description: 'Dify does not accept empty files. Check the node that produced the file.',
	});
}
