import type { IExecuteFunctions } from 'n8n-workflow';

import type { DifyTransport } from '../transport/request';
import type { DifyUploadedFile } from '../types';
import type { BinarySource } from './binaryFile';
import { fileFromBinary } from './binaryFile';

/** Uploads one binary of an item to Dify: File → Upload, the file inputs of a run, a form's files. */
export async function uploadBinary(
	ctx: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
	source: BinarySource,
	user: string,
): Promise<DifyUploadedFile> {
	const file = await fileFromBinary(ctx, itemIndex, source);
	return await transport.upload<DifyUploadedFile>(itemIndex, {
		path: '/files/upload',
		fields: { user },
		file,
		// A large file over a slow link must not be cut by the default JSON-call bound.
		timeoutMs: 10 * 60_000,
	});
}
