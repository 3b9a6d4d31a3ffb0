import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INode,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { createDifyTransport } from '../transport/request';
import type { DifyCredentials } from '../transport/request';
import type { DifyAppInfo } from '../types';

/** The test runs outside any workflow: errors still need a node to belong to. */
const CREDENTIAL_TEST_NODE: INode = {
	id: 'dify-api-credential-test',
	name: 'Dify API',
	type: 'n8n-nodes-dify-workflow.difyWorkflow',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

/**
 * The credential's Test button: GET /info through the node's own transport, so a refused
 * connection, an unknown host, a TLS problem or a 401/403/404 reads exactly as it does in a run.
 * A test answers at once: no retries.
 */
export async function difyApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = (credential.data ?? {}) as Partial<DifyCredentials>;
	try {
		const transport = await createDifyTransport({
			getCredentials: async <T>() => data as T,
			getNode: () => CREDENTIAL_TEST_NODE,
			logger: this.logger,
		});
		const info = await transport.json<DifyAppInfo>(0, { method: 'GET', path: '/info', retry: 'none' });
		return { status: 'OK', message: `Connected to the Dify app "${info.name}"` };
	} catch (error) {
		const { message, description } = error as { message: string; description?: string | null };
		if (!description) return { status: 'Error', message };
		return { status: 'Error', message: `${message}${/[.!?]$/.test(message) ? '' : '.'} ${description}` };
	}
}
