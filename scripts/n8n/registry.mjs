// A private npm registry on 127.0.0.1 for the tiers that install the package the way users do:
// verdaccio (a devDependency) with its storage, user file and config in a temp folder, no uplink
// (it serves only what is published into it, so nothing is fetched from outside), JSON logs read
// back to tell which packages and tarballs were asked for.
//
//   const registry = await startLocalRegistry();
//   await registry.publish('/path/to/pkg.tgz');
//   registry.requests();          // ['GET /n8n-nodes-dify-workflow', 'GET /n8n-nodes-dify-workflow/-/….tgz', …]
//   await registry.close();

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, spawnGroup, supervise, waitReady } from './processes.mjs';
import { spawnOrThrow } from './runner.mjs';
import { REPO_ROOT } from './versions.mjs';

const VERDACCIO = join(REPO_ROOT, 'node_modules', 'verdaccio', 'bin', 'verdaccio');

/**
 * The environment for an npm command aimed at this registry only: its own user config (so no
 * ~/.npmrc registry or token applies) and its own cache (so every tarball is really fetched).
 */
function npmEnvFor(folder, url, token) {
	return {
		...process.env,
		npm_config_registry: url,
		npm_config_userconfig: join(folder, 'npmrc'),
		// A cache per command: npm publish leaves the tarball in its cache, where a later install
		// would find it by its integrity without asking the registry.
		npm_config_cache: join(folder, `npm-cache-${randomBytes(6).toString('hex')}`),
		npm_config_ignore_scripts: 'true',
		npm_config_update_notifier: 'false',
		npm_config_audit: 'false',
		npm_config_fund: 'false',
		...(token ? { [`npm_config_//${new URL(url).host}/:_authToken`]: token } : {}),
	};
}

export async function startLocalRegistry() {
	const folder = await mkdtemp(join(tmpdir(), 'n8n-local-registry-'));
	const [port] = await freePorts(1);
	const url = `http://127.0.0.1:${port}/`;
	await writeFile(join(folder, 'npmrc'), '');
	await writeFile(
		join(folder, 'config.yaml'),
		[
			`storage: ${join(folder, 'storage')}`,
			'auth:',
			'  htpasswd:',
			`    file: ${join(folder, 'htpasswd')}`,
			'    max_users: 1',
			'uplinks: {}',
			'packages:',
			"  '**':",
			'    access: $all',
			'    publish: $authenticated',
			'web:',
			'  enable: false',
			'log: { type: stdout, format: json, level: http }',
			'',
		].join('\n'),
	);
	const server = supervise(
		spawnGroup(process.execPath, [VERDACCIO, '--config', join(folder, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
			cwd: folder,
		}),
	);
	try {
		await waitReady(server, async () => (await fetch(`${url}-/ping`, { signal: AbortSignal.timeout(2_000) })).ok, {
			what: `verdaccio (${url})`,
			timeoutMs: 60_000,
		});
	} catch (error) {
		await rm(folder, { recursive: true, force: true });
		throw error;
	}

	// The one account that may publish; its token lives only in this process's memory.
	const password = randomBytes(18).toString('hex');
	const response = await fetch(`${url}-/user/org.couchdb.user:publisher`, {
		method: 'PUT',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ name: 'publisher', password }),
	});
	const { token } = await response.json();
	if (!token) throw new Error(`verdaccio gave no token (HTTP ${response.status})`);

	return {
		url,
		folder,
		/** npm's environment for an install from this registry alone (a fresh cache, no user config). */
		npmEnv: () => npmEnvFor(folder, url),
		/** `npm publish` of a tarball or a package folder. */
		publish: (target) => spawnOrThrow('npm', ['publish', target], { env: npmEnvFor(folder, url, token) }),
		/** `npm pack` of a package folder into this registry's folder: the tarball's path. */
		pack: async (packageDir) => {
			const out = await spawnOrThrow('npm', ['pack', packageDir, '--pack-destination', folder, '--json'], { env: npmEnvFor(folder, url) });
			return join(folder, JSON.parse(out)[0].filename);
		},
		/** The version document the registry serves (what n8n reads `dist.integrity` from). */
		versionDocument: async (name, version) => {
			const answer = await fetch(`${url}${encodeURIComponent(name)}/${version}`);
			if (!answer.ok) throw new Error(`GET ${name}/${version}: HTTP ${answer.status}`);
			return answer.json();
		},
		/** Every request the registry logged so far, as `METHOD /path`. */
		requests: () =>
			server
				.output()
				.split('\n')
				.flatMap((line) => {
					try {
						const entry = JSON.parse(line);
						return entry.level === 25 && entry.request ? [`${entry.request.method} ${entry.request.url}`] : [];
					} catch {
						return [];
					}
				}),
		close: async () => {
			await server.stop();
			await rm(folder, { recursive: true, force: true, maxRetries: 3 });
		},
	};
}
