// Calls the production webhooks of a running n8n (startN8n in runner.mjs), as an outside client.

/**
 * POSTs `body` as JSON to `/webhook/<path>` and returns the response with its body unread (to be
 * read as a stream or whole). n8n answers /healthz before it has registered the webhooks of active
 * workflows, so a 404 is retried until `timeoutMs` has passed.
 */
export async function callWebhook(n8n, path, body, { timeoutMs = 30_000 } = {}) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const response = await fetch(`${n8n.url}/webhook/${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		if (response.status !== 404 || Date.now() > deadline) return response;
		await response.arrayBuffer();
		await new Promise((wait) => setTimeout(wait, 500));
	}
}

/**
 * The objects n8n writes to a webhook in Streaming response mode (`{ type, content?, metadata }`,
 * one JSON object per chunk, not separated: a chunk may end where the next begins).
 */
export function parseStreamedChunks(text) {
	return text
		.split(/(?<=})\s*(?={)/)
		.map((part) => part.trim())
		.filter(Boolean)
		.map((part) => JSON.parse(part));
}
