import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import tsParser from '@typescript-eslint/parser';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';

const typescript = { parser: tsParser, parserOptions: { sourceType: 'module' } };
// n8n's full rule set for community nodes, the one its scanner and @n8n/node-cli apply.
const community = n8nCommunityNodesPlugin.configs.recommended;

// What transport/ may import: the two chosen runtime dependencies and the Node built-ins that
// streaming HTTP needs. Everything else stays refused there, as n8n's rule refuses it elsewhere.
const transportImports = [
	'n8n-workflow',
	'undici',
	'eventsource-parser',
	'node:crypto',
	'node:events',
	'node:perf_hooks',
	'node:stream',
	'node:string_decoder',
];

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
			// Off: undici and eventsource-parser are the chosen runtime dependencies (streaming SSE, uploads, proxies).
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		// transport/ is the one place that speaks HTTP and SSE, so only it is exempted, and in
		// place of n8n's two rules (which take no options) ESLint's own rules keep an allowlist.
		files: ['nodes/*/transport/**/*.ts'],
		rules: {
			// Off here only: transport imports undici, eventsource-parser and Node's stream built-ins (listed above).
			'@n8n/community-nodes/no-restricted-imports': 'off',
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							regex: `^(?!\\./|\\.\\./types$|(${transportImports.join('|')})$)`,
							message:
								'transport/ is the bottom layer: it imports its own files, ../types, n8n-workflow and the packages listed in eslint.config.mjs.',
						},
					],
				},
			],
			// Off here only: timeouts, retry back-off and the silence watchdog need timers they can clear.
			'@n8n/community-nodes/no-restricted-globals': 'off',
			'no-restricted-globals': [
				'error',
				'clearInterval',
				'global',
				'globalThis',
				'process',
				'setInterval',
				'setImmediate',
				'clearImmediate',
				'__dirname',
				'__filename',
			],
		},
	},
	{
		// The layers point one way: actions/ use helpers/, methods/ and transport/, never the reverse.
		files: ['nodes/*/helpers/**/*.ts', 'nodes/*/methods/**/*.ts'],
		rules: {
			'no-restricted-imports': [
				'error',
				{ patterns: [{ regex: '(^|/)actions/', message: 'Shared code belongs in helpers/; actions/ sit above it.' }] },
			],
		},
	},
	{
		// Tests, scripts and benchmarks are type-checked by tsc; here they only need to parse.
		files: ['test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
		languageOptions: typescript,
	},
];
