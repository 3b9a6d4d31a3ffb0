#!/usr/bin/env node
// Proves the runner against a real n8n, with nothing of this repo's node involved:
//
//   node scripts/n8n/smoke.mjs 2|1 [--verbose]
//
// 1. built-in nodes only: Manual Trigger -> Edit Fields (an expression) -> Code (in the task
//    runner on 2.x; 1.123 runs it in-process unless N8N_RUNNERS_ENABLED=true);
// 2. a throwaway community package `n8n-nodes-smoketest`, packed in the temp folder and installed
//    into the user folder as n8n installs packages, with a credential imported for it. Its node
//    requires n8n-workflow (a peer dependency n8n must provide) and eventsource-parser (a runtime
//    dependency the install must provide), as the Dify node does;
// 3. a workflow whose Code node throws: exit code 1 and the execution JSON with the error;
// 4. `n8n start` answers /healthz and stops.
// Exits non-zero on the first failed check. Prints each step's duration.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	createUserFolder,
	executeWorkflow,
	importCredentials,
	importWorkflow,
	installCommunityPackage,
	n8nInstall,
	nodeOutput,
	startN8n,
} from './runner.mjs';
import { MAJORS } from './versions.mjs';

const started = Date.now();
function log(message) {
	const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
	process.stderr.write(`[n8n-smoke ${seconds}s] ${message}\n`);
}

const verbose = process.argv.includes('--verbose');

async function step(label, fn) {
	const stepStart = Date.now();
	const result = await fn();
	log(`${label}: ok (${((Date.now() - stepStart) / 1000).toFixed(1)}s)`);
	// n8n's own log lines around the execution JSON: where warnings about the setup show up.
	if (verbose && typeof result?.stdout === 'string') {
		const lines = result.stdout.split('\n');
		const first = lines.indexOf('{');
		const last = lines.lastIndexOf('}');
		const logLines = first === -1 ? lines : [...lines.slice(0, first), '(execution JSON)', ...lines.slice(last + 1)];
		process.stderr.write(`${logLines.map((line) => `    | ${line}`).join('\n')}\n`);
	}
	return result;
}

// The throwaway package, in the shape `npm run build` gives a real one: compiled CommonJS in dist/
// and an `n8n` section pointing at it.
const SMOKETEST_FILES = {
	'package.json': JSON.stringify(
		{
			name: 'n8n-nodes-smoketest',
			version: '0.0.1',
			description: 'Throwaway package that proves n8n loads community nodes from the user folder',
			license: 'MIT',
			keywords: ['n8n-community-node-package'],
			files: ['dist'],
			n8n: {
				n8nNodesApiVersion: 1,
				nodes: ['dist/nodes/Smoketest/Smoketest.node.js'],
				credentials: ['dist/credentials/SmoketestApi.credentials.js'],
			},
			dependencies: { 'eventsource-parser': '^3.0.0' },
			peerDependencies: { 'n8n-workflow': '*' },
			// Would pull in hundreds of packages if an install did not leave dev dependencies out.
			devDependencies: { 'n8n-workflow': '*', typescript: '*' },
		},
		null,
		2,
	),
	'dist/credentials/SmoketestApi.credentials.js': `
class SmoketestApi {
	constructor() {
		this.name = 'smoketestApi';
		this.displayName = 'Smoketest API';
		this.properties = [
			{ displayName: 'Token', name: 'token', type: 'string', typeOptions: { password: true }, default: '' },
		];
	}
}
module.exports = { SmoketestApi };
`,
	'dist/nodes/Smoketest/Smoketest.node.js': `
const { NodeConnectionTypes } = require('n8n-workflow');
const { createParser } = require('eventsource-parser');

class Smoketest {
	constructor() {
		this.description = {
			displayName: 'Smoketest',
			name: 'smoketest',
			group: ['transform'],
			version: 1,
			description: 'Echoes its input with proof of where its dependencies came from',
			defaults: { name: 'Smoketest' },
			inputs: [NodeConnectionTypes.Main],
			outputs: [NodeConnectionTypes.Main],
			credentials: [{ name: 'smoketestApi', required: true }],
			properties: [{ displayName: 'Greeting', name: 'greeting', type: 'string', default: 'hi' }],
		};
	}

	async execute() {
		const credentials = await this.getCredentials('smoketestApi');
		const events = [];
		const parser = createParser({ onEvent: (event) => events.push(event.data) });
		parser.feed('data: one\\n\\ndata: two\\n\\n');
		return [
			this.getInputData().map((item, index) => ({
				json: {
					...item.json,
					greeting: this.getNodeParameter('greeting', index),
					tokenLength: String(credentials.token).length,
					sseEvents: events,
					n8nWorkflowPath: require.resolve('n8n-workflow'),
					nodeVersion: process.version,
				},
				pairedItem: { item: index },
			})),
		];
	}
}
module.exports = { Smoketest };
`,
};

async function packSmoketest(workDir) {
	const source = join(workDir, 'n8n-nodes-smoketest');
	for (const [file, content] of Object.entries(SMOKETEST_FILES)) {
		await mkdir(join(source, file, '..'), { recursive: true });
		await writeFile(join(source, file), content);
	}
	const packed = spawnSync('npm', ['pack', '--pack-destination', workDir, '--silent'], {
		cwd: source,
		encoding: 'utf8',
	});
	assert.equal(packed.status, 0, `npm pack failed:\n${packed.stderr}`);
	return join(workDir, packed.stdout.trim().split('\n').pop());
}

function node(name, type, typeVersion, parameters, position, extra = {}) {
	return { id: `${name}-id`.replace(/\W/g, '-'), name, type, typeVersion, parameters, position, ...extra };
}

function chain(names) {
	const connections = {};
	for (let i = 0; i < names.length - 1; i++) {
		connections[names[i]] = { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] };
	}
	return connections;
}

async function writeWorkflow(dir, name, nodes) {
	const file = join(dir, `${name}.json`);
	const workflow = { name, nodes, connections: chain(nodes.map((n) => n.name)), settings: {} };
	await writeFile(file, JSON.stringify(workflow, null, 2));
	return file;
}

const manualTrigger = node('Manual Trigger', 'n8n-nodes-base.manualTrigger', 1, {}, [0, 0]);
const setFields = node(
	'Set Fields',
	'n8n-nodes-base.set',
	3.4,
	{
		assignments: {
			assignments: [
				{ id: 'a1', name: 'greeting', value: 'hello', type: 'string' },
				{ id: 'a2', name: 'answer', value: '={{ 20 + 22 }}', type: 'number' },
			],
		},
		options: {},
	},
	[200, 0],
);
const code = node(
	'Code',
	'n8n-nodes-base.code',
	2,
	{ jsCode: 'return $input.all().map((item) => ({ json: { ...item.json, doubled: item.json.answer * 2 } }));' },
	[400, 0],
);
const failingCode = node(
	'Failing Code',
	'n8n-nodes-base.code',
	2,
	{ jsCode: "throw new Error('smoke: deliberate failure');" },
	[400, 0],
);

async function main() {
	const major = Number(process.argv.slice(2).find((arg) => !arg.startsWith('--')));
	if (!MAJORS.includes(major)) throw new Error(`usage: node scripts/n8n/smoke.mjs ${MAJORS.join('|')}`);

	const install = n8nInstall(major);
	log(`n8n ${install.version} on ${install.nodeBin}`);
	const workDir = await mkdtemp(join(tmpdir(), 'n8n-smoke-'));
	const ctx = await createUserFolder(install);
	log(`user folder ${ctx.userFolder}, port ${ctx.port}, broker port ${ctx.brokerPort}`);
	try {
		// 1. Built-in nodes only.
		const builtinFile = await writeWorkflow(workDir, 'smoke-builtin', [manualTrigger, setFields, code]);
		const builtinId = await step('import:workflow (built-in nodes)', () => importWorkflow(ctx, builtinFile));
		const builtin = await step('execute (built-in nodes)', () => executeWorkflow(ctx, builtinId));
		assert.equal(builtin.exitCode, 0, `execute failed:\n${builtin.stdout}\n${builtin.stderr}`);
		assert.deepEqual(nodeOutput(builtin.json, 'Code'), [{ greeting: 'hello', answer: 42, doubled: 84 }]);
		log(`  boot + execute took ${(builtin.durationMs / 1000).toFixed(1)}s; Code node output checked`);

		// 2. A community package from the user folder, with a credential.
		const tarball = await step('npm pack n8n-nodes-smoketest', () => packSmoketest(workDir));
		const installed = await step('install community package', () => installCommunityPackage(ctx, tarball));
		const nodesDir = join(ctx.userFolder, '.n8n', 'nodes');
		assert.ok(existsSync(join(installed.dir, 'node_modules', 'eventsource-parser')), 'runtime dependency missing');
		assert.ok(!existsSync(join(installed.dir, 'node_modules', 'typescript')), 'dev dependency installed');
		assert.ok(!existsSync(join(installed.dir, 'node_modules', 'n8n-workflow')), 'peer dependency installed');
		assert.ok(!existsSync(join(nodesDir, 'node_modules', 'n8n-workflow')), 'peer dependency installed');

		const [credential] = await step('import:credentials', () =>
			importCredentials(ctx, [{ name: 'Smoketest token', type: 'smoketestApi', data: { token: 'secret-token' } }]),
		);
		const smoketest = node(
			'Smoketest',
			'n8n-nodes-smoketest.smoketest',
			1,
			{ greeting: '={{ $json.greeting }} from the smoketest node' },
			[600, 0],
			{ credentials: { smoketestApi: { id: credential.id, name: credential.name } } },
		);
		const communityFile = await writeWorkflow(workDir, 'smoke-community', [manualTrigger, setFields, code, smoketest]);
		const communityId = await step('import:workflow (community node)', () => importWorkflow(ctx, communityFile));
		const community = await step('execute (community node)', () => executeWorkflow(ctx, communityId));
		assert.equal(community.exitCode, 0, `execute failed:\n${community.stdout}\n${community.stderr}`);
		const [item] = nodeOutput(community.json, 'Smoketest');
		assert.equal(item.greeting, 'hello from the smoketest node');
		assert.equal(item.doubled, 84);
		assert.equal(item.tokenLength, 'secret-token'.length);
		assert.deepEqual(item.sseEvents, ['one', 'two']);
		assert.ok(!item.n8nWorkflowPath.startsWith(nodesDir), `n8n-workflow came from ${item.n8nWorkflowPath}`);
		log(`  node ran on Node ${item.nodeVersion}, n8n-workflow from ${item.n8nWorkflowPath}`);

		// 3. A failing node: exit code 1, and the execution JSON still available.
		const failingFile = await writeWorkflow(workDir, 'smoke-failing', [manualTrigger, failingCode]);
		const failingId = await step('import:workflow (failing)', () => importWorkflow(ctx, failingFile));
		const failing = await step('execute (failing)', () => executeWorkflow(ctx, failingId));
		assert.equal(failing.exitCode, 1, `expected exit code 1, got ${failing.exitCode}`);
		assert.ok(failing.json, `no execution JSON for the failed run:\n${failing.stdout}`);
		assert.match(failing.json.data.resultData.error.message, /deliberate failure/);
		assert.match(failing.json.data.resultData.runData['Failing Code'][0].error.message, /deliberate failure/);
		log('  failing execution: exit 1, its JSON carries the error');

		// 4. The server, as a demo would use it.
		const server = await step('n8n start until /healthz answers', () => startN8n(ctx));
		const health = await fetch(`${server.url}/healthz`);
		assert.equal(health.status, 200);
		await step('stop n8n', () => server.stop());

		log(`smoke passed on n8n ${install.version}`);
	} finally {
		await ctx.cleanup();
		await rm(workDir, { recursive: true, force: true });
	}
}

main().catch((error) => {
	process.stderr.write(`\nn8n smoke failed: ${error.stack ?? error.message}\n`);
	process.exitCode = 1;
});
