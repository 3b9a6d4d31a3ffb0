import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';

import { readRequiredText } from '../../helpers/parameters';
import type { MultipartFile } from '../../transport/multipart';
import type { DifyTransport } from '../../transport/request';
import type { DifyUploadedFile } from '../../types';

const properties: INodeProperties[] = [
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		hint: 'The name of the input binary field containing the file to upload',
	},
	{
		displayName: 'User',
		name: 'user',
		type: 'string',
		default: 'n8n',
		required: true,
		description: 'The end user the file belongs to; use the same User when running the workflow with it',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['file'], operation: ['upload'] } },
	properties,
);

/** Where the bytes come from: a stream when n8n keeps binaries on disk or in S3, else a buffer. */
async function fileFromBinary(ctx: IExecuteFunctions, itemIndex: number, property: string): Promise<MultipartFile> {
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

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
): Promise<IDataObject[]> {
	const property = readRequiredText(
		this,
		itemIndex,
		'binaryPropertyName',
		'Input Binary Field',
		'Set Input Binary Field to the name of the binary field that holds the file, e.g. data.',
	);
	const user = readRequiredText(
		this,
		itemIndex,
		'user',
		'User',
		'Set User to the end user identifier the file belongs to.',
	);
	const file = await fileFromBinary(this, itemIndex, property);
	const uploaded = await transport.upload<DifyUploadedFile>(itemIndex, {
		path: '/files/upload',
		fields: { user },
		file,
		// A large file over a slow link must not be cut by the default JSON-call bound.
		timeoutMs: 10 * 60_000,
	});
	return [uploaded as unknown as IDataObject];
}
