import type { INode } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { DifyTransport } from '../transport/request';

/** Guarantees the error that leaves a node is an n8n error for its item and never shows the key. */
export function asNodeError(
	node: INode,
	error: unknown,
	itemIndex: number,
	transport: DifyTransport | undefined,
): NodeApiError | NodeOperationError {
	const nodeError =
		error instanceof NodeApiError || error instanceof NodeOperationError
			? error
			: new NodeOperationError(node, error as Error, { itemIndex });
	if (transport) {
		nodeError.message = transport.redact(nodeError.message);
		if (nodeError.description) nodeError.description = transport.redact(nodeError.description);
	}
	return nodeError;
}
