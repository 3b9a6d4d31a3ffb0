#!/usr/bin/env node
// Installs the real n8n versions the end-to-end tests drive, into a cache folder outside git.
//
//   node scripts/n8n/install.mjs 2|1|all
//
// Each install is a plain npm project (<cache>/n8n-<version>/) so npm, not this script, resolves the
// ~2,000 packages n8n pulls in. A marker file is written as the very last step: a folder without it
// was interrupted and is wiped and redone; a folder with a matching marker is reused as is.
// Progress goes to stderr; npm's own output goes to <install folder>/install.log.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import {
	MAJORS,
	MARKER_FILE,
	NODE24_PACKAGE,
	NODE24_VERSION,
	OVERRIDES,
	cacheDir,
	n8nPaths,
	node24Paths,
	readMarker,
} from './versions.mjs';

const started = Date.now();

function log(message) {
	const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
	process.stderr.write(`[n8n-install ${seconds}s] ${message}\n`);
}

function formatBytes(bytes) {
	if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
	return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

// du is far faster than walking ~100k files from JavaScript, and it is on every Linux machine.
async function diskUsage(dir) {
	if (!existsSync(dir)) return 0;
	const child = spawn('du', ['-sk', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
	let out = '';
	child.stdout.on('data', (chunk) => (out += chunk));
	await once(child, 'close');
	return Number.parseInt(out, 10) * 1024 || 0;
}

/**
 * Runs a command with its output appended to logFile. While it runs, prints a heartbeat every 15 s
 * with the time spent and the sizes that grow meanwhile (watchDirs, and the log itself), because
 * npm is silent for minutes at a time: it fills its cache before it writes node_modules, and a
 * native build prints only to the log.
 */
async function run(label, command, args, { cwd, env, logFile, watchDirs = [] }) {
	const stepStart = Date.now();
	log(`${label}: ${command} ${args.join(' ')}`);
	const out = createWriteStream(logFile, { flags: 'a' });
	out.write(`\n$ ${command} ${args.join(' ')}\n`);
	await once(out, 'ready');

	const child = spawn(command, args, { cwd, env, stdio: ['ignore', out, out] });
	let heartbeatBusy = false;
	const heartbeat = setInterval(async () => {
		if (heartbeatBusy) return;
		heartbeatBusy = true;
		const sizes = await Promise.all(
			watchDirs.map(async ({ name, dir }) => `${name} ${formatBytes(await diskUsage(dir))}`),
		);
		const logBytes = await stat(logFile).then((info) => info.size, () => 0);
		const seconds = ((Date.now() - stepStart) / 1000).toFixed(0);
		log(`${label}: still running after ${seconds}s (${[...sizes, `log ${(logBytes / 1024).toFixed(0)} KiB`].join(', ')})`);
		heartbeatBusy = false;
	}, 15_000);

	const [code, signal] = await once(child, 'exit').finally(() => clearInterval(heartbeat));
	out.end();
	const seconds = ((Date.now() - stepStart) / 1000).toFixed(0);
	if (code !== 0) {
		const tail = (await readFile(logFile, 'utf8')).split('\n').slice(-40).join('\n');
		throw new Error(
			`${label} failed after ${seconds}s (${signal ?? `exit code ${code}`}).\n` +
				`Last lines of ${logFile}:\n${tail}`,
		);
	}
	log(`${label}: done in ${seconds}s`);
}

async function capture(command, args, env) {
	const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
	let out = '';
	child.stdout.on('data', (chunk) => (out += chunk));
	child.stderr.on('data', (chunk) => (out += chunk));
	const [code] = await once(child, 'exit');
	if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}:\n${out}`);
	return out.trim();
}

// Two installs into the same folder at once would corrupt each other, e.g. a test run and a manual run.
async function withLock(dir, fn) {
	const lockDir = `${dir}.lock`;
	const pidFile = join(lockDir, 'pid');
	await mkdir(dirname(dir), { recursive: true });
	try {
		await mkdir(lockDir);
	} catch (error) {
		if (error.code !== 'EEXIST') throw error;
		const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
		if (pid && isAlive(pid)) {
			throw new Error(`another install (pid ${pid}) is working on ${dir}; wait for it to finish`);
		}
		log(`taking over the stale lock ${lockDir}`);
	}
	await writeFile(pidFile, String(process.pid));
	try {
		return await fn();
	} finally {
		await rm(lockDir, { recursive: true, force: true });
	}
}

function isAlive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return error.code === 'EPERM';
	}
}

/** A fresh, empty folder holding nothing but a private package.json. */
async function freshProject(dir, packageJson) {
	if (existsSync(dir)) log(`removing the incomplete install in ${dir}`);
	await rm(dir, { recursive: true, force: true });
	await mkdir(dir, { recursive: true });
	await writeFile(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
}

// The marker is written last and atomically enough (one small write) that its presence means every
// step before it succeeded.
async function writeMarker(dir, content) {
	await writeFile(join(dir, MARKER_FILE), `${JSON.stringify(content, null, 2)}\n`);
}

const npmFlags = ['--no-audit', '--no-fund', '--no-update-notifier'];

async function ensureNode24() {
	const { dir, packageDir, nodeBin } = node24Paths();
	const marker = readMarker(dir);
	if (marker?.version === NODE24_VERSION && existsSync(nodeBin)) {
		log(`Node ${NODE24_VERSION} already installed: ${nodeBin}`);
		return { packageDir, nodeBin };
	}
	return withLock(dir, async () => {
		const stepStart = Date.now();
		await freshProject(dir, { name: 'n8n-e2e-node24', private: true });
		const logFile = join(dir, 'install.log');
		await run(`Node ${NODE24_VERSION}`, 'npm', ['install', `${NODE24_PACKAGE}@${NODE24_VERSION}`, '--ignore-scripts', '--save-exact', ...npmFlags], {
			cwd: dir,
			env: process.env,
			logFile,
			watchDirs: [
				{ name: 'npm cache', dir: join(await capture('npm', ['config', 'get', 'cache'], process.env), '_cacache') },
				{ name: 'installed', dir },
			],
		});
		const reported = await capture(nodeBin, ['--version'], process.env);
		if (reported !== `v${NODE24_VERSION}`) {
			throw new Error(`${nodeBin} reports ${reported}, expected v${NODE24_VERSION}`);
		}
		const bytes = await diskUsage(dir);
		await writeMarker(dir, {
			package: NODE24_PACKAGE,
			version: NODE24_VERSION,
			seconds: Math.round((Date.now() - stepStart) / 1000),
			bytes,
			completedAt: new Date().toISOString(),
		});
		log(`Node ${NODE24_VERSION} installed: ${nodeBin} (${formatBytes(bytes)})`);
		return { packageDir, nodeBin };
	});
}

/**
 * The Node that runs an n8n major, and the env npm needs so native modules (sqlite3) compile
 * against that Node's headers: `npm_config_nodedir` stops node-gyp from downloading headers,
 * which cannot work here, and keeps it from picking up a nodedir meant for another Node.
 */
async function toolchainFor(major) {
	if (major >= 2) {
		const { packageDir, nodeBin } = await ensureNode24();
		return { nodeBin, nodedir: packageDir, nodeVersion: NODE24_VERSION };
	}
	const nodeBin = realpathSync(process.execPath);
	const prefix = dirname(dirname(nodeBin));
	const nodedir = existsSync(join(prefix, 'include', 'node', 'node.h')) ? prefix : undefined;
	return { nodeBin, nodedir, nodeVersion: process.versions.node };
}

function isCompleteInstall(paths, marker, toolchain) {
	return (
		marker?.n8n === paths.version &&
		marker.nodeVersion === toolchain.nodeVersion &&
		marker.nodeBin === toolchain.nodeBin &&
		JSON.stringify(marker.overrides) === JSON.stringify(OVERRIDES) &&
		existsSync(paths.n8nBin)
	);
}

async function installN8n(major) {
	const paths = n8nPaths(major);
	const toolchain = await toolchainFor(major);
	const existing = readMarker(paths.dir);
	if (isCompleteInstall(paths, existing, toolchain)) {
		log(`n8n ${paths.version} already installed: ${paths.dir} (${formatBytes(existing.bytes)})`);
		return;
	}

	await withLock(paths.dir, async () => {
		const stepStart = Date.now();
		log(`installing n8n ${paths.version} for Node ${toolchain.nodeVersion} into ${paths.dir}`);
		await freshProject(paths.dir, {
			name: `n8n-e2e-${paths.version}`,
			private: true,
			overrides: OVERRIDES,
		});

		// npm is started through PATH, so its `#!/usr/bin/env node` picks the Node that will run n8n:
		// engine checks and node-gyp then see the right version.
		const env = {
			...process.env,
			PATH: `${dirname(toolchain.nodeBin)}${delimiter}${process.env.PATH}`,
		};
		if (toolchain.nodedir) env.npm_config_nodedir = toolchain.nodedir;
		const logFile = join(paths.dir, 'install.log');
		const npmNode = await capture('node', ['--version'], env);
		if (npmNode !== `v${toolchain.nodeVersion}`) {
			throw new Error(`npm would run on Node ${npmNode}, expected v${toolchain.nodeVersion}`);
		}

		// --ignore-scripts: n8n's dependencies have install scripts that download things (browsers,
		// prebuilt binaries) and fail without internet; n8n runs without them. sqlite3 is the one
		// native module n8n needs, so it alone is built from source below.
		await run(`n8n ${paths.version}`, 'npm', ['install', `n8n@${paths.version}`, '--omit=dev', '--ignore-scripts', '--save-exact', ...npmFlags], {
			cwd: paths.dir,
			env,
			logFile,
			// npm downloads into its cache first: that grows long before node_modules does.
			watchDirs: [
				{ name: 'npm cache', dir: join(await capture('npm', ['config', 'get', 'cache'], env), '_cacache') },
				{ name: 'installed', dir: paths.dir },
			],
		});
		await run(`sqlite3 for n8n ${paths.version}`, 'npm', ['rebuild', 'sqlite3', '--ignore-scripts=false', '--foreground-scripts', ...npmFlags], {
			cwd: paths.dir,
			env,
			logFile,
			watchDirs: [{ name: 'build', dir: join(paths.dir, 'node_modules', 'sqlite3', 'build') }],
		});

		// Prove the result runs before calling it complete: sqlite3 loads and n8n answers.
		const n8nPackageDir = dirname(dirname(paths.n8nBin));
		await capture(toolchain.nodeBin, ['-e', `require(require.resolve('sqlite3', { paths: [${JSON.stringify(n8nPackageDir)}] }))`], env);
		const scratch = await mkdtemp(join(tmpdir(), 'n8n-install-check-'));
		const reported = await capture(toolchain.nodeBin, [paths.n8nBin, '--version'], {
			...env,
			N8N_USER_FOLDER: scratch,
			N8N_DIAGNOSTICS_ENABLED: 'false',
		}).finally(() => rm(scratch, { recursive: true, force: true }));
		if (!reported.split('\n').includes(paths.version)) {
			throw new Error(`n8n --version printed "${reported}", expected ${paths.version}`);
		}

		const seconds = Math.round((Date.now() - stepStart) / 1000);
		const bytes = await diskUsage(paths.dir);
		await writeMarker(paths.dir, {
			n8n: paths.version,
			nodeVersion: toolchain.nodeVersion,
			nodeBin: toolchain.nodeBin,
			overrides: OVERRIDES,
			seconds,
			bytes,
			completedAt: new Date().toISOString(),
		});
		log(`n8n ${paths.version} installed in ${seconds}s: ${formatBytes(bytes)} in ${paths.dir}`);
	});
}

function parseArgs(argv) {
	const [which] = argv;
	if (which === 'all') return MAJORS;
	if (argv.length === 1 && MAJORS.includes(Number(which))) return [Number(which)];
	throw new Error(`usage: node scripts/n8n/install.mjs ${MAJORS.join('|')}|all`);
}

try {
	const majors = parseArgs(process.argv.slice(2));
	log(`cache folder: ${cacheDir()}`);
	for (const major of majors) await installN8n(major);
	log('all done');
} catch (error) {
	process.stderr.write(`\nn8n install failed: ${error.message}\n`);
	process.exitCode = 1;
}
