import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import tsParser from '@typescript-eslint/parser';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';

const typescript = { parser: tsParser, parserOptions: { sourceType: 'module' } };
const community = n8nCommunityNodesPlugin.configs.recommendedWithoutN8nCloudSupport;

export default [
	{ ignores: ['dist/**', 'node_modules/**', '.build/**', '.cache/**', 'coverage/**'] },
	{
		files: ['package.json'],
		languageOptions: { parser: tsParser, parserOptions: { extraFileExtensions: ['.json'] } },
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: n8nNodesBase.configs.community.rules,
	},
	{
		files: ['credentials/**/*.ts'],
		languageOptions: typescript,
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: n8nNodesBase.configs.credentials.rules,
	},
	{
		files: ['nodes/**/*.ts'],
		languageOptions: typescript,
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: n8nNodesBase.configs.nodes.rules,
	},
	{
		...community,
		files: ['package.json', 'credentials/**/*.ts', 'nodes/**/*.ts'],
		rules: {
			...community.rules,
			// undici and eventsource-parser are the package's chosen runtime dependencies:
			// streaming SSE and multipart bodies need them, and n8n installs them with the package.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		// Tests, scripts and benchmarks are type-checked by tsc; here they only need to parse.
		files: ['test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
		languageOptions: typescript,
	},
];
