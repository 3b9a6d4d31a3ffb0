// A throwaway Redis for n8n's queue mode: Debian's redis-server on a free 127.0.0.1 port, nothing
// written to disk, gone with stop().

import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, spawnGroup, supervise, waitReady } from './processes.mjs';

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** One PING over a fresh connection: true on +PONG. */
function ping(port) {
	return new Promise((resolvePing) => {
		const socket = connect(port, '127.0.0.1');
		let reply = '';
		socket.setTimeout(2_000, () => socket.destroy());
		socket.once('connect', () => socket.write('PING\r\n'));
		socket.on('data', (chunk) => {
			reply += chunk;
			if (reply.includes('\r\n')) socket.end();
		});
		socket.once('close', () => resolvePing(reply.startsWith('+PONG')));
		socket.once('error', () => resolvePing(false));
	});
}

/** Starts redis-server and resolves once it answers PING: `{ host, port, output(), stop() }`. */
export async function startRedis({ timeoutMs = 30_000 } = {}) {
	const dir = await mkdtemp(join(tmpdir(), 'n8n-redis-'));
	const [port] = await freePorts(1);
	const redis = supervise(
		spawnGroup(REDIS_SERVER, [
			'--bind', '127.0.0.1',
			'--port', String(port),
			'--dir', dir,
			// A queue that lives as long as the test: no snapshots, no append-only file.
			'--save', '',
			'--appendonly', 'no',
			'--daemonize', 'no',
		]),
	);
	const stop = async () => {
		await redis.stop();
		await rm(dir, { recursive: true, force: true });
	};
	try {
		await waitReady(redis, () => ping(port), { what: `redis-server on 127.0.0.1:${port}`, timeoutMs });
	} catch (error) {
		await rm(dir, { recursive: true, force: true });
		if (redis.state.exited?.signal?.includes('ENOENT')) {
			throw new Error(`${REDIS_SERVER} not found: install it (Debian: apt-get install redis-server)`);
		}
		throw error;
	}
	return { host: '127.0.0.1', port, output: redis.output, stop };
}
