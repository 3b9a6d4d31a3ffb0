// Talks to a running n8n (startN8n in runner.mjs) through its REST API, as the editor does: owner
// set-up, then calls authenticated by the owner's session cookie.
//
//   const n8n = await startN8n(ctx);
//   const api = await setUpOwner(n8n);                  // { request(method, path, body), cookie }
//   await activateWorkflow(api, 'workflowId');
//   const executions = await listExecutions(api, 'workflowId');
//   await stopExecution(api, executions[0].id);
//
// n8n's auth cookie is `Secure`, which an http client must not send back over plain http, so the
// session is carried as an explicit Cookie header instead.

export const OWNER = Object.freeze({
	email: 'owner@example.test',
	firstName: 'Demo',
	lastName: 'Owner',
	password: 'Dify-n8n-Owner-1',
});

function sessionCookie(response) {
	const cookies = response.headers.getSetCookie?.() ?? [];
	const auth = cookies.find((cookie) => cookie.startsWith('n8n-auth='));
	if (!auth) throw new Error(`n8n set no n8n-auth cookie (status ${response.status})`);
	return auth.split(';')[0];
}

async function call(baseUrl, method, path, { body, cookie } = {}) {
	const response = await fetch(`${baseUrl}${path}`, {
		method,
		headers: {
			...(body === undefined ? {} : { 'content-type': 'application/json' }),
			...(cookie ? { cookie } : {}),
			// n8n refuses browser-less REST writes that do not say they come from its editor.
			'browser-id': 'n8n-nodes-dify-workflow-tests',
		},
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(60_000),
	});
	const text = await response.text();
	let json;
	try {
		json = text ? JSON.parse(text) : undefined;
	} catch {
		json = undefined;
	}
	if (!response.ok) {
		throw new Error(`n8n ${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
	}
	return { response, json: json?.data ?? json };
}

function client(baseUrl, cookie) {
	return {
		baseUrl,
		cookie,
		request: async (method, path, body) => (await call(baseUrl, method, path, { body, cookie })).json,
	};
}

/**
 * n8n answers /healthz before it has mounted its REST routes; the editor's first call tells. While
 * n8n 1.x starts it answers every path, /rest/settings included, with a 200 "n8n is starting up"
 * HTML page, then 404s: only its settings as JSON mean the editor and REST API are served.
 */
export async function waitForRest(n8n, { timeoutMs = 120_000 } = {}) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			const response = await fetch(`${n8n.url}/rest/settings`, { signal: AbortSignal.timeout(5_000) });
			const body = await response.text();
			if (response.ok && /json/.test(response.headers.get('content-type') ?? '') && JSON.parse(body).data) return;
		} catch {
			// Not listening yet, or not yet answering in JSON.
		}
		if (Date.now() > deadline) throw new Error(`n8n's REST API at ${n8n.url}/rest did not answer within ${timeoutMs} ms`);
		await new Promise((wait) => setTimeout(wait, 250));
	}
}

/** Creates the owner account of a fresh n8n (or logs in when it exists) and returns a client. */
export async function setUpOwner(n8n, owner = OWNER) {
	await waitForRest(n8n);
	try {
		const { response } = await call(n8n.url, 'POST', '/rest/owner/setup', { body: owner });
		return client(n8n.url, sessionCookie(response));
	} catch (error) {
		if (!/\b400\b/.test(String(error.message))) throw error;
		const { response } = await call(n8n.url, 'POST', '/rest/login', {
			body: { emailOrLdapLoginId: owner.email, email: owner.email, password: owner.password },
		});
		return client(n8n.url, sessionCookie(response));
	}
}

/** Activates (2.x: publishes) a workflow so its webhooks answer. */
export async function activateWorkflow(api, workflowId) {
	const workflow = await api.request('GET', `/rest/workflows/${workflowId}`);
	try {
		return await api.request('POST', `/rest/workflows/${workflowId}/activate`, {
			versionId: workflow.versionId,
		});
	} catch (error) {
		// n8n 1.x has no activate route: activation is an update of the workflow's `active` flag.
		if (!/\b404\b/.test(String(error.message))) throw error;
		return await api.request('PATCH', `/rest/workflows/${workflowId}`, {
			active: true,
			versionId: workflow.versionId,
		});
	}
}

/** Deactivates (2.x: unpublishes) a workflow; activating it again runs a poll trigger's poll at once. */
export async function deactivateWorkflow(api, workflowId) {
	try {
		return await api.request('POST', `/rest/workflows/${workflowId}/deactivate`, {});
	} catch (error) {
		// n8n 1.x: deactivation is an update of the workflow's `active` flag.
		if (!/\b404\b/.test(String(error.message))) throw error;
		const workflow = await api.request('GET', `/rest/workflows/${workflowId}`);
		return await api.request('PATCH', `/rest/workflows/${workflowId}`, { active: false, versionId: workflow.versionId });
	}
}

/** The workflow's executions, newest first: `[{ id, status, finished, mode, … }]`. */
export async function listExecutions(api, workflowId) {
	const filter = encodeURIComponent(JSON.stringify({ workflowId }));
	const result = await api.request('GET', `/rest/executions?filter=${filter}&limit=100`);
	return result.results ?? result;
}

/** One execution with its data (`data` is n8n's flatted run data, as the editor receives it). */
export async function getExecution(api, executionId) {
	return await api.request('GET', `/rest/executions/${executionId}`);
}

/** Stops a running execution, as the editor's Stop button does. */
export async function stopExecution(api, executionId) {
	return await api.request('POST', `/rest/executions/${executionId}/stop`);
}
