// Drives a real n8n (installed by install.mjs) headless, for end-to-end tests and demos.
//
//   const n8n = n8nInstall(2);                      // or 1
//   const ctx = await createUserFolder(n8n);        // fresh N8N_USER_FOLDER, ports, env
//   await installCommunityPackage(ctx, '/path/to/n8n-nodes-dify-workflow-0.2.0.tgz');
//   await importCredentials(ctx, [{ id, name, type: 'difyApi', data: { baseUrl, apiKey } }]);
//   const id = await importWorkflow(ctx, 'workflow.json');   // importWorkflows(ctx, [...]) for several
//   const { exitCode, json } = await executeWorkflow(ctx, id);
//   nodeOutput(json, 'Dify Workflow');              // that node's output items (their .json)
//   await ctx.cleanup();
//
// Every function spawns one n8n command, and each of them boots n8n (seconds, not milliseconds):
// group assertions per execution rather than executing once per assertion.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { freePorts, killGroup, spawnGroup, supervise, tail, waitReady } from './processes.mjs';
import { n8nPaths, readMarker } from './versions.mjs';

const DEFAULT_TIMEOUT_MS = 180_000;

/**
 * The installed n8n of one major version: `{ major, version, nodeBin, n8nBin, env }`.
 * `env` holds what that version needs whatever the user folder (its Node first on PATH, and for
 * 1.x the legacy expression engine). Throws, naming the install command, when it is not installed.
 */
export function n8nInstall(major) {
	const paths = n8nPaths(major);
	const marker = readMarker(paths.dir);
	if (marker?.n8n !== paths.version || !existsSync(paths.n8nBin) || !existsSync(marker.nodeBin)) {
		throw new Error(
			`n8n ${paths.version} is not installed (no completed install in ${paths.dir}).\n` +
				`Install it with: node scripts/n8n/install.mjs ${paths.major}`,
		);
	}
	const env = {
		// n8n starts its task runner and other helpers with the Node it finds; it must be the same one.
		PATH: `${dirname(marker.nodeBin)}${delimiter}${process.env.PATH ?? ''}`,
	};
	if (paths.major === 1) {
		// 1.123's default expression engine is a native sandbox with no build for Node 20.
		env.N8N_EXPRESSION_ENGINE = 'legacy';
	}
	return { major: paths.major, version: paths.version, nodeBin: marker.nodeBin, n8nBin: paths.n8nBin, env };
}

/**
 * An n8n home with everything a headless run needs: `{ install, userFolder, port, brokerPort, url,
 * env, cleanup() }`. A fresh, empty one in the temp folder, or `options.userFolder` kept between runs
 * (its encryption key is kept in it, so what was imported before stays readable).
 * `options.env` adds or overrides variables (e.g. `{ N8N_LOG_LEVEL: 'debug' }`); null removes one.
 */
export async function createUserFolder(install, options = {}) {
	if (!install?.n8nBin) throw new Error('createUserFolder(install): pass the result of n8nInstall(major)');
	let userFolder;
	let encryptionKey = randomBytes(24).toString('hex');
	if (options.userFolder) {
		userFolder = resolve(options.userFolder);
		await mkdir(userFolder, { recursive: true });
		const keyFile = join(userFolder, 'encryption-key');
		if (existsSync(keyFile)) encryptionKey = (await readFile(keyFile, 'utf8')).trim();
		else await writeFile(keyFile, `${encryptionKey}\n`, { mode: 0o600 });
	} else {
		userFolder = await mkdtemp(join(tmpdir(), `n8n-e2e-${install.version}-`));
	}
	const [port, brokerPort] = await freePorts(2);
	// n8n puts some files in the OS temp folder (e.g. n8nDataTableUploads); keep them in the user
	// folder so cleanup() removes them and parallel runs do not share them.
	const tmp = join(userFolder, 'tmp');
	await mkdir(tmp, { recursive: true });
	const env = {
		...install.env,
		TMPDIR: tmp,
		N8N_USER_FOLDER: userFolder,
		// Credentials are encrypted with this key; a fixed per-folder key lets every command of the
		// run read what import:credentials wrote.
		N8N_ENCRYPTION_KEY: encryptionKey,
		DB_TYPE: 'sqlite',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		// Otherwise every command checks (and chmods) the mode of .n8n/config: noise in a throwaway folder.
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		// Tests talk to stand-in servers on 127.0.0.1, which SSRF protection would block.
		N8N_SSRF_PROTECTION_ENABLED: 'false',
		// Several n8n processes (parallel tests) each need their own HTTP port and task-runner broker.
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		...options.env,
	};
	return {
		install,
		userFolder,
		port,
		brokerPort,
		url: `http://127.0.0.1:${port}`,
		env,
		cleanup: () => rm(userFolder, { recursive: true, force: true, maxRetries: 3 }),
	};
}

/**
 * The environment a spawned n8n sees: this process's, minus anything that would make the run depend
 * on the shell it was started from (an N8N_*, DB_*, QUEUE_* or EXECUTIONS_* left exported, NODE_OPTIONS
 * meant for jest).
 */
function childEnv(ctx, env = {}) {
	const inherited = Object.fromEntries(
		Object.entries(process.env).filter(
			([key]) => !/^(N8N|DB|QUEUE|EXECUTIONS)_/.test(key) && key !== 'NODE_OPTIONS',
		),
	);
	// A variable set to null or undefined in ctx.env means "unset it", e.g. to try n8n's defaults.
	return Object.fromEntries(
		Object.entries({ ...inherited, ...ctx.env, ...env }).filter(([, value]) => value !== undefined && value !== null),
	);
}

function spawnN8n(ctx, args, env = {}, stdio = undefined) {
	const { nodeBin, n8nBin } = ctx.install;
	return spawnGroup(nodeBin, [n8nBin, ...args], { cwd: ctx.userFolder, env: childEnv(ctx, env), ...(stdio ? { stdio } : {}) });
}

/**
 * Runs one n8n CLI command to completion: `{ exitCode, signal, stdout, stderr, durationMs }`.
 * Rejects when it outlives `timeoutMs` (the process group is killed first). `onSpawn(child)` is
 * called once the process exists, for callers that watch it while it runs (e.g. its memory).
 * With `stdoutFile`, n8n writes its stdout to that file, read back once it exits: n8n exits right
 * after printing, and a pipe loses what it had not yet passed on (tens of MB of execution JSON).
 */
export function runN8n(ctx, args, { timeoutMs = DEFAULT_TIMEOUT_MS, onSpawn, stdoutFile } = {}) {
	const started = Date.now();
	const stdoutFd = stdoutFile ? openSync(stdoutFile, 'w') : undefined;
	const child = spawnN8n(ctx, args, {}, stdoutFile ? ['ignore', stdoutFd, 'pipe'] : undefined);
	if (stdoutFd !== undefined) closeSync(stdoutFd);
	onSpawn?.(child);
	let stdout = '';
	let stderr = '';
	child.stdout?.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
	child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));

	return new Promise((resolveRun, reject) => {
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			killGroup(child, 'SIGKILL');
		}, timeoutMs);
		child.once('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
		// 'exit' rather than 'close': a leftover grandchild could keep the pipes open for ever.
		child.once('exit', (exitCode, signal) => {
			clearTimeout(timer);
			const durationMs = Date.now() - started;
			// Let the pipes drain what was already written before reporting.
			setImmediate(() => {
				if (stdoutFile) stdout = readFileSync(stdoutFile, 'utf8');
				if (timedOut) {
					reject(
						new Error(
							`n8n ${args.join(' ')} timed out after ${timeoutMs} ms and was killed.\n` +
								`stdout:\n${tail(stdout)}\nstderr:\n${tail(stderr)}`,
						),
					);
					return;
				}
				resolveRun({ exitCode, signal, stdout, stderr, durationMs });
			});
		});
	});
}

async function runN8nOrThrow(ctx, args, options) {
	const result = await runN8n(ctx, args, options);
	if (result.exitCode !== 0) {
		throw new Error(
			`n8n ${args.join(' ')} exited ${result.exitCode ?? result.signal}.\n` +
				`stdout:\n${tail(result.stdout)}\nstderr:\n${tail(result.stderr)}`,
		);
	}
	return result;
}

// n8n ids are 16 alphanumerics; generating one here lets callers know ids without asking n8n.
function newId() {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

function userFolderOf(ctxOrFolder) {
	return typeof ctxOrFolder === 'string' ? ctxOrFolder : ctxOrFolder.userFolder;
}

/** Runs a command to its end: its stdout and stderr together, or an error with their tail. */
export function spawnOrThrow(command, args, options) {
	return new Promise((resolveRun, reject) => {
		const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
		let output = '';
		child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
		child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
		child.once('error', reject);
		child.once('close', (code) => {
			if (code === 0) resolveRun(output);
			else reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${tail(output)}`));
		});
	});
}

/**
 * Installs a packed community package (`npm pack` output) into a user folder the way n8n 1.123 and
 * 2.x do from their UI: the tarball unpacked into `.n8n/nodes/node_modules/<name>`, its package.json
 * stripped of dev, peer and optional dependencies, then `npm install` inside that folder so runtime
 * dependencies land in its own node_modules. n8n-workflow (a peer dependency) is therefore not
 * installed: the package must use n8n's copy, as it will for users.
 * Accepts a context from createUserFolder or a user folder path. Returns `{ name, version, dir }`.
 */
export async function installCommunityPackage(ctxOrFolder, tarballPath) {
	const tarball = resolve(tarballPath);
	if (!existsSync(tarball)) throw new Error(`no such tarball: ${tarball}`);
	const nodesDir = join(userFolderOf(ctxOrFolder), '.n8n', 'nodes');
	const manifest = JSON.parse(await spawnOrThrow('tar', ['-xzOf', tarball, 'package/package.json']));
	const { name, version } = manifest;
	if (!/^(@[^/]+\/)?n8n-nodes-/.test(name)) {
		// n8n only scans for these names; anything else would silently not load.
		throw new Error(`${name}: n8n loads only packages named n8n-nodes-* or @scope/n8n-nodes-*`);
	}

	const packageDir = join(nodesDir, 'node_modules', name);
	await rm(packageDir, { recursive: true, force: true });
	await mkdir(packageDir, { recursive: true });
	await spawnOrThrow('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);

	const { devDependencies, peerDependencies, optionalDependencies, ...runtimeManifest } = manifest;
	await writeFile(join(packageDir, 'package.json'), `${JSON.stringify(runtimeManifest, null, 2)}\n`);
	// Same flags as n8n's own installer: no lockfile, dependencies nested under the package.
	const env = typeof ctxOrFolder === 'string' ? process.env : childEnv(ctxOrFolder);
	await spawnOrThrow(
		'npm',
		[
			'install',
			'--audit=false',
			'--fund=false',
			'--bin-links=false',
			'--install-strategy=shallow',
			'--ignore-scripts=true',
			'--package-lock=false',
		],
		{ cwd: packageDir, env },
	);

	// n8n's record of what it installed; it does not gate loading but keeps the folder as n8n leaves it.
	const nodesManifestPath = join(nodesDir, 'package.json');
	const nodesManifest = existsSync(nodesManifestPath)
		? JSON.parse(await readFile(nodesManifestPath, 'utf8'))
		: { name: 'installed-nodes', private: true, dependencies: {} };
	nodesManifest.dependencies = { ...nodesManifest.dependencies, [name]: version };
	await writeFile(nodesManifestPath, `${JSON.stringify(nodesManifest, null, 2)}\n`);

	return { name, version, dir: packageDir };
}

/**
 * Records an installed package in n8n's database as n8n's own community-package install does
 * (tables installed_packages and installed_nodes), so Settings → Community nodes lists it and can
 * update or uninstall it. The database must exist: call it after any n8n command has run.
 * `nodes`: `[{ name, displayName, version }]`, the package's node types as n8n loads them.
 */
export async function recordCommunityPackage(ctx, { name, version, author, nodes }) {
	const database = join(ctx.userFolder, '.n8n', 'database.sqlite');
	if (!existsSync(database)) throw new Error(`no n8n database yet at ${database}: run an n8n command first`);
	const n8nPackageDir = dirname(dirname(ctx.install.n8nBin));
	// n8n's own sqlite3 module, run by n8n's Node: the one native build that matches it.
	const script = `
		const sqlite3 = require(require.resolve('sqlite3', { paths: [process.argv[1]] }));
		const [file, pkg] = [process.argv[2], JSON.parse(process.argv[3])];
		const db = new sqlite3.Database(file);
		const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
		db.serialize(() => {
			db.run('PRAGMA foreign_keys = ON');
			db.run('DELETE FROM installed_packages WHERE packageName = ?', [pkg.name]);
			db.run('INSERT INTO installed_packages (packageName, installedVersion, authorName, authorEmail, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)',
				[pkg.name, pkg.version, pkg.author?.name ?? null, pkg.author?.email ?? null, now, now]);
			for (const node of pkg.nodes) {
				db.run('INSERT INTO installed_nodes (name, type, latestVersion, package) VALUES (?, ?, ?, ?)',
					[node.displayName, pkg.name + '.' + node.name, node.version, pkg.name]);
			}
		});
		db.close((error) => { if (error) { console.error(error.message); process.exit(1); } });
	`;
	await spawnOrThrow(ctx.install.nodeBin, ['-e', script, n8nPackageDir, database, JSON.stringify({ name, version, author, nodes })], {
		env: childEnv(ctx),
	});
}

/**
 * `n8n import:credentials` for plain (unencrypted) credentials:
 * `[{ id?, name, type, data: { ...fields } }]`. n8n encrypts them with the folder's key.
 * Missing ids are generated. Returns `[{ id, name, type }]` for workflow nodes to reference.
 */
export async function importCredentials(ctx, credentials) {
	const withIds = credentials.map((credential) => ({ id: newId(), ...credential }));
	const file = join(ctx.userFolder, `credentials-${newId()}.json`);
	await writeFile(file, JSON.stringify(withIds), { mode: 0o600 });
	try {
		await runN8nOrThrow(ctx, ['import:credentials', `--input=${file}`]);
	} finally {
		await rm(file, { force: true });
	}
	return withIds.map(({ id, name, type }) => ({ id, name, type }));
}

/**
 * `n8n import:workflow` of workflow JSON files (one workflow each, as n8n exports it), in one n8n
 * command however many there are. A workflow without an id gets one, so it can be executed by id.
 * Returns the ids, in order.
 */
export async function importWorkflows(ctx, workflowJsonPaths) {
	const prepared = await Promise.all(
		workflowJsonPaths.map(async (path) => {
			const workflow = JSON.parse(await readFile(path, 'utf8'));
			if (Array.isArray(workflow) || typeof workflow !== 'object' || workflow === null) {
				throw new Error(`${path}: expected one workflow object`);
			}
			return { active: false, ...workflow, id: workflow.id ?? newId() };
		}),
	);
	const file = join(ctx.userFolder, `workflows-${newId()}.json`);
	await writeFile(file, JSON.stringify(prepared));
	try {
		await runN8nOrThrow(ctx, ['import:workflow', `--input=${file}`]);
	} finally {
		await rm(file, { force: true });
	}
	return prepared.map((workflow) => workflow.id);
}

/** importWorkflows of one file: its id. */
export async function importWorkflow(ctx, workflowJsonPath) {
	const [id] = await importWorkflows(ctx, [workflowJsonPath]);
	return id;
}

/**
 * The execution JSON in `n8n execute --rawOutput` output: from the first line that is exactly `{`
 * to the last line that is exactly `}` (n8n logs lines before and after it). null when absent.
 */
export function parseRawOutput(text) {
	const lines = text.split(/\r?\n/);
	const first = lines.indexOf('{');
	const last = lines.lastIndexOf('}');
	if (first === -1 || last < first) return null;
	return JSON.parse(lines.slice(first, last + 1).join('\n'));
}

/**
 * `n8n execute --id=<id> --rawOutput`: `{ exitCode, json, stdout, stderr, durationMs }`.
 * exitCode is 1 when a node failed; json is the execution (`json.data.resultData`), or null when
 * n8n printed none. Rejects on timeout. `onSpawn` and `stdoutFile` (for large outputs) as for runN8n.
 */
export async function executeWorkflow(ctx, id, { timeoutMs = DEFAULT_TIMEOUT_MS, onSpawn, stdoutFile } = {}) {
	const result = await runN8n(ctx, ['execute', `--id=${id}`, '--rawOutput'], { timeoutMs, onSpawn, stdoutFile });
	// A failed execution's JSON is written by n8n's logger (at info level) rather than printed: on
	// stdout with the default console logger, but look at stderr too in case logging was redirected.
	const json = parseRawOutput(result.stdout) ?? parseRawOutput(result.stderr);
	return { exitCode: result.exitCode, json, stdout: result.stdout, stderr: result.stderr, durationMs: result.durationMs };
}

/** The `json` of every item a node output on its first output, in its first run. */
export function nodeOutput(execution, nodeName, { runIndex = 0, outputIndex = 0 } = {}) {
	const runs = execution?.data?.resultData?.runData?.[nodeName];
	if (!runs) throw new Error(`node "${nodeName}" did not run`);
	const run = runs[runIndex];
	if (run.error) throw new Error(`node "${nodeName}" failed: ${run.error.message}`);
	return (run.data?.main?.[outputIndex] ?? []).map((item) => item.json);
}

/**
 * `n8n start` (or, with `command`, another long-running n8n command such as `worker`) in the
 * background, for demos and tests that need the HTTP side (webhooks, the UI, queue mode).
 * `env` adds to the context's environment for this process only (e.g. its own ports). Resolves
 * once `readyUrl` (default: the context's `/healthz`) answers 200: `{ url, child, output(), stop() }`.
 * With `logFile`, n8n's whole log is also appended to that file as it comes.
 */
export async function startN8n(
	ctx,
	{ command = 'start', args = [], env = {}, readyUrl = `${ctx.url}/healthz`, logFile, timeoutMs = DEFAULT_TIMEOUT_MS } = {},
) {
	const n8n = supervise(spawnN8n(ctx, [command, ...args], env), { logFile });
	await waitReady(
		n8n,
		async () => (await fetch(readyUrl, { signal: AbortSignal.timeout(2_000) })).ok,
		{ what: `n8n ${command} (${readyUrl})`, timeoutMs },
	);
	return { url: ctx.url, child: n8n.child, output: n8n.output, stop: n8n.stop };
}
