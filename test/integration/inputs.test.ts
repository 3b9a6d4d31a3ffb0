import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';

import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';
import type { DifyNodeOptions } from './dify-node';
import { runDifyNode } from './dify-node';
import { standinPerFile } from './standin-per-file';

const standin = standinPerFile();

const run = (parameters: IDataObject, extra: Pick<DifyNodeOptions, 'items' | 'binaries' | 'binaryMode' | 'settings'> = {}) =>
	runDifyNode({
		parameters: {
			resource: 'workflow',
			operation: 'run',
			user: 'u',
			responseMode: 'blocking',
			...parameters,
		} as never,
		baseUrl: standin().url,
		apiKey: standin().apiKey,
		...extra,
	});

const runBodies = () => standin().requests.filter((r) => r.path === '/v1/workflows/run').map((r) => r.json as IDataObject);

/** What the editor gives a node's loadOptions / resourceMapping methods, for the stand-in's app. */
const editorContext = (type = 'n8n-nodes-dify-workflow.difyWorkflow', parameters: IDataObject = {}) => ({
	getCredentials: async () => ({ baseUrl: standin().url, apiKey: standin().apiKey }),
	getNode: () => ({ name: 'Dify Workflow', type, typeVersion: 1, parameters }),
	getCurrentNodeParameter: (name: string) => parameters[name],
	logger: undefined,
});

describe('typed inputs from the app', () => {
	it('loads the input form into the field mapper: types, options, required flags, defaults', async () => {
		const node = new DifyWorkflow();
		const { fields } = await node.methods.resourceMapping.getInputFields.call(editorContext() as never);
		const byId = Object.fromEntries(fields.map((field) => [field.id, field]));
		expect(byId.topic).toMatchObject({ displayName: 'Topic', type: 'string', required: true });
		expect(byId.scenario).toMatchObject({ type: 'options', required: false, defaultValue: 'llm' });
		expect(byId.scenario.options).toEqual(expect.arrayContaining([{ name: 'fail', value: 'fail' }]));
		expect(byId.chunks).toMatchObject({ type: 'number' });
		expect(byId.doc).toMatchObject({ type: 'string', displayName: 'Document' });
	});

	// n8n shows the notice in place of the fields, so under Map Automatically it would claim that
	// an app with inputs has none.
	it('says the app has no inputs only when it has none', async () => {
		const node = new DifyWorkflow();
		const withInputs = await node.methods.resourceMapping.getInputFields.call(editorContext() as never);
		expect(withInputs.fields.length).toBeGreaterThan(0);
		expect(withInputs.emptyFieldsNotice).toBeUndefined();

		standin().failNext({ path: '/v1/parameters' }, { status: 200, json: { user_input_form: [] } });
		const withoutInputs = await node.methods.resourceMapping.getInputFields.call(editorContext() as never);
		expect(withoutInputs.fields).toEqual([]);
		expect(withoutInputs.emptyFieldsNotice).toMatch(/no input variables/);
	});

	it('sends the mapped fields as inputs', async () => {
		const result = await run({
			inputMode: 'mapped',
			inputFields: { mappingMode: 'defineBelow', value: { topic: '={{ $json.name }}', scenario: 'llm', chunks: '' }, schema: [] },
		}, { items: [{ name: 'Kilimanjaro' }] });
		expect(result.error).toBeUndefined();
		expect(runBodies()[0].inputs).toEqual({ topic: 'Kilimanjaro', scenario: 'llm' });
		expect((result.items[0].json.outputs as IDataObject).answer).toEqual(expect.stringContaining('Kilimanjaro'));
	});

	it('Map automatically takes the item fields that match the form', async () => {
		await run(
			{
				inputMode: 'mapped',
				inputFields: {
					mappingMode: 'autoMapInputData',
					value: null,
					schema: [
						{ id: 'topic', displayName: 'Topic', required: true, defaultMatch: false, display: true },
						{ id: 'scenario', displayName: 'Scenario', required: false, defaultMatch: false, display: true },
					],
				},
			},
			{ items: [{ topic: 'Denali', unrelated: 'left out' }] },
		);
		expect(runBodies()[0].inputs).toEqual({ topic: 'Denali' });
	});

	it('reports missing required inputs and unknown keys before the run, naming them', async () => {
		const result = await run({ inputMode: 'json', inputs: '{"tpoic": "typo"}' });
		expect(result.error?.message).toBe(
			'The Inputs lack the required topic (Topic) and have keys the app does not know: tpoic',
		);
		expect(result.error?.description).toMatch(/The app's inputs are: topic \(Topic\), scenario/);
		expect(runBodies()).toHaveLength(0);
	});

	it('asks for the form once per execution, however many items run', async () => {
		await run({ inputMode: 'json', inputs: '={{ { "topic": $json.t } }}' }, { items: [{ t: 'a' }, { t: 'b' }, { t: 'c' }] });
		expect(standin().requests.filter((r) => r.path === '/v1/parameters')).toHaveLength(1);
		expect(runBodies()).toHaveLength(3);
	});
});

describe('files in', () => {
	const notes = 'Trip notes: Mount Fuji in July.';

	it('uploads a binary field named in a file input, then sends it as a local file', async () => {
		const result = await run(
			{ inputMode: 'json', inputs: '{"topic": "notes", "doc": "report"}' },
			{ binaries: [{ property: 'report', fileName: 'notes.md', mimeType: 'text/markdown', text: notes }] },
		);
		expect(result.error).toBeUndefined();
		const upload = standin().requests.find((r) => r.path === '/v1/files/upload');
		expect(upload?.multipart?.files[0]).toMatchObject({
			filename: 'notes.md',
			sha256: createHash('sha256').update(notes).digest('hex'),
		});
		const doc = runBodies()[0].inputs as IDataObject;
		expect(doc.doc).toEqual({ type: 'document', transfer_method: 'local_file', upload_file_id: expect.any(String) });
	});

	it('sends a URL as a remote file, with the type from its extension', async () => {
		await run({
			inputMode: 'mapped',
			inputFields: { mappingMode: 'defineBelow', value: { topic: 'x', doc: 'https://example.com/files/report.pdf' }, schema: [] },
		});
		expect((runBodies()[0].inputs as IDataObject).doc).toEqual({
			type: 'document',
			transfer_method: 'remote_url',
			url: 'https://example.com/files/report.pdf',
		});
	});

	it("fills the run's files list from binary fields and URLs", async () => {
		await run(
			{ inputMode: 'json', inputs: '{"topic": "x"}', options: { files: 'photo, https://example.com/a.mp3' } },
			{ binaries: [{ property: 'photo', fileName: 'cat.png', mimeType: 'image/png', base64: 'iVBORw0KGgo=' }] },
		);
		expect(runBodies()[0].files).toEqual([
			{ type: 'image', transfer_method: 'local_file', upload_file_id: expect.any(String) },
			{ type: 'audio', transfer_method: 'remote_url', url: 'https://example.com/a.mp3' },
		]);
	});

	it("in n8n 2.x's combined binary mode, takes the binary's path in the item's JSON", async () => {
		// n8n itself moves a node's output binaries into json._files when the workflow runs combined.
		const result = await run(
			{ inputMode: 'json', inputs: '{"topic": "notes", "doc": "_files.report"}', options: { files: '_files.photo' } },
			{
				binaries: [
					{ property: 'report', fileName: 'notes.md', mimeType: 'text/markdown', text: notes },
					{ property: 'photo', fileName: 'cat.png', mimeType: 'image/png', base64: 'iVBORw0KGgo=' },
				],
				binaryMode: 'filesystem',
				settings: { executionOrder: 'v1', binaryMode: 'combined' },
			},
		);
		expect(result.error).toBeUndefined();
		const upload = standin().requests.find((r) => r.path === '/v1/files/upload' && r.multipart?.files[0]?.filename === 'notes.md');
		expect(upload?.multipart?.files[0].sha256).toBe(createHash('sha256').update(notes).digest('hex'));
		const [body] = runBodies();
		expect((body.inputs as IDataObject).doc).toEqual({ type: 'document', transfer_method: 'local_file', upload_file_id: expect.any(String) });
		expect(body.files).toEqual([{ type: 'image', transfer_method: 'local_file', upload_file_id: expect.any(String) }]);
	});

	it('outside combined mode, reads no binary from the JSON, however it looks', async () => {
		const forged = { mimeType: 'text/plain', fileName: 'secret.txt', id: 'filesystem-v2:workflows/1/executions/1/binary_data/x' };
		const result = await run({ inputMode: 'json', inputs: '{"topic": "x", "doc": "_files.data"}' }, { items: [{ _files: { data: forged } }] });
		expect(result.error?.message).toBe('No binary field "_files.data" on the item for a file input');
		expect(standin().requests.filter((r) => r.path === '/v1/files/upload')).toHaveLength(0);
	});

	it('names a binary field that is not there', async () => {
		const result = await run({ inputMode: 'json', inputs: '{"topic": "x", "doc": "attachment"}' });
		expect(result.error?.message).toBe('No binary field "attachment" on the item for a file input');
		expect(runBodies()).toHaveLength(0);
	});
});

describe('with Validate Inputs off', () => {
	it('still uploads a binary named in a file input, instead of sending its name as text', async () => {
		const result = await run(
			{ inputMode: 'json', inputs: '{"topic": "x", "doc": "data"}', options: { validateInputs: false } },
			{ binaries: [{ property: 'data', fileName: 'terms.pdf', mimeType: 'application/pdf', text: '%PDF-1.4' }] },
		);
		expect(result.error).toBeUndefined();
		expect(runBodies()[0].inputs).toEqual({
			topic: 'x',
			doc: { type: 'document', transfer_method: 'local_file', upload_file_id: expect.any(String) },
		});
	});

	it('leaves unknown keys and missing required inputs unchecked', async () => {
		await run({ inputMode: 'json', inputs: '{"topic": "x", "tpoic": "y"}', options: { validateInputs: false } });
		expect(runBodies()[0].inputs).toEqual({ topic: 'x', tpoic: 'y' });
	});
});

describe('a failed read of the app form', () => {
	it('is not remembered: the next item reads the form again and runs', async () => {
		standin().failNext({ path: '/v1/parameters' }, { status: 400, json: { code: 'bad_request', message: 'Form unavailable', status: 400 } });
		const result = await runDifyNode({
			parameters: { resource: 'workflow', operation: 'run', inputMode: 'json', inputs: '={{ { "topic": $json.topic } }}', user: 'u', responseMode: 'blocking' } as never,
			baseUrl: standin().url,
			apiKey: standin().apiKey,
			items: [{ topic: 'a' }, { topic: 'b' }],
			continueOnFail: true,
		});
		expect(result.items.map((item) => [item.pairedItem, item.json.error ?? item.json.status])).toEqual([
			[{ item: 0 }, 'Form unavailable'],
			[{ item: 1 }, 'succeeded'],
		]);
		expect(standin().requests.filter((r) => r.path === '/v1/parameters')).toHaveLength(2);
	});
});

describe('files out', () => {
	it('downloads the files the outputs reference into binary properties, without sending the key', async () => {
		const result = await run({
			inputMode: 'json',
			inputs: '{"topic": "x", "scenario": "files"}',
			responseMode: 'streaming',
			output: 'final',
			options: { downloadFiles: true },
		});
		expect(result.error).toBeUndefined();
		const item = result.items[0];
		expect(Object.keys(item.binary ?? {}).sort()).toEqual(['charts_0', 'report']);
		expect(item.binary?.report).toMatchObject({ fileName: 'report.txt', mimeType: 'text/plain' });
		expect(item.binary?.charts_0).toMatchObject({ fileName: 'chart.png', mimeType: 'image/png' });
		const report = await result.engine.binaryBuffer(item, 'report');
		expect(report.toString('utf8')).toBe('Mount Fuji report: 3,776 m. 富士山\n');
		const downloads = standin().requests.filter((r) => r.path.startsWith('/files/'));
		expect(downloads).toHaveLength(2);
		expect(downloads.every((r) => r.headers.authorization === undefined)).toBe(true);
	});

	it('leaves the files alone unless asked', async () => {
		const result = await run({ inputMode: 'json', inputs: '{"topic": "x", "scenario": "files"}' });
		expect(result.items[0].binary).toBeUndefined();
		expect(standin().requests.filter((r) => r.path.startsWith('/files/'))).toHaveLength(0);
	});
});

const TOOL_TYPE = 'n8n-nodes-dify-workflow.difyWorkflowTool';
const toolDescriptions = (parameters: IDataObject = {}) =>
	new DifyWorkflow().methods.loadOptions.getToolDescriptions.call(editorContext(TOOL_TYPE, parameters) as never);

describe('AI Agent tool', () => {
	it('offers a tool description written from the app: its description and its inputs', async () => {
		const [option, ...others] = await toolDescriptions();
		expect(option.value).toMatch(/^Answers a question about a topic\. A Dify stand-in for tests and demos\. /);
		expect(option.value).toContain('"topic" (Topic; text, required)');
		expect(option.value).toMatch(/"scenario" \(Scenario; one of "llm", "fail"/);
		expect(option.name).toMatch(/^From the app "Stand-in Workflow": /);
		expect(others).toEqual([]);
	});

	it('keeps a description saved from an earlier form of the app valid', async () => {
		const saved = 'Answers a question about a topic. Give its inputs as {"topic": text}.';
		const options = await toolDescriptions({ descriptionSource: 'app', toolDescription: saved });
		expect(options.map((option) => option.value)).toContain(saved);
		expect(options[0].value).not.toBe(saved);
		const fromApp = toolDescriptionProperties().find((p) => p.type === 'options');
		expect(fromApp?.allowArbitraryValues).toBe(true);
	});

	it('lets the description be picked from the app, or written and edited as plain text', () => {
		const [fromApp, custom] = toolDescriptionProperties();
		const source = new DifyWorkflow().description.properties.find((p) => p.name === 'descriptionSource');
		expect(source?.options?.map((option) => (option as { value: string }).value)).toEqual(['app', 'custom']);
		expect(fromApp).toMatchObject({ type: 'options', displayName: 'Description' });
		expect(fromApp.displayOptions).toEqual({ show: { '@tool': [true], descriptionSource: ['app'] } });
		expect(custom).toMatchObject({ type: 'string', displayName: 'Description', typeOptions: { rows: 4 } });
		expect(custom.displayOptions).toEqual({ show: { '@tool': [true], descriptionSource: ['custom'] } });
		for (const property of [fromApp, custom]) {
			expect(property.displayName).not.toMatch(/Name or ID/);
			expect(property.description ?? '').not.toMatch(/specify an ID/);
		}
		expect(new DifyWorkflow().description.usableAsTool).toBe(true);
	});

	it('the example agent tool keeps the description the app writes now, and n8n gives it to the agent', async () => {
		const example = JSON.parse(readFileSync(join(__dirname, '../../examples/ai-agent-tool.json'), 'utf8')) as {
			nodes: Array<{ type: string; parameters: IDataObject }>;
		};
		const toolNode = example.nodes.find((node) => node.type === TOOL_TYPE)!;
		expect(toolNode.parameters.descriptionSource).toBe('app');
		const [fromApp] = await toolDescriptions(toolNode.parameters);
		expect(toolNode.parameters.toolDescription).toBe(fromApp.value);
		const nodeType = { description: new DifyWorkflow().description } as never;
		expect(NodeHelpers.getToolDescriptionForNode({ parameters: toolNode.parameters } as never, nodeType)).toBe(fromApp.value);
	});
});

function toolDescriptionProperties(): INodeProperties[] {
	return new DifyWorkflow().description.properties.filter((p) => p.name === 'toolDescription');
}
