#!/usr/bin/env node
// The main job in one command: n8n with this node, a ready "Dify API" credential and the examples.
//
//   npm run demo                                  Dify stand-in on 127.0.0.1, n8n 2.x
//   npm run demo -- --n8n=1                       the same on n8n 1.x (Node 20)
//   DIFY_BASE_URL=https://api.dify.ai/v1 DIFY_API_KEY=app-… npm run demo    a real Dify instead
//
// Builds and packs the package, installs n8n when missing, starts the stand-in (unless a real Dify
// is given), installs the package into a fresh n8n user folder as n8n installs community packages,
// imports the credential and the examples, runs one example headless to show it works, then starts
// n8n and prints the URL to open. Ctrl+C stops everything.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
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
} from './n8n/runner.mjs';
import { REPO_ROOT } from './n8n/versions.mjs';

const require = createRequire(import.meta.url);
const started = Date.now();
const log = (message) =>
	process.stderr.write(`[demo ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);

function argument(name, fallback) {
	const prefix = `--${name}=`;
	const found = process.argv.slice(2).find((arg) => arg.startsWith(prefix));
	return found ? found.slice(prefix.length) : fallback;
}

function run(command, args) {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
		child.once('error', reject);
		child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}`))));
	});
}

async function main() {
	const major = Number(argument('n8n', '2'));
	if (major !== 1 && major !== 2) throw new Error('--n8n takes 1 or 2');
	const realDify = process.env.DIFY_BASE_URL || process.env.DIFY_API_KEY;
	if (realDify && !(process.env.DIFY_BASE_URL && process.env.DIFY_API_KEY)) {
		throw new Error('A real Dify needs both DIFY_BASE_URL and DIFY_API_KEY');
	}

	log('building and packing the package');
	await run('npm', ['run', '--silent', 'pack:local']);
	const { version } = require(join(REPO_ROOT, 'package.json'));
	const tarball = join(REPO_ROOT, '.cache/pack', `n8n-nodes-dify-workflow-${version}.tgz`);

	log(`making sure n8n ${major}.x is installed (the first time takes several minutes)`);
	await run(process.execPath, ['scripts/n8n/install.mjs', String(major)]);
	const install = n8nInstall(major);

	let standin;
	let dify;
	if (realDify) {
		dify = { baseUrl: process.env.DIFY_BASE_URL, apiKey: process.env.DIFY_API_KEY };
		log(`using the Dify at ${dify.baseUrl}`);
	} else {
		const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));
		standin = await startDifyStandin({ port: Number(argument('standin-port', '0')), pingIntervalMs: 10_000, stepDelayMs: 40 });
		dify = { baseUrl: standin.url, apiKey: standin.apiKey };
		log(`Dify stand-in listening at ${standin.url}`);
	}

	const port = argument('port', '5678');
	const ctx = await createUserFolder(install, {
		env: {
			...(port ? { N8N_PORT: port } : {}),
			// Lets the AI Agent use the Dify Workflow node as a tool (n8n 1.x asks for it).
			N8N_COMMUNITY_PACKAGES_ALLOW_TOOL_USAGE: 'true',
			// The UI is opened over plain http on this machine.
			N8N_SECURE_COOKIE: 'false',
		},
	});
	if (port) ctx.url = `http://127.0.0.1:${port}`;
	const stopAll = async () => {
		await standin?.close();
		await ctx.cleanup();
	};

	log(`installing the package into ${ctx.userFolder} as a community package`);
	await installCommunityPackage(ctx, tarball);
	await importCredentials(ctx, [{ id: 'DifyStandIn00001', name: realDify ? 'Dify' : 'Dify stand-in', type: 'difyApi', data: dify }]);
	const examples = readdirSync(join(REPO_ROOT, 'examples')).filter((file) => file.endsWith('.json')).sort();
	for (const file of examples) {
		await importWorkflow(ctx, join(REPO_ROOT, 'examples', file));
		log(`imported example ${file}`);
	}

	log('running "Dify: run a workflow and use its answer" headless');
	const execution = await executeWorkflow(ctx, 'difyExRunChain01');
	try {
		const [answer] = nodeOutput(execution.json, 'Use the answer');
		log(`it answered: ${JSON.stringify(answer)}`);
	} catch (error) {
		log(`the example did not run: ${error.message}`);
	}

	log(`starting n8n ${install.version}`);
	const n8n = await startN8n(ctx);
	process.stdout.write(
		`\n  n8n ${install.version} with n8n-nodes-dify-workflow is running: open ${n8n.url}\n` +
			`  (create the owner account on first visit; the examples are under Workflows,\n` +
			`   the credential "${realDify ? 'Dify' : 'Dify stand-in'}" points at ${dify.baseUrl})\n` +
			`  Ctrl+C stops n8n${standin ? ' and the stand-in' : ''}.\n\n`,
	);
	const shutdown = async () => {
		log('stopping');
		await n8n.stop();
		await stopAll();
		process.exit(0);
	};
	process.once('SIGINT', shutdown);
	process.once('SIGTERM', shutdown);
	if (process.argv.includes('--check')) await shutdown();
}

main().catch((error) => {
	process.stderr.write(`demo failed: ${error.stack ?? error}\n`);
	process.exit(1);
});
