import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { appParameters } from '../standin/app';

/**
 * Small loopback servers for the faults the Dify stand-in does not play: one misbehaving
 * answer each, written by hand so that every byte the node receives is known.
 */

/** The stand-in app's input form, which local servers serve too: the node asks for it before a run. */
const APP_PARAMETERS = JSON.stringify(appParameters({ image: 10, video: 100, audio: 50, other: 15 }));

export interface SeenRequest {
	method: string;
	path: string;
	headers: IncomingMessage['headers'];
}

export interface LocalServer {
	/** Base URL as a credential would hold it: scheme, 127.0.0.1, port, '/v1'. */
	url: string;
	/** Every request but the app-form ones (GET …/parameters), which the server answers itself. */
	requests: SeenRequest[];
	/** Connections the server still has open (idle keep-alive ones included). */
	openConnections(): number;
	/** Responses not yet finished whose connection is still open: a stream somebody still holds. */
	openResponses(): number;
	close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

let certificate: { key: Buffer; cert: Buffer } | undefined;

/** A self-signed certificate for 127.0.0.1, made once per test process with the openssl CLI. */
function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
	if (certificate) return certificate;
	const dir = mkdtempSync(join(tmpdir(), 'dify-reliability-tls-'));
	try {
		execFileSync(
			'openssl',
			['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
				'-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
			{ stdio: 'ignore' },
		);
		certificate = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
		return certificate;
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/**
 * Starts an HTTP (or, with tls, HTTPS with a self-signed certificate) server on 127.0.0.1 (or
 * another loopback address) that
 * answers GET …/parameters with the app form, as Dify does, and gives every other request to
 * the handler.
 */
export async function startLocalServer(handler: Handler, options: { tls?: boolean; host?: string } = {}): Promise<LocalServer> {
	const requests: SeenRequest[] = [];
	const sockets = new Set<Socket>();
	const responses = new Set<ServerResponse>();
	const listener = (req: IncomingMessage, res: ServerResponse) => {
		responses.add(res);
		res.once('close', () => responses.delete(res));
		if (req.method === 'GET' && /\/parameters(\?|$)/.test(req.url ?? '')) {
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end(APP_PARAMETERS);
			return;
		}
		requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
		Promise.resolve(handler(req, res)).catch(() => res.destroy());
	};
	const server: Server = options.tls
		? createHttpsServer({ ...selfSignedCertificate(), requestTimeout: 0 }, listener)
		: createServer({ requestTimeout: 0 }, listener);
	// A TLS server reports its sockets on 'secureConnection'; plain and failed handshakes on 'connection'.
	server.on('connection', (socket: Socket) => {
		sockets.add(socket);
		socket.once('close', () => sockets.delete(socket));
	});
	server.on('tlsClientError', () => {});
	const host = options.host ?? '127.0.0.1';
	await new Promise<void>((resolve) => server.listen(0, host, resolve));
	const { port } = server.address() as AddressInfo;
	let closing: Promise<void> | undefined;
	return {
		url: `${options.tls ? 'https' : 'http'}://${host}:${port}/v1`,
		requests,
		openConnections: () => sockets.size,
		openResponses: () => responses.size,
		close() {
			closing ??= new Promise<void>((resolve) => {
				server.close(() => resolve());
				for (const socket of sockets) socket.destroy();
			});
			return closing;
		},
	};
}

/** A port that was free a moment ago and has nothing listening now. */
export async function closedPort(): Promise<number> {
	const server = createNetServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

/** Reads the request body (so the client is not cut off mid-send) and returns it as text. */
export async function readRequest(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
	return Buffer.concat(chunks).toString('utf8');
}

/** Dify's events for one run, with the envelope fields the node reads. */
export class RunEvents {
	readonly runId = randomUUID();
	readonly taskId = randomUUID();
	readonly workflowId = randomUUID();
	private readonly createdAt = Math.floor(Date.now() / 1000);

	started(): Record<string, unknown> {
		return {
			event: 'workflow_started',
			workflow_run_id: this.runId,
			task_id: this.taskId,
			data: { id: this.runId, workflow_id: this.workflowId, inputs: {}, created_at: this.createdAt },
		};
	}

	textChunk(text: string): Record<string, unknown> {
		return {
			event: 'text_chunk',
			workflow_run_id: this.runId,
			task_id: this.taskId,
			data: { text, from_variable_selector: ['1782800000002', 'text'] },
		};
	}

	finished(outputs: Record<string, unknown>): Record<string, unknown> {
		return {
			event: 'workflow_finished',
			workflow_run_id: this.runId,
			task_id: this.taskId,
			data: {
				id: this.runId,
				workflow_id: this.workflowId,
				status: 'succeeded',
				outputs,
				error: null,
				elapsed_time: 0.5,
				total_tokens: 7,
				total_steps: 3,
				created_at: this.createdAt,
				finished_at: this.createdAt + 1,
			},
		};
	}
}

/** One SSE frame the way Dify writes it: compact JSON on one `data:` line. */
export function frame(event: Record<string, unknown> | string): string {
	return `data: ${typeof event === 'string' ? event : JSON.stringify(event)}\n\n`;
}

/** Starts an event-stream answer; the request body is read first, as a real server does. */
export async function beginStream(req: IncomingMessage, res: ServerResponse): Promise<void> {
	await readRequest(req);
	res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
	res.socket?.setNoDelay(true);
}

/** Writes and waits until the bytes have left, plus a pause, so that the next write is a separate read. */
export function writeApart(res: ServerResponse, chunk: string | Buffer, pauseMs = 25): Promise<void> {
	return new Promise((resolve) => {
		res.write(chunk, () => setTimeout(resolve, pauseMs));
	});
}

