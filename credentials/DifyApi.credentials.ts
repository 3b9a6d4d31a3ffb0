import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/**
 * Tested by the node (testedBy: 'difyApiTest'), so Test explains a failure as a run does. It has no
 * test request of its own: n8n would run that one instead.
 */
export class DifyApi implements ICredentialType {
	name = 'difyApi';

	displayName = 'Dify API';

	icon: Icon = { light: 'file:dify.svg', dark: 'file:dify.dark.svg' };

	// A community credential links a full URL (@n8n/community-nodes/credential-documentation-url);
	// the camelCase rule below is written for slugs on n8n's own documentation site.
	// eslint-disable-next-line n8n-nodes-base/cred-class-field-documentation-url-miscased
	documentationUrl = 'https://docs.dify.ai/en/guides/application-publishing/developing-with-apis';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.dify.ai/v1',
			placeholder: 'https://dify.example.com/v1',
			description:
				"Dify's Service API address: https://api.dify.ai/v1 for Dify Cloud, or your own host followed by /v1 for a self-hosted Dify",
			required: true,
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'app-…',
			description:
				"The workflow app's API key (starts with app-), from the app's API Access page in Dify. A key identifies exactly one app.",
			required: true,
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				Authorization: '=Bearer {{$credentials.apiKey}}',
			},
		},
	};
}
