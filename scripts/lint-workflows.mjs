// Validates every GitHub Actions workflow against GitHub's schema, offline (action-validator runs
// from node_modules; no network). A release pipeline that is wrong only shows itself on a tag push.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, '.github', 'workflows');
const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
if (files.length === 0) {
	console.error(`no workflow files in ${dir}`);
	process.exit(1);
}

const validator = join(root, 'node_modules', '.bin', 'action-validator');
let failed = 0;
for (const name of files) {
	const result = spawnSync(validator, [join(dir, name)], { stdio: 'inherit' });
	if (result.status !== 0) {
		failed++;
		console.error(`.github/workflows/${name}: invalid (see above)`);
	}
}
if (failed > 0) process.exit(1);
console.log(`.github/workflows: ${files.length} workflow files valid`);
