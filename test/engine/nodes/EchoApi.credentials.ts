import type { IAuthenticateGeneric, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Test credential for the Echo node. Its `authenticate` is declarative, like DifyApi's, so a
 * request made with it shows that the harness resolves `={{$credentials.…}}` the way n8n does.
 */
export class EchoApi implements ICredentialType {
	name = 'echoApi';

	displayName = 'Echo API (test)';

	properties: INodeProperties[] = [
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: 'echo-user',
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				'X-Echo-Token': '={{$credentials.token}}',
				'X-Echo-User': '={{$credentials.user}}',
			},
		},
	};
}
