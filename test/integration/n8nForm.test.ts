import type { IDataObject, INodeParameters, IWorkflowSettings } from 'n8n-workflow';
import { tryToParseJsonToFormFields } from 'n8n-workflow';

import { DifyApi } from '../../credentials/DifyApi.credentials';
import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';
import type { TestBinary } from '../engine/nodes/TestItems.node';
import { TEST_ITEMS_TYPE, TestItems, testItemsNode } from '../engine/nodes/TestItems.node';
import type { EngineNode } from '../engine/run-workflow';
import { chain, runWorkflow } from '../engine/run-workflow';
import { captureOutput } from '../reliability/capture';
import type { DifyStandin } from '../standin/server';
import { startDifyStandin } from '../standin/server';
import { runDifyNode } from './dify-node';
import { runParameters, watchParameters } from './node-parameters';

/**
 * Dify's Human Input form as an n8n form, and the answer n8n's Send and Wait or Form node gives
 * back: the paused item's `n8n_form_fields`, Get Form's, and Submit Form's "n8n Form" mode in
 * workflows where the answer sits after the paused Run, against the stand-in's Review form with a
 * paragraph, a select and a document file and two actions.
 */

const output = captureOutput();
let standin: DifyStandin;
/** The stand-in whose Review form asks one paragraph, as the rest of the suite knows it. */
let simple: DifyStandin;

beforeAll(async () => {
	standin = await startDifyStandin({ reviewForm: 'full' });
	simple = await startDifyStandin({});
});
afterAll(async () => {
	await Promise.all([standin.close(), simple.close()]);
});
beforeEach(() => standin.reset());

const FULL = { topic: '富士山', scenario: 'paused' };
const DIFY = 'n8n-nodes-dify-workflow.difyWorkflow';
const credentials = { difyApi: { id: 'cred-1', name: 'Dify stand-in' } };

function dify(name: string, parameters: IDataObject): EngineNode {
	return { name, type: DIFY, typeVersion: 1, parameters: parameters as INodeParameters, credentials, onError: 'continueRegularOutput' };
}

const submitN8nForm = { resource: 'humanInput', operation: 'submitForm', answerFrom: 'n8nForm', user: 'reviewer-7' };

/**
 * Start → Run (pauses) → Answer (what Send and Wait or the Form node outputs) → Submit Form, in
 * n8n's engine; each Dify node continues on fail, so an error is an item.
 */
async function answerWorkflow(answer: IDataObject, binaries: TestBinary[] = [], target = standin, settings: IWorkflowSettings = {}) {
	const engine = await runWorkflow({
		nodes: [
			testItemsNode('Start', [{}]),
			dify('Run', runParameters(FULL)),
			testItemsNode('Answer', [answer], binaries),
			dify('Submit Form', submitN8nForm),
		],
		connections: chain('Start', 'Run', 'Answer', 'Submit Form'),
		nodeTypes: { [TEST_ITEMS_TYPE]: new TestItems(), [DIFY]: new DifyWorkflow() },
		credentialTypes: { difyApi: new DifyApi() },
		credentials: { difyApi: { 'cred-1': { baseUrl: target.url, apiKey: target.apiKey } } },
		binaryMode: 'filesystem',
		settings,
	});
	const paused = engine.outputOf('Run')[0].json;
	const [submitted] = engine.outputOf('Submit Form');
	return { paused, submitted, forms: paused.human_input_forms as IDataObject[] };
}

function formPosts(target = standin): IDataObject[] {
	return target.requests.filter((request) => request.method === 'POST' && request.path.startsWith('/v1/form/')).map((request) => request.json as IDataObject);
}

function uploads(): number {
	return standin.requests.filter((request) => request.path === '/v1/files/upload').length;
}

const EVIDENCE: TestBinary = { property: 'Evidence', fileName: 'notes.pdf', mimeType: 'application/pdf', text: '%PDF-1.4 notes' };

describe('n8n_form_fields on paused items and Get Form', () => {
	it('streaming and blocking Run and Get Form give the same fields, which n8n accepts', async () => {
		const fieldSets: unknown[] = [];
		for (const responseMode of ['streaming', 'blocking']) {
			const run = await runDifyNode({ parameters: runParameters(FULL, { responseMode }), baseUrl: standin.url, apiKey: standin.apiKey });
			const [form] = run.items[0].json.human_input_forms as IDataObject[];
			fieldSets.push(form.n8n_form_fields);
			expect(String(form.n8n_form_message)).toContain('Please check the draft about 富士山.');
			const got = await runDifyNode({
				parameters: { resource: 'humanInput', operation: 'getForm', formToken: String(form.form_token) },
				baseUrl: standin.url,
				apiKey: standin.apiKey,
			});
			fieldSets.push(got.items[0].json.n8n_form_fields);
		}
		expect(fieldSets[1]).toEqual(fieldSets[0]);
		expect(fieldSets[2]).toEqual(fieldSets[0]);
		expect(fieldSets[3]).toEqual(fieldSets[0]);
		const fields = fieldSets[0] as IDataObject[];
		expect(tryToParseJsonToFormFields(JSON.stringify(fields))).toHaveLength(4 + 1);
		expect(fields.map((field) => field.fieldLabel)).toEqual([undefined, 'Feedback', 'Priority', 'Evidence', 'Decision']);
		expect(fields[0].html).toContain('<strong>富士山</strong>');
		expect(fields[0].html).toContain('“Feedback” below');
		expect(fields[1]).toMatchObject({ fieldType: 'textarea', defaultValue: 'Draft <v1> about 富士山', requiredField: true });
		expect(fields[2]).toMatchObject({ fieldType: 'dropdown', fieldOptions: { values: [{ option: 'High' }, { option: 'Medium' }, { option: 'Low' }] } });
		expect(fields[3]).toMatchObject({ fieldType: 'file', requiredField: true });
		expect(fields[4]).toMatchObject({ fieldType: 'radio', fieldOptions: { values: [{ option: 'Approve' }, { option: 'Reject' }] } });
	});
});

describe('Submit Form with Answer From n8n Form', () => {
	it("takes Send and Wait's answer as it stands: labels, the action title, escaped text and the file go back in Dify's terms", async () => {
		const { paused, submitted, forms } = await answerWorkflow(
			{ data: { Feedback: 'Draft &lt;v1&gt; is fine', Priority: 'High', Evidence: { filename: 'notes.pdf', mimetype: 'application/pdf', size: 14 }, Decision: 'Reject' } },
			[EVIDENCE],
		);
		expect(submitted.json.error).toBeUndefined();
		const [post] = formPosts();
		expect(post).toEqual({
			inputs: {
				feedback: 'Draft <v1> is fine',
				priority: 'High',
				evidence: { type: 'document', transfer_method: 'local_file', upload_file_id: expect.any(String) },
			},
			action: 'reject',
			user: 'reviewer-7',
		});
		expect(uploads()).toBe(1);
		expect(submitted.json).toMatchObject({ form_token: forms[0].form_token, action: 'reject', workflow_run_id: paused.workflow_run_id });

		const watched = await runDifyNode({ parameters: watchParameters(String(submitted.json.workflow_run_id)), baseUrl: standin.url, apiKey: standin.apiKey });
		expect(watched.items[0].json).toMatchObject({
			status: 'succeeded',
			outputs: { decision: 'reject', feedback: 'Draft <v1> is fine', priority: 'High', evidence: (post.inputs as IDataObject).evidence },
		});
	});

	it("takes the Form node's item (answers at the top, a radio choice as a list)", async () => {
		const { submitted } = await answerWorkflow(
			{ Feedback: 'ok', Priority: 'Low', Evidence: { filename: 'notes.pdf' }, Decision: ['Approve'], submittedAt: '2026-01-01T00:00:00Z', formMode: 'production' },
			[EVIDENCE],
		);
		expect(submitted.json.error).toBeUndefined();
		expect(formPosts()[0]).toMatchObject({ inputs: { feedback: 'ok', priority: 'Low' }, action: 'approve' });
	});

	const ANSWER = { Feedback: 'ok', Priority: 'High', Decision: 'Approve' };
	it.each<[string, IDataObject, TestBinary[], RegExp]>([
		['an empty required text', { ...ANSWER, Feedback: '  ' }, [EVIDENCE], /no value for "Feedback"/],
		['a missing select', { Feedback: 'ok', Decision: 'Approve' }, [EVIDENCE], /no value for "Priority"/],
		['an option the form does not offer', { ...ANSWER, Priority: 'Urgent' }, [EVIDENCE], /"Priority" is not one of its options: "Urgent"/],
		['no file', ANSWER, [], /no value for "Evidence"/],
		['a file of a type the form does not take', ANSWER, [{ ...EVIDENCE, fileName: 'photo.png', mimeType: 'image/png' }], /"photo.png" given for "Evidence" is not a type the form takes \(document\)/],
		['no action', { Feedback: 'ok', Priority: 'High' }, [EVIDENCE], /no value for "Decision"/],
		['an unknown action', { ...ANSWER, Decision: 'Maybe' }, [EVIDENCE], /"Decision" is not one of the form's actions: "Maybe"/],
	])('%s is an error item naming the field, and nothing reaches Dify', async (_, answer, binaries, message) => {
		const { submitted } = await answerWorkflow({ data: answer }, binaries);
		expect(String(submitted.json.error)).toMatch(message);
		expect(formPosts()).toEqual([]);
		expect(uploads()).toBe(0);
	});

	describe("in n8n 2.x's combined binary mode (execution logic v2), where the file sits inside the answer", () => {
		const COMBINED: IWorkflowSettings = { executionOrder: 'v1', binaryMode: 'combined' };
		const inAnswer = (file: TestBinary, path = ['data', 'Evidence']): TestBinary => ({ ...file, jsonPath: path });

		it("uploads the file the answer holds and sends Dify's file object", async () => {
			const { submitted } = await answerWorkflow({ data: ANSWER }, [inAnswer(EVIDENCE)], standin, COMBINED);
			expect(submitted.json.error).toBeUndefined();
			const [post] = formPosts();
			expect(post.inputs).toEqual({ feedback: 'ok', priority: 'High', evidence: { type: 'document', transfer_method: 'local_file', upload_file_id: expect.any(String) } });
			const [upload] = standin.requests.filter((request) => request.path === '/v1/files/upload');
			expect(upload.multipart?.files[0]).toMatchObject({ filename: 'notes.pdf', contentType: 'application/pdf', size: EVIDENCE.text!.length });
		});

		it("takes the Form node's item, its file at the top", async () => {
			const { submitted } = await answerWorkflow({ ...ANSWER, Decision: ['Approve'] }, [inAnswer(EVIDENCE, ['Evidence'])], standin, COMBINED);
			expect(submitted.json.error).toBeUndefined();
			expect(uploads()).toBe(1);
			expect(formPosts()[0]).toMatchObject({ action: 'approve', inputs: { evidence: { transfer_method: 'local_file' } } });
		});

		it.each<[string, TestBinary[], RegExp]>([
			['a file of a type the form does not take', [inAnswer({ ...EVIDENCE, fileName: 'photo.png', mimeType: 'image/png' })], /"photo.png" given for "Evidence" is not a type the form takes/],
			['two files where the form takes one', [inAnswer(EVIDENCE), inAnswer({ ...EVIDENCE, fileName: 'more.pdf' })], /"Evidence" takes one file, and the answer has 2/],
		])('%s is an error item naming the field, and nothing reaches Dify', async (_, binaries, message) => {
			const { submitted } = await answerWorkflow({ data: ANSWER }, binaries, standin, COMBINED);
			expect(String(submitted.json.error)).toMatch(message);
			expect(formPosts()).toEqual([]);
			expect(uploads()).toBe(0);
		});

		it('outside combined mode, a binary-looking object in the answer is never read as a file', async () => {
			// Such an object came from data, and its id could name another execution's stored file.
			const { submitted } = await answerWorkflow({ data: ANSWER }, [inAnswer(EVIDENCE)], standin, { executionOrder: 'v1' });
			expect(String(submitted.json.error)).toMatch(/no value for "Evidence"/);
			expect(uploads()).toBe(0);
			expect(formPosts()).toEqual([]);
		});

		it("the separate mode's file metadata without its binary is no file", async () => {
			const { submitted } = await answerWorkflow({ data: { ...ANSWER, Evidence: { filename: 'notes.pdf', mimetype: 'application/pdf', size: 14 } } }, [], standin, COMBINED);
			expect(String(submitted.json.error)).toMatch(/no value for "Evidence"/);
			expect(uploads()).toBe(0);
		});
	});

	it('without a paused Dify item before it, says where the token comes from', async () => {
		const run = await runDifyNode({ parameters: submitN8nForm, baseUrl: standin.url, apiKey: standin.apiKey, items: [{ data: ANSWER }] });
		expect(run.error?.message).toBe('No paused Dify run before this node to send the answer to');
		expect(standin.requests).toEqual([]);
	});

	it('the API key never appears in what the node logged or output', async () => {
		const { paused, submitted } = await answerWorkflow({ data: { ...ANSWER, Priority: 'Urgent' } }, [EVIDENCE]);
		expect(JSON.stringify([paused, submitted.json])).not.toContain(standin.apiKey);
		expect(output.all()).not.toContain(standin.apiKey);
	});

	it('the simple Review form (one paragraph, 1.16) goes back the same way', async () => {
		const { submitted } = await answerWorkflow({ data: { Feedback: 'fine', Decision: 'Approve' } }, [], simple);
		expect(submitted.json.error).toBeUndefined();
		expect(formPosts(simple)).toEqual([{ inputs: { feedback: 'fine' }, action: 'approve', user: 'reviewer-7' }]);
	});
});
