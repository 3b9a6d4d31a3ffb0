// A throwaway PostgreSQL cluster for n8n's queue mode: Debian's server binaries, a fresh cluster in
// the temp folder on a free 127.0.0.1 port, without durability (a test database), gone with stop().

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, spawnGroup, supervise, waitReady } from './processes.mjs';

const run = promisify(execFile);
const DEB_ROOT = '/usr/lib/postgresql';

/** The bin folder of the newest PostgreSQL Debian installed (or PG_BIN). */
function binDir() {
	if (process.env.PG_BIN) return process.env.PG_BIN;
	const versions = existsSync(DEB_ROOT)
		? readdirSync(DEB_ROOT).filter((version) => existsSync(join(DEB_ROOT, version, 'bin', 'initdb')))
		: [];
	if (versions.length === 0) {
		throw new Error(`no PostgreSQL server in ${DEB_ROOT}: install it (Debian: apt-get install postgresql)`);
	}
	versions.sort((a, b) => Number(b) - Number(a));
	return join(DEB_ROOT, versions[0], 'bin');
}

/** PostgreSQL refuses to run as root: then the cluster belongs to Debian's `postgres` account. */
function serverAccount() {
	if (process.getuid?.() !== 0) return {};
	const line = readFileSync('/etc/passwd', 'utf8')
		.split('\n')
		.find((entry) => entry.startsWith('postgres:'));
	if (!line) throw new Error('running as root and there is no postgres account to run PostgreSQL as');
	const [, , uid, gid] = line.split(':');
	return { uid: Number(uid), gid: Number(gid) };
}

/**
 * initdb, then `postgres` in the foreground; resolves once the database `n8n` exists:
 * `{ host, port, user, database, output(), stop() }`. The user `n8n` is trusted without a password.
 */
export async function startPostgres({ timeoutMs = 60_000 } = {}) {
	const bin = binDir();
	const account = serverAccount();
	const dir = await mkdtemp(join(tmpdir(), 'n8n-postgres-'));
	const data = join(dir, 'data');
	await mkdir(data, { mode: 0o700 });
	if (account.uid !== undefined) {
		await chown(dir, account.uid, account.gid);
		await chown(data, account.uid, account.gid);
	}
	const [port] = await freePorts(1);
	const user = 'n8n';
	const database = 'n8n';
	const asServer = { ...account, env: { ...process.env, LC_ALL: 'C.UTF-8' } };

	let server;
	const stop = async () => {
		await server?.stop();
		await rm(dir, { recursive: true, force: true });
	};
	try {
		await run(join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], asServer);
		server = supervise(
			spawnGroup(
				join(bin, 'postgres'),
				[
					'-D', data,
					'-p', String(port),
					'-k', dir,
					'-c', 'listen_addresses=127.0.0.1',
					// A database that lives as long as the test: durability only costs time.
					'-c', 'fsync=off',
					'-c', 'synchronous_commit=off',
					'-c', 'full_page_writes=off',
				],
				asServer,
			),
			// SIGINT is PostgreSQL's fast shutdown: sessions ended, no wait for clients.
			{ signal: 'SIGINT' },
		);
		const connection = ['-h', '127.0.0.1', '-p', String(port), '-U', user];
		await waitReady(
			server,
			async () => {
				await run(join(bin, 'pg_isready'), [...connection, '-d', 'postgres']);
				return true;
			},
			{ what: `PostgreSQL on 127.0.0.1:${port}`, timeoutMs },
		);
		await run(join(bin, 'createdb'), [...connection, database]);
	} catch (error) {
		await stop();
		throw error;
	}
	return { host: '127.0.0.1', port, user, database, output: server.output, stop };
}
