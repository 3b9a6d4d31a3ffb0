import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import type {
	IBinaryKeyData,
	IDataObject,
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { jsonParse, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

/** The type name a workflow uses for this node (`<package>.<description.name>`, as n8n loads it). */
export const TEST_ITEMS_TYPE = 'test.items';

/** A binary to attach: exactly one of `text`, `base64` or `sizeBytes` gives its content. */
export interface TestBinary {
	/** Binary property name on the item; default `data`. */
	property?: string;
	fileName?: string;
	mimeType?: string;
	text?: string;
	base64?: string;
	/** That many bytes of `patternBytes()`, streamed into n8n so large files never sit in memory. */
	sizeBytes?: number;
	/** Only the item at this index gets the binary; without it, every item gets its own copy. */
	item?: number;
	/**
	 * Put the binary object into the item's JSON at this path instead of into `binary`, as n8n
	 * 2.x's combined binary mode does (a form answer's file under its label). Several specs with
	 * one path make a list.
	 */
	jsonPath?: string[];
}

const PATTERN_MODULUS = 251;
const PATTERN_CHUNK = 64 * 1024;

// A prime modulus keeps the pattern from lining up with power-of-two chunk sizes, so a
// chunk that is dropped, repeated or reordered changes the digest.
function patternChunk(offset: number, length: number): Buffer {
	const chunk = Buffer.allocUnsafe(length);
	for (let i = 0; i < length; i++) chunk[i] = (offset + i) % PATTERN_MODULUS;
	return chunk;
}

/** The deterministic content of a `sizeBytes` binary. */
export function patternBytes(size: number): Buffer {
	return patternChunk(0, size);
}

/** SHA-256 (hex) of `patternBytes(size)`, computed without holding the bytes. */
export function patternSha256(size: number): string {
	const hash = createHash('sha256');
	for (let offset = 0; offset < size; offset += PATTERN_CHUNK) {
		hash.update(patternChunk(offset, Math.min(PATTERN_CHUNK, size - offset)));
	}
	return hash.digest('hex');
}

function patternStream(size: number): Readable {
	let offset = 0;
	return new Readable({
		read() {
			if (offset >= size) {
				this.push(null);
				return;
			}
			const length = Math.min(PATTERN_CHUNK, size - offset);
			this.push(patternChunk(offset, length));
			offset += length;
		},
	});
}

function parseJsonParameter<T>(context: IExecuteFunctions, name: string, value: unknown): T {
	if (typeof value !== 'string') return value as T;
	return jsonParse<T>(value, {
		errorMessage: `Parameter "${name}" of ${context.getNode().name} is not valid JSON`,
	});
}

function binaryContent(context: IExecuteFunctions, spec: TestBinary): Buffer | Readable {
	const sources = [spec.text, spec.base64, spec.sizeBytes].filter((source) => source !== undefined);
	if (sources.length !== 1) {
		throw new NodeOperationError(
			context.getNode(),
			`Binary "${spec.property ?? 'data'}" needs exactly one of text, base64 or sizeBytes`,
		);
	}
	if (spec.text !== undefined) return Buffer.from(spec.text, 'utf8');
	if (spec.base64 !== undefined) return Buffer.from(spec.base64, 'base64');
	return patternStream(spec.sizeBytes as number);
}

/**
 * Emits fixed items, optionally with binaries stored through `prepareBinaryData`, so they land
 * in whatever binary data mode the engine runs in. It has a main input only so that it can also
 * sit mid-workflow; as the start node the engine feeds it one empty item.
 */
export class TestItems implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Items',
		name: 'items',
		group: ['input'],
		version: 1,
		description: 'Emits the given items (test only)',
		defaults: { name: 'Test Items' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{
				displayName: 'Items',
				name: 'items',
				type: 'json',
				default: '[{}]',
				description: 'JSON array of objects; each becomes one item',
			},
			{
				displayName: 'Binaries',
				name: 'binaries',
				type: 'json',
				default: '[]',
				description: 'JSON array of { property, fileName, mimeType, text | base64 | sizeBytes, item }',
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const objects = parseJsonParameter<unknown>(this, 'items', this.getNodeParameter('items', 0));
		if (!Array.isArray(objects) || objects.some((o) => typeof o !== 'object' || o === null || Array.isArray(o))) {
			throw new NodeOperationError(this.getNode(), 'Parameter "items" must be a JSON array of objects');
		}
		const binaries = parseJsonParameter<TestBinary[]>(this, 'binaries', this.getNodeParameter('binaries', 0, '[]'));

		const items: INodeExecutionData[] = [];
		for (const [index, original] of (objects as IDataObject[]).entries()) {
			const json = structuredClone(original);
			const binary: IBinaryKeyData = {};
			const inJson = new Map<string, IDataObject[]>();
			for (const spec of binaries) {
				if (spec.item !== undefined && spec.item !== index) continue;
				// Each item stores its own copy, as a real node producing files per item would.
				const prepared = await this.helpers.prepareBinaryData(
					binaryContent(this, spec),
					spec.fileName ?? 'file.bin',
					// Without a MIME type n8n-core sniffs it through a dynamic import() of the
					// ESM-only `file-type`, which jest's CommonJS runtime cannot load.
					spec.mimeType ?? 'application/octet-stream',
				);
				if (!spec.jsonPath) {
					binary[spec.property ?? 'data'] = prepared;
					continue;
				}
				const key = JSON.stringify(spec.jsonPath);
				inJson.set(key, [...(inJson.get(key) ?? []), prepared as unknown as IDataObject]);
			}
			for (const [key, objects_] of inJson) {
				const path = JSON.parse(key) as string[];
				let parent = json;
				for (const step of path.slice(0, -1)) parent = (parent[step] ??= {}) as IDataObject;
				parent[path[path.length - 1]] = objects_.length === 1 ? objects_[0] : objects_;
			}
			const item: INodeExecutionData = { json, pairedItem: { item: 0 } };
			if (Object.keys(binary).length > 0) item.binary = binary;
			items.push(item);
		}
		return [items];
	}
}

/** A `test.items` node for a workflow, with its parameters written as n8n stores them (JSON text). */
export function testItemsNode(
	name: string,
	items: IDataObject[],
	binaries: TestBinary[] = [],
	position: [number, number] = [0, 0],
): INode {
	return {
		id: `${name}-id`,
		name,
		type: TEST_ITEMS_TYPE,
		typeVersion: 1,
		position,
		parameters: { items: JSON.stringify(items), binaries: JSON.stringify(binaries) },
	};
}
