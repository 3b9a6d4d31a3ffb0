import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INode,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { probeAppInfo } from '../transport/credentialProbe';
import type { DifyCredentials } from '../transport/request';

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
 * The credential's Test button: GET /info through n8n's own HTTP client, under the instance's
 * outbound policy, with the node's wording: a refused connection, an unknown host, a TLS problem,
 * a blocked address or a 401/403/404 reads exactly as it does in a run. A test answers at once:
 * no retries.
 */
export async function difyApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = (credential.data ?? {}) as Partial<DifyCredentials>;
	// A credential test's context offers n8n's HTTP client only as this helper (n8n 2.41 and 1.x);
	// httpRequest and an outbound policy for the node's own client are not there.
	// eslint-disable-next-line @n8n/community-nodes/no-deprecated-workflow-functions
	const request = this.helpers?.request;
	if (typeof request !== 'function') {
		return { status: 'Error', message: 'This n8n gives credential tests no HTTP client: save the credential and try it in a run.' };
	}
	try {
		const info = await probeAppInfo(request, CREDENTIAL_TEST_NODE, data);
		return { status: 'OK', message: `Connected to the Dify app "${info.name}"` };
	} catch (error) {
		const { message, description } = error as { message: string; description?: string | null };
		if (!description) return { status: 'Error', message };
		return { status: 'Error', message: `${message}${/[.!?]$/.test(message) ? '' : '.'} ${description}` };
	}
}
