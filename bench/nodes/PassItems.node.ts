import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { jsonParse, NodeConnectionTypes } from 'n8n-workflow';

export const PASS_ITEMS_TYPE = 'bench.passItems';

/**
 * Emits items given whole, binary references included, so that a file n8n already stored can be
 * handed to the Dify node in a later execution without being written again: the upload figure
 * times the upload alone.
 */
export class PassItems implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Pass Items',
		name: 'passItems',
		group: ['input'],
		version: 1,
		description: 'Emits the given items, binary references included (benchmark only)',
		defaults: { name: 'Pass Items' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{
				displayName: 'Items',
				name: 'items',
				type: 'json',
				default: '[]',
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = jsonParse<INodeExecutionData[]>(this.getNodeParameter('items', 0) as string);
		return [items.map((item) => ({ ...item, pairedItem: { item: 0 } }))];
	}
}
