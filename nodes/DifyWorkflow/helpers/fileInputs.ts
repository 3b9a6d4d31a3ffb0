import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { DifyTransport } from '../transport/request';
import type { DifyFileInput, DifyFileType, DifyInputVariable } from '../types';
import type { BinarySource } from './binaryFile';
import { binariesInJson, binaryAtPath } from './binaryFile';
import { uploadBinary } from './uploadBinary';

/** Dify's extension buckets (dify-api.md §6): a file's declared type must match its extension. */
const TYPE_BY_EXTENSION: Record<string, DifyFileType> = {};
const BUCKETS: Record<DifyFileType, string[]> = {
	document: ['txt', 'md', 'markdown', 'mdx', 'pdf', 'html', 'xlsx', 'xls', 'vtt', 'properties', 'doc', 'docx', 'csv', 'eml', 'msg', 'pptx', 'ppt', 'xml', 'epub'],
	image: ['jpg', 'jpeg', 'png', 'gif', 'webp', 'svg'],
	audio: ['mp3', 'm4a', 'wav', 'mpga', 'amr'],
	video: ['mp4', 'mov', 'mpeg', 'webm'],
	custom: [],
};
for (const [type, extensions] of Object.entries(BUCKETS) as Array<[DifyFileType, string[]]>) {
	for (const extension of extensions) TYPE_BY_EXTENSION[extension] ??= type;
}

/** The extensions Dify puts in a file type's bucket; none for `custom`. */
export function extensionsOfType(type: DifyFileType): readonly string[] {
	return BUCKETS[type] ?? [];
}

/** The Dify file type of a file, from its extension, else its MIME type. */
export function difyFileType(name: string, mimeType?: string): DifyFileType {
	const extension = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
	if (extension && TYPE_BY_EXTENSION[extension]) return TYPE_BY_EXTENSION[extension];
	const major = mimeType?.split('/')[0];
	if (major === 'image' || major === 'audio' || major === 'video') return major;
	if (mimeType?.startsWith('text/') || mimeType === 'application/pdf') return 'document';
	return 'custom';
}

/** A file reference a user can write: a URL, or the name of a binary property of the item. */
function references(value: unknown): string[] | undefined {
	if (typeof value === 'string') {
		return value
			.split(',')
			.map((part) => part.trim())
			.filter(Boolean);
	}
	if (Array.isArray(value) && value.every((part) => typeof part === 'string')) return value as string[];
	return undefined;
}

/** Turns one reference into a Dify file object, uploading a binary property first. */
export async function toDifyFile(
	ctx: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
	reference: string,
	user: string,
): Promise<DifyFileInput> {
	if (/^https?:\/\//i.test(reference)) {
		const path = new URL(reference).pathname;
		return { type: difyFileType(path), transfer_method: 'remote_url', url: reference };
	}
	const item = ctx.getInputData()[itemIndex];
	if (item?.binary?.[reference]) return await uploadedFileInput(ctx, itemIndex, transport, reference, user);
	const inJson = binariesInJson(ctx) ? binaryAtPath(item?.json, reference) : undefined;
	if (inJson) return await uploadedFileInput(ctx, itemIndex, transport, inJson, user);
	throw new NodeOperationError(ctx.getNode(), `No binary field "${reference}" on the item for a file input`, {
		itemIndex,
		description:
			"A file input takes a URL (http or https) or the name of a binary field of the input item, e.g. data (in n8n 2.x's combined binary mode, its path, e.g. _files.data). Several files: separate them with commas.",
	});
}

/** Uploads a binary (a property of the item, or a binary object) and points a Dify file object at it. */
export async function uploadedFileInput(
	ctx: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
	source: BinarySource,
	user: string,
): Promise<DifyFileInput> {
	const binary = typeof source === 'string' ? ctx.getInputData()[itemIndex]?.binary?.[source] : source;
	const uploaded = await uploadBinary(ctx, itemIndex, transport, source, user);
	return {
		type: difyFileType(uploaded.name || binary?.fileName || '', uploaded.mime_type || binary?.mimeType),
		transfer_method: 'local_file',
		upload_file_id: uploaded.id,
	};
}

/**
 * Whether some input could be a file reference written as text, so that the app's form must be
 * read to know whether it is one. Inputs without any text (numbers, objects) need no form.
 */
export function mayReferenceFiles(inputs: IDataObject): boolean {
	return Object.values(inputs).some((value) => references(value)?.length);
}

/**
 * Resolves the file inputs of a run: a `file` or `file-list` variable given as text (binary field
 * names or URLs) becomes Dify file objects. Values that already are file objects pass unchanged.
 */
export async function resolveFileInputs(
	ctx: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
	inputs: IDataObject,
	variables: DifyInputVariable[],
	user: string,
): Promise<IDataObject> {
	const resolved: IDataObject = { ...inputs };
	for (const variable of variables) {
		if (variable.type !== 'file' && variable.type !== 'file-list') continue;
		const refs = references(inputs[variable.variable]);
		if (!refs || refs.length === 0) continue;
		const files: DifyFileInput[] = [];
		for (const reference of refs) files.push(await toDifyFile(ctx, itemIndex, transport, reference, user));
		resolved[variable.variable] = (variable.type === 'file' ? files[0] : files) as unknown as IDataObject;
	}
	return resolved;
}

/** The run's `files` list (sys.files) from the Files option: binary field names or URLs. */
export async function resolveRunFiles(
	ctx: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
	value: unknown,
	user: string,
): Promise<DifyFileInput[] | undefined> {
	const refs = references(value);
	if (!refs || refs.length === 0) return undefined;
	const files: DifyFileInput[] = [];
	for (const reference of refs) files.push(await toDifyFile(ctx, itemIndex, transport, reference, user));
	return files;
}
