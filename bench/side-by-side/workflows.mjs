// The two ways to run a Dify workflow from n8n that the side-by-side bench compares, as n8n
// workflow JSON: what users build without this package (HTTP Request, and for a stream a Code
// node that splits the SSE text), and the Dify Workflow node.

const START = {
	parameters: {},
	id: 'start',
	name: 'Start',
	type: 'n8n-nodes-base.manualTrigger',
	typeVersion: 1,
	position: [0, 0],
};

function workflow(id, name, nodes) {
	const connections = {};
	for (let i = 0; i + 1 < nodes.length; i++) {
		connections[nodes[i].name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
	}
	return { id, name, nodes, connections, settings: { executionOrder: 'v1' }, active: false };
}

// What a user writes in a Code node to turn the SSE body into the run's result: blocks split on
// blank lines, each block's data lines joined and parsed, text chunks concatenated.
const SPLIT_SSE = `
const body = $input.first().json.data;
let events = 0;
let textChunks = 0;
const text = [];
let finished = null;
for (const block of body.split(/\\r?\\n\\r?\\n/)) {
	const data = block
		.split(/\\r?\\n/)
		.filter((line) => line.startsWith('data:'))
		.map((line) => line.slice(5).replace(/^ /, ''))
		.join('\\n');
	if (!data) continue;
	const event = JSON.parse(data);
	events++;
	if (event.event === 'text_chunk') {
		textChunks++;
		text.push(event.data.text);
	} else if (event.event === 'workflow_finished') {
		finished = event.data;
	}
}
return [{ json: {
	status: finished?.status ?? null,
	outputs: finished?.outputs ?? null,
	error: finished?.error ?? null,
	total_tokens: finished?.total_tokens ?? null,
	events,
	text_chunks: textChunks,
	text: text.join(''),
} }];
`;

export const HTTP_NODE = 'HTTP Request';
export const CODE_NODE = 'Split SSE';
export const DIFY_NODE = 'Dify Workflow';

/** Manual trigger → HTTP Request to /workflows/run (→ Code node that splits the SSE text, when streaming). */
export function httpWorkflow({ id, baseUrl, credential, inputs, mode }) {
	const http = {
		parameters: {
			method: 'POST',
			url: `${baseUrl}/workflows/run`,
			authentication: 'genericCredentialType',
			genericAuthType: 'httpHeaderAuth',
			sendBody: true,
			specifyBody: 'json',
			jsonBody: JSON.stringify({ inputs, user: 'bench', response_mode: mode }),
			options:
				mode === 'streaming'
					? { response: { response: { responseFormat: 'text', outputPropertyName: 'data' } }, timeout: 600_000 }
					: { timeout: 600_000 },
		},
		id: 'http',
		name: HTTP_NODE,
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		position: [220, 0],
		credentials: { httpHeaderAuth: { id: credential.id, name: credential.name } },
	};
	const nodes = [START, http];
	if (mode === 'streaming') {
		nodes.push({
			parameters: { mode: 'runOnceForAllItems', language: 'javaScript', jsCode: SPLIT_SSE },
			id: 'code',
			name: CODE_NODE,
			type: 'n8n-nodes-base.code',
			typeVersion: 2,
			position: [440, 0],
		});
	}
	return workflow(id, `HTTP Request ${mode}`, nodes);
}

/** Manual trigger → Dify Workflow, Run, streaming with the final result or blocking. */
export function nodeWorkflow({ id, credential, inputs, mode }) {
	const dify = {
		parameters: {
			resource: 'workflow',
			operation: 'run',
			inputs: JSON.stringify(inputs),
			user: 'bench',
			responseMode: mode,
			...(mode === 'streaming' ? { output: 'final' } : {}),
			options: {},
		},
		id: 'dify',
		name: DIFY_NODE,
		type: 'n8n-nodes-dify-workflow.difyWorkflow',
		typeVersion: 1,
		position: [220, 0],
		credentials: { difyApi: { id: credential.id, name: credential.name } },
	};
	return workflow(id, `Dify Workflow ${mode}`, [START, dify]);
}
