// Background processes of the n8n tiers (n8n itself, Redis, PostgreSQL): each in its own process
// group, so a stop reaches whatever it started, and none outlives the test process that made it.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';

const liveChildren = new Set();
// A process group outlives a test process that exits without stopping it: kill what is left on exit.
process.on('exit', () => {
	for (const child of liveChildren) killGroup(child, 'SIGKILL');
});

export function killGroup(child, signal) {
	try {
		// Negative pid: the whole process group.
		process.kill(-child.pid, signal);
	} catch (error) {
		if (error.code !== 'ESRCH') throw error;
	}
}

/**
 * `spawn` in a new process group, stdout and stderr piped (unless `options.stdio` says otherwise),
 * the group killed when the leader exits.
 */
export function spawnGroup(command, args, options = {}) {
	const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
	liveChildren.add(child);
	child.once('exit', () => {
		// The group may outlive its leader (n8n's task runner shutting down): end it, then forget it.
		killGroup(child, 'SIGKILL');
		liveChildren.delete(child);
	});
	return child;
}

export function tail(text, lines = 40) {
	return text.split('\n').slice(-lines).join('\n');
}

/**
 * A long-running child: its output collected (and appended to `logFile` as it comes, when given),
 * `state.exited` set once it exits, and `stop()` that sends `signal` to its group and kills it after
 * `forceAfterMs` if it is still there.
 */
export function supervise(child, { signal = 'SIGTERM', forceAfterMs = 15_000, logFile } = {}) {
	let output = '';
	const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
	const keep = (chunk) => {
		output += chunk;
		log?.write(chunk);
	};
	child.stdout.setEncoding('utf8').on('data', keep);
	child.stderr.setEncoding('utf8').on('data', keep);
	child.once('exit', () => log?.end());
	const state = { exited: null };
	const exitPromise = new Promise((done) => {
		child.once('exit', (code, exitSignal) => {
			state.exited = { code, signal: exitSignal };
			done(state.exited);
		});
		child.once('error', (error) => {
			state.exited = { code: null, signal: error.message };
			done(state.exited);
		});
	});
	const stop = async () => {
		if (!state.exited) {
			killGroup(child, signal);
			const forced = setTimeout(() => killGroup(child, 'SIGKILL'), forceAfterMs);
			await exitPromise;
			clearTimeout(forced);
		}
	};
	return { child, state, output: () => output, stop, exited: exitPromise };
}

/**
 * Polls `isReady()` every 250 ms until it is true. Throws (after stopping the process) when the
 * process exits first or `timeoutMs` passes; `what` names it in the message.
 */
export async function waitReady(process_, isReady, { what, timeoutMs }) {
	const deadline = Date.now() + timeoutMs;
	while (!process_.state.exited) {
		try {
			if (await isReady()) return;
		} catch {
			// Not listening yet.
		}
		if (Date.now() > deadline) {
			await process_.stop();
			throw new Error(`${what} was not ready within ${timeoutMs} ms.\n${tail(process_.output())}`);
		}
		await new Promise((wait) => setTimeout(wait, 250));
	}
	const { code, signal } = process_.state.exited;
	throw new Error(`${what} exited (${code ?? signal}) before it was ready.\n${tail(process_.output())}`);
}

/** Ports the OS hands out as free right now. Held open together so they differ from each other. */
export async function freePorts(count) {
	const servers = await Promise.all(
		Array.from({ length: count }, () => {
			return new Promise((resolvePort, reject) => {
				const server = createServer();
				server.once('error', reject);
				server.listen(0, '127.0.0.1', () => resolvePort(server));
			});
		}),
	);
	const ports = servers.map((server) => server.address().port);
	await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
	return ports;
}
