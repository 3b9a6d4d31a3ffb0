import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { MultipartFile } from '../transport/multipart';

/** Where the bytes come from: a stream when n8n keeps binaries on disk or in S3, else a buffer. */
export async function fileFromBinary(ctx: IExecuteFunctions, itemIndex: number, property: string): Promise<MultipartFile> {
	const binary = ctx.helpers.assertBinaryData(itemIndex, property);
	// The item's own name and type come first: a node after the upload's source may have renamed it.
	const mimeType = binary.mimeType || 'application/octet-stream';
	const fileName = binary.fileName || `file${binary.fileExtension ? `.${binary.fileExtension}` : ''}`;
	if (binary.id) {
		const metadata = await ctx.helpers.getBinaryMetadata(binary.id);
		if (metadata.fileSize === 0) throw emptyFile(ctx, itemIndex, property);
		return {
			field: 'file',
			fileName: binary.fileName || metadata.fileName || fileName,
			contentType: binary.mimeType || metadata.mimeType || mimeType,
			content: await ctx.helpers.getBinaryStream(binary.id),
			size: metadata.fileSize,
		};
	}
	const buffer = await ctx.helpers.getBinaryDataBuffer(itemIndex, property);
	if (buffer.length === 0) throw emptyFile(ctx, itemIndex, property);
	return { field: 'file', fileName, contentType: mimeType, content: buffer };
}

function emptyFile(ctx: IExecuteFunctions, itemIndex: number, property: string): NodeOperationError {
	return new NodeOperationError(ctx.getNode(), `The file in the binary field "${property}" is empty`, {
		itemIndex,
		description: 'Dify does not accept empty files. Check the node that produced the file.',
	});
}

