#!/usr/bin/env node
// Prints the N8N_COMMUNITY_PACKAGES line that pins one packed release of this package:
//
//   node scripts/community-packages-line.mjs path/to/n8n-nodes-dify-workflow-X.Y.Z.tgz
//   N8N_COMMUNITY_PACKAGES='[{"name":"n8n-nodes-dify-workflow","version":"X.Y.Z","checksum":"sha512-…"}]'
//   node scripts/community-packages-line.mjs --checksum path/to/….tgz      (the checksum alone)
//
// The checksum is npm's `integrity` of the tarball (Subresource Integrity: "sha512-" and the base64
// SHA-512 of its bytes), the value the registry stores as `dist.integrity`. n8n 2.41 compares the
// checksum with that field, as a string, before it installs (npm-utils.js, verifyIntegrity), so it
// only matches the very tarball that was published.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `{ name, version, checksum }` of a packed tarball, read from the tarball itself. */
export function communityPackageEntry(tarballPath) {
	const tarball = resolve(tarballPath);
	const { name, version } = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
	const checksum = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
	return { name, version, checksum };
}

/** The value of N8N_COMMUNITY_PACKAGES for these entries (a JSON list, as n8n parses it). */
export function communityPackagesValue(entries) {
	return JSON.stringify(entries);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const args = process.argv.slice(2);
	const checksumOnly = args[0] === '--checksum';
	const tarball = checksumOnly ? args[1] : args[0];
	if (!tarball) {
		process.stderr.write('usage: node scripts/community-packages-line.mjs [--checksum] <packed tarball>\n');
		process.exit(2);
	}
	if (checksumOnly) {
		process.stdout.write(`${communityPackageEntry(tarball).checksum}\n`);
		process.exit(0);
	}
	// Single quotes: the line pastes into a shell, a .env file or docker-compose.yml as it is (the
	// JSON holds no single quote: base64 has none).
	process.stdout.write(`N8N_COMMUNITY_PACKAGES='${communityPackagesValue([communityPackageEntry(tarball)])}'\n`);
}
