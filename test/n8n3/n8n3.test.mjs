// n8n 3.0 turns unverified community packages off (N8N_UNVERIFIED_PACKAGES_ENABLED defaults to
// false). This tier runs n8n 2.41.1 with that setting already false and tries each way to keep the
// node that docs/n8n-3.md documents, with the package served by a private registry on 127.0.0.1
// and an egress guard as n8n's proxy, so nothing leaves the machine and every host n8n tried to
// reach is known. What n8n refuses (a registry other than npmjs.org without a licence) is shown in
// the output and asserted, so that the day n8n changes it this tier says so.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { communityPackageEntry, communityPackagesValue } from '../../scripts/community-packages-line.mjs';
import { startEgressGuard } from '../../scripts/n8n/egress-guard.mjs';
import { startLocalRegistry } from '../../scripts/n8n/registry.mjs';
import { setUpOwner } from '../../scripts/n8n/rest.mjs';
import {
	createUserFolder,
	executeWorkflow,
	importCredentials,
	importWorkflow,
	n8nInstall,
	nodeOutput,
	runN8n,
	spawnOrThrow,
	startN8n,
} from '../../scripts/n8n/runner.mjs';
import { packedTarball } from '../../scripts/n8n/tarball.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';

const require = createRequire(import.meta.url);
// Compiled by `npm run test:n8n3` (tsc -p tsconfig.test.json) before the tests start.
const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));

const CREDENTIAL = { id: 'DifyStandIn00001', name: 'Dify stand-in', type: 'difyApi' };
const EXAMPLE = join(REPO_ROOT, 'examples/run-and-chain.json');
const INSTALL_FAILED = /Failed to install community package '([^']+)' from env: (.*)/;

function log(message) {
	process.stderr.write(`[n8n3] ${message}\n`);
}

/** Polls a running n8n's log until a line matches; the match, or an error with the log's tail. */
async function waitForLine(n8n, pattern, { timeoutMs = 120_000 } = {}) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const match = pattern.exec(n8n.output());
		if (match) return match;
		if (Date.now() > deadline) throw new Error(`n8n logged no line matching ${pattern} in ${timeoutMs} ms:\n${n8n.output().slice(-3000)}`);
		await new Promise((wait) => setTimeout(wait, 250));
	}
}

describe('n8n 2.41.1 with N8N_UNVERIFIED_PACKAGES_ENABLED=false (what n8n 3.0 makes the default)', () => {
	let install;
	let registry;
	let guard;
	let standin;
	let entry;
	const started = Date.now();
	const unverifiedOff = () => ({ N8N_UNVERIFIED_PACKAGES_ENABLED: 'false', ...guard.env() });

	before(async () => {
		install = n8nInstall(2);
		[registry, guard, standin] = await Promise.all([startLocalRegistry(), startEgressGuard(), startDifyStandin()]);
		// The registry has no uplink: the two runtime dependencies are published into it from the
		// copies npm ci installed here, so an install from it needs nothing from outside.
		for (const dependency of ['undici', 'eventsource-parser']) {
			await registry.publish(await registry.pack(join(REPO_ROOT, 'node_modules', dependency)));
		}
		const tarball = packedTarball();
		await registry.publish(tarball);
		entry = communityPackageEntry(tarball);
		log(`local registry ${registry.url} serves ${entry.name}@${entry.version}; egress guard ${guard.url}`);
	});

	after(async () => {
		await Promise.all([registry?.close(), guard?.close(), standin?.close()]);
		log(`hosts n8n and npm tried to reach (all refused): ${[...new Set(guard?.attempts() ?? [])].join(', ') || 'none'}`);
		log(`tier took ${((Date.now() - started) / 1000).toFixed(1)} s`);
	});

	it("prints the checksum n8n compares: the registry's dist.integrity of the published tarball", async () => {
		const published = await registry.versionDocument(entry.name, entry.version);
		assert.equal(published.dist.integrity, entry.checksum);
		const line = execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/community-packages-line.mjs'), packedTarball()], { encoding: 'utf8' }).trim();
		assert.equal(line, `N8N_COMMUNITY_PACKAGES='${communityPackagesValue([entry])}'`);
		log(`release line: ${line}`);
	});

	describe('a manual install (npm in <user folder>/.n8n/nodes, from the registry)', () => {
		let ctx;

		before(async () => {
			ctx = await createUserFolder(install, { env: unverifiedOff() });
			const nodesDir = join(ctx.userFolder, '.n8n', 'nodes');
			await mkdir(nodesDir, { recursive: true });
			await writeFile(join(nodesDir, 'package.json'), `${JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2)}\n`);
			// The command docs/n8n-3.md gives, against the registry.
			await spawnOrThrow('npm', ['install', `${entry.name}@${entry.version}`, '--save-exact', '--legacy-peer-deps'], {
				cwd: nodesDir,
				env: { ...registry.npmEnv(), ...guard.env() },
			});
			await importCredentials(ctx, [{ ...CREDENTIAL, data: { baseUrl: standin.url, apiKey: standin.apiKey } }]);
		});

		after(async () => {
			await ctx?.cleanup();
		});

		it('came from the local registry, and n8n loads the node and runs a workflow with it', async () => {
			const fetched = registry.requests();
			assert.ok(fetched.includes(`GET /${entry.name}/-/${entry.name}-${entry.version}.tgz`), fetched.join('\n'));
			assert.ok(fetched.some((request) => /^GET \/undici\/-\/undici-.*\.tgz$/.test(request)), fetched.join('\n'));
			const id = await importWorkflow(ctx, EXAMPLE);
			const result = await executeWorkflow(ctx, id);
			assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
			const [item] = nodeOutput(result.json, 'Use the answer');
			assert.match(item.answer, /Mount Fuji/);
			assert.ok(!JSON.stringify(result.json).includes(standin.apiKey));
			log('manual install: the node loaded and ran run-and-chain.json with unverified packages off');
		});

		it("refuses an install from n8n's UI or REST API without a checksum", async () => {
			const n8n = await startN8n(ctx);
			try {
				const api = await setUpOwner(n8n);
				await assert.rejects(
					api.request('POST', '/rest/community-packages', { name: entry.name, version: entry.version }),
					(error) => {
						// rest.mjs cuts the body at 500 characters: read n8n's message out of the JSON text.
						const status = /: (\d{3}) /.exec(error.message)?.[1];
						const quoted = /"message":("(?:[^"\\]|\\.)*")/.exec(error.message)?.[1];
						const message = quoted ? JSON.parse(quoted) : error.message;
						log(`Settings → Community nodes → Install answers ${status}: ${message}`);
						return /Installation of unverified community packages is forbidden!/.test(message);
					},
				);
			} finally {
				await n8n.stop();
			}
		});
	});

	describe('the env-managed install (N8N_COMMUNITY_PACKAGES, read by `n8n start`)', () => {
		const managed = (packages, extra = {}) => ({
			...unverifiedOff(),
			N8N_COMMUNITY_PACKAGES_MANAGED_BY_ENV: 'true',
			N8N_COMMUNITY_PACKAGES: communityPackagesValue(packages),
			...extra,
		});

		it('refuses to start without a checksum', async () => {
			const ctx = await createUserFolder(install, { env: managed([{ name: entry.name, version: entry.version }]) });
			try {
				const result = await runN8n(ctx, ['start'], { timeoutMs: 180_000 });
				const output = `${result.stdout}\n${result.stderr}`;
				assert.notEqual(result.exitCode, 0, output.slice(-3000));
				const [line] = /N8N_COMMUNITY_PACKAGES: no checksum available for .*/.exec(output) ?? [];
				assert.equal(line, `N8N_COMMUNITY_PACKAGES: no checksum available for '${entry.name}@${entry.version}' and unverified packages are disabled`);
				log(`without a checksum, n8n start exits ${result.exitCode}: ${line}`);
			} finally {
				await ctx.cleanup();
			}
		});

		it('accepts the checksum, then refuses a registry other than npmjs.org without a licence', async () => {
			const ctx = await createUserFolder(install, {
				env: managed([entry], { N8N_COMMUNITY_PACKAGES_REGISTRY: registry.url.replace(/\/$/, '') }),
			});
			const before = registry.requests().length;
			const n8n = await startN8n(ctx);
			try {
				const [line, ref, reason] = await waitForLine(n8n, INSTALL_FAILED);
				log(`N8N_COMMUNITY_PACKAGES_REGISTRY=${registry.url}: ${line}`);
				assert.equal(ref, `${entry.name}@${entry.version}`);
				assert.match(reason, /licen[cs]e/i);
				assert.deepEqual(registry.requests().slice(before), [], 'n8n asked the local registry anyway');
			} finally {
				await n8n.stop();
				await ctx.cleanup();
			}
		});

		it('goes to registry.npmjs.org whatever npm_config_registry says', async () => {
			const ctx = await createUserFolder(install, { env: managed([entry], { npm_config_registry: registry.url }) });
			const before = registry.requests().length;
			const attemptsBefore = guard.attempts().length;
			const n8n = await startN8n(ctx);
			try {
				const [line] = await waitForLine(n8n, INSTALL_FAILED);
				log(`npm_config_registry=${registry.url}: ${line}`);
				const attempts = guard.attempts().slice(attemptsBefore);
				assert.ok(attempts.includes('CONNECT registry.npmjs.org:443'), attempts.join('\n'));
				assert.deepEqual(registry.requests().slice(before), [], 'n8n asked the local registry');
			} finally {
				await n8n.stop();
				await ctx.cleanup();
			}
		});
	});
});
