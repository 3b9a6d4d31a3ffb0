// Where `npm run pack:local` leaves the package's tarball, which the n8n tiers and the demo install.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './versions.mjs';

/** The path of the packed tarball of package.json's version; throws when it has not been packed. */
export function packedTarball() {
	const { name, version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
	const tarball = join(REPO_ROOT, '.cache/pack', `${name}-${version}.tgz`);
	if (!existsSync(tarball)) throw new Error(`${tarball} is missing: npm run pack:local makes it`);
	return tarball;
}
