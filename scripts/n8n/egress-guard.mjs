// An HTTP proxy on 127.0.0.1 that lets nothing through and writes down where each request was
// going. Given to a process as HTTP_PROXY / HTTPS_PROXY (with NO_PROXY for 127.0.0.1), it keeps
// a test from reaching outside the machine and shows which hosts the process tried: n8n and the
// npm it starts both honour these variables.
//
//   const guard = await startEgressGuard();
//   env: { HTTP_PROXY: guard.url, HTTPS_PROXY: guard.url, NO_PROXY: '127.0.0.1,localhost' }
//   guard.attempts();      // ['CONNECT registry.npmjs.org:443', 'POST http://…', …]

import { createServer } from 'node:http';

export async function startEgressGuard() {
	const attempts = [];
	const server = createServer((request, response) => {
		attempts.push(`${request.method} ${request.url}`);
		response.writeHead(403, { 'content-type': 'text/plain', connection: 'close' });
		response.end('blocked by the test: nothing leaves 127.0.0.1\n');
	});
	server.on('connect', (request, socket) => {
		attempts.push(`CONNECT ${request.url}`);
		socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
	});
	await new Promise((listening) => server.listen(0, '127.0.0.1', listening));
	const { port } = server.address();
	return {
		url: `http://127.0.0.1:${port}`,
		env: () => ({
			HTTP_PROXY: `http://127.0.0.1:${port}`,
			HTTPS_PROXY: `http://127.0.0.1:${port}`,
			http_proxy: `http://127.0.0.1:${port}`,
			https_proxy: `http://127.0.0.1:${port}`,
			NO_PROXY: '127.0.0.1,localhost',
			no_proxy: '127.0.0.1,localhost',
		}),
		attempts: () => [...attempts],
		close: () =>
			new Promise((closed) => {
				server.closeAllConnections();
				server.close(closed);
			}),
	};
}
