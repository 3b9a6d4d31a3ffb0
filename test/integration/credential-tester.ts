import { CredentialTestContext } from 'n8n-core';
import type { ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';

/**
 * What n8n's credential tester does with the Dify API credential: the node's test, called in
 * n8n-core's own CredentialTestContext (whose request helper is n8n's HTTP client), with the form's data.
 */
export async function testCredential(data: { baseUrl: string; apiKey: string }): Promise<INodeCredentialTestResult> {
	const node = new DifyWorkflow();
	const entry = node.description.credentials?.find((credential) => credential.name === 'difyApi');
	const test = node.methods.credentialTest[entry?.testedBy as keyof typeof node.methods.credentialTest];
	const credential: ICredentialsDecrypted = { id: 'c1', name: 'Dify API', type: 'difyApi', data };
	return await test.call(new CredentialTestContext(undefined as never), credential);
}
