import type { BinaryHelperFunctions, IDataObject } from 'n8n-workflow';

import type { DifyTransport, DownloadAdvice } from '../transport/request';
import type { DifyOutputFile, DifyRunResult, OperationItem } from '../types';

/** Max Download Size's default, in megabytes. */
export const DEFAULT_MAX_DOWNLOAD_MB = 100;

/** Download Output Files and Max Download Size, as the limit finalItem takes; undefined when off. */
export function downloadLimit(options: { downloadFiles?: boolean; maxDownloadSize?: number }): { maxBytes: number } | undefined {
	if (!options.downloadFiles) return undefined;
	return { maxBytes: Math.floor(Math.max(0, Number(options.maxDownloadSize ?? DEFAULT_MAX_DOWNLOAD_MB)) * 1024 * 1024) };
}

/** Only what Dify itself marks as a file is downloaded: an output that merely looks like one is data. */
function isDifyFile(value: unknown): value is DifyOutputFile {
	if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
	const file = value as Record<string, unknown>;
	return file.dify_model_identity === '__dify__file__' && typeof file.url === 'string';
}

const PROPERTY_NAME = /^[A-Za-z0-9_]+$/;

/** A binary property name made of an output variable's name, as n8n expressions can address it. */
function propertyName(name: string): string {
	return name.replace(/[^A-Za-z0-9_]/g, '_') || 'file';
}

/**
 * The files a run's outputs reference, each with the binary property it goes to: the output
 * variable's name for a single file, `<name>_<index>` for each file of a list. Names are unique:
 * a single file whose variable name is already a valid property name keeps it; any other name
 * that is taken by then gets `_2`, `_3`, … in the order of the outputs.
 */
export function outputFiles(outputs: Record<string, unknown>): Array<{ property: string; file: DifyOutputFile }> {
	const wanted: Array<{ name: string; exact: boolean; file: DifyOutputFile }> = [];
	for (const [name, value] of Object.entries(outputs)) {
		if (isDifyFile(value)) wanted.push({ name: propertyName(name), exact: PROPERTY_NAME.test(name), file: value });
		else if (Array.isArray(value)) {
			value.forEach((entry, index) => {
				if (isDifyFile(entry)) wanted.push({ name: `${propertyName(name)}_${index}`, exact: false, file: entry });
			});
		}
	}
	const taken = new Set(wanted.filter((entry) => entry.exact).map((entry) => entry.name));
	return wanted.map(({ name, exact, file }) => {
		if (exact) return { property: name, file };
		let property = name;
		for (let suffix = 2; taken.has(property); suffix++) property = `${name}_${suffix}`;
		taken.add(property);
		return { property, file };
	});
}

/** What to do about a download that fails: the options of Download Output Files. */
const DOWNLOAD_ADVICE: DownloadAdvice = {
	tooLarge: 'Raise the Max Download Size option if files this large are expected, or turn off Download Output Files.',
	failed:
		'The run itself succeeded; only the download of a file its outputs link to failed. Check that n8n can reach that address, or turn off Download Output Files and use the links.',
};

/** The `final` result item, with the output files downloaded into binary properties when asked. */
export async function finalItem(
	ctx: { helpers: Pick<BinaryHelperFunctions, 'prepareBinaryData'> },
	itemIndex: number,
	transport: DifyTransport,
	result: DifyRunResult,
	download: { maxBytes: number } | undefined,
): Promise<OperationItem> {
	const item: OperationItem = { json: result as unknown as IDataObject };
	if (!download) return item;
	for (const { property, file } of outputFiles(result.outputs)) {
		const fetched = await transport.download(itemIndex, file.url, download.maxBytes, DOWNLOAD_ADVICE);
		item.binary ??= {};
		// A stream: n8n writes it to its binary store as it arrives (filesystem, S3) instead of holding it.
		// The name and type end up in the binary's metadata, which the items' redaction does not reach.
		item.binary[property] = await ctx.helpers.prepareBinaryData(
			fetched.body,
			file.filename === undefined ? undefined : transport.redact(file.filename),
			transport.redact(file.mime_type || fetched.contentType || 'application/octet-stream'),
		);
	}
	return item;
}
