import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { DifyTransport } from '../transport/request';
import type { DifyOutputFile, DifyRunResult, OperationItem } from '../types';

function isDifyFile(value: unknown): value is DifyOutputFile {
	if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
	const file = value as Record<string, unknown>;
	return (
		typeof file.url === 'string' &&
		(file.dify_model_identity === '__dify__file__' ||
			(typeof file.transfer_method === 'string' && (typeof file.filename === 'string' || typeof file.mime_type === 'string')))
	);
}

/** A binary property name made of an output variable's name, as n8n expressions can address it. */
function propertyName(name: string): string {
	return name.replace(/[^A-Za-z0-9_]/g, '_') || 'file';
}

/**
 * The files a run's outputs reference, each with the binary property it goes to: the output
 * variable's name for a single file, `<name>_<index>` for each file of a list.
 */
export function outputFiles(outputs: Record<string, unknown>): Array<{ property: string; file: DifyOutputFile }> {
	const found: Array<{ property: string; file: DifyOutputFile }> = [];
	for (const [name, value] of Object.entries(outputs)) {
		if (isDifyFile(value)) found.push({ property: propertyName(name), file: value });
		else if (Array.isArray(value)) {
			value.forEach((entry, index) => {
				if (isDifyFile(entry)) found.push({ property: `${propertyName(name)}_${index}`, file: entry });
			});
		}
	}
	return found;
}

/** The `final` result item, with the output files downloaded into binary properties when asked. */
export async function finalItem(
	ctx: IExecuteFunctions,
	itemIndex: number,
	transport: DifyTransport,
	result: DifyRunResult,
	downloadFiles: boolean | undefined,
): Promise<OperationItem> {
	const item: OperationItem = { json: result as unknown as IDataObject };
	if (!downloadFiles) return item;
	for (const { property, file } of outputFiles(result.outputs)) {
		const download = await transport.download(itemIndex, file.url);
		item.binary ??= {};
		item.binary[property] = await ctx.helpers.prepareBinaryData(
			download.body,
			file.filename,
			file.mime_type || download.contentType || 'application/octet-stream',
		);
	}
	return item;
}
