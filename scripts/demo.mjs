#!/usr/bin/env node
// The main job in one command: n8n with this node, a ready "Dify API" credential and the examples.
//
//   npm run demo                                  Dify stand-in on 127.0.0.1, n8n 2.x
//   npm run demo -- --n8n=1                       the same on n8n 1.x (Node 20)
//   npm run demo -- --fresh                       start over with an empty n8n user folder
//   DIFY_BASE_URL=https://api.dify.ai/v1 DIFY_API_KEY=app-… npm run demo    a real Dify instead
//
// Builds and packs the package, installs n8n when missing, starts the stand-in (unless a real Dify
// is given), installs the package into the demo's n8n user folder (.cache/demo/, kept between runs:
// the owner account, edits and executions stay) as n8n installs community packages, records it in
// n8n's database as n8n does, imports the credential (and the examples the first time), runs one
// example headless to show it works, then starts n8n, writes its log to a file and prints the URL
// to open. Ctrl+C stops everything and keeps the user folder.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { waitForRest } from './n8n/rest.mjs';
import {
	createUserFolder,
	executeWorkflow,
	importCredentials,
	importWorkflow,
	installCommunityPackage,
	n8nInstall,
	nodeOutput,
	recordCommunityPackage,
	startN8n,
} from './n8n/runner.mjs';
import { packedTarball } from './n8n/tarball.mjs';
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
	const tarball = packedTarball();

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
	const userFolder = join(REPO_ROOT, '.cache/demo', `n8n-${install.version}`);
	if (process.argv.includes('--fresh') && existsSync(userFolder)) {
		log(`--fresh: removing ${userFolder}`);
		rmSync(userFolder, { recursive: true, force: true });
	}
	const firstRun = !existsSync(userFolder);
	const ctx = await createUserFolder(install, {
		userFolder,
		env: {
			...(port ? { N8N_PORT: port } : {}),
			// Lets the AI Agent use the Dify Workflow node as a tool (n8n 1.x asks for it).
			N8N_COMMUNITY_PACKAGES_ALLOW_TOOL_USAGE: 'true',
			// The UI is opened over plain http on this machine.
			N8N_SECURE_COOKIE: 'false',
		},
	});
	if (port) ctx.url = `http://127.0.0.1:${port}`;
	// The user folder stays (owner account, edits, executions); --fresh starts over.
	const stopAll = async () => {
		await standin?.close();
	};

	log(`${firstRun ? 'new' : 'kept'} n8n user folder: ${ctx.userFolder}${firstRun ? '' : ' (--fresh starts over)'}`);
	log('installing the package as a community package');
	const installed = await installCommunityPackage(ctx, tarball);
	// The credential follows this run's Dify (the stand-in's port changes from run to run).
	await importCredentials(ctx, [{ id: 'DifyStandIn00001', name: realDify ? 'Dify' : 'Dify stand-in', type: 'difyApi', data: dify }]);
	const { author } = require(join(installed.dir, 'package.json'));
	const { DifyWorkflow } = require(join(REPO_ROOT, 'dist/nodes/DifyWorkflow/DifyWorkflow.node.js'));
	const { name: nodeName, displayName, version: nodeVersion } = new DifyWorkflow().description;
	await recordCommunityPackage(ctx, {
		name: installed.name,
		version: installed.version,
		author,
		nodes: [{ name: nodeName, displayName, version: nodeVersion }],
	});
	log(`recorded ${installed.name}@${installed.version} in n8n's database: Settings → Community nodes lists it`);
	if (firstRun) {
		const examples = readdirSync(join(REPO_ROOT, 'examples')).filter((file) => file.endsWith('.json')).sort();
		for (const file of examples) {
			await importWorkflow(ctx, join(REPO_ROOT, 'examples', file));
			log(`imported example ${file}`);
		}
	}

	log('running "Dify: run a workflow and use its answer" headless');
	const execution = await executeWorkflow(ctx, 'difyExRunChain01');
	try {
		const [answer] = nodeOutput(execution.json, 'Use the answer');
		log(`it answered: ${JSON.stringify(answer)}`);
	} catch (error) {
		log(`the example did not run: ${error.message}`);
	}

	const logFile = join(ctx.userFolder, 'n8n.log');
	log(`starting n8n ${install.version}; its log: ${logFile}`);
	const n8n = await startN8n(ctx, { logFile });
	// n8n answers /healthz before its editor: an address printed then would open on "starting up".
	await waitForRest(n8n);
	process.stdout.write(
		`\n  n8n ${install.version} with n8n-nodes-dify-workflow is running: open ${n8n.url}\n` +
			`  n8n's log: ${logFile}\n` +
			`  (create the owner account on first visit, kept for the next runs; the examples are under Workflows,\n` +
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
