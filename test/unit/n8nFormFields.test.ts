import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { IBinaryData, INode } from 'n8n-workflow';
import { tryToParseJsonToFormFields } from 'n8n-workflow';

import { mapN8nAnswer } from '../../nodes/DifyWorkflow/helpers/n8nFormAnswer';
import { planN8nForm, withN8nForm } from '../../nodes/DifyWorkflow/helpers/n8nFormFields';
import type { HumanInputFormShape } from '../../nodes/DifyWorkflow/helpers/n8nFormFields';

/** The §12.3 example of a 1.15+ form: a paragraph, a select, a file and a file list, two actions. */
const FULL: HumanInputFormShape = {
	form_content: '## 下書きの確認\n\n富士山は **日本一** 高い山です。<script>x</script>\n\n- one\n- two\n\n{{#$output.note#}}',
	inputs: [
		{ output_variable_name: 'note', type: 'paragraph', default: { type: 'variable', selector: ['1', 'text'], value: '' } },
		{ output_variable_name: 'priority', type: 'select', option_source: { type: 'constant', selector: [], value: ['高', '中', '低'] } },
		{ output_variable_name: 'evidence', type: 'file', allowed_file_types: ['document'], allowed_file_extensions: [], allowed_file_upload_methods: ['local_file', 'remote_url'] },
		{ output_variable_name: 'photos', type: 'file-list', allowed_file_types: ['image'], allowed_file_extensions: [], allowed_file_upload_methods: ['local_file'], number_limits: 3 },
	],
	resolved_default_values: { note: 'a <b> default' },
	user_actions: [
		{ id: 'approve', title: '承認', button_style: 'primary' },
		{ id: 'reject', title: '差し戻し', button_style: 'default' },
	],
};

/** Names that would clash as labels or as binary names, duplicate titles, a 1.14 text input, a link-only file. */
const AWKWARD: HumanInputFormShape = {
	form_content: '',
	inputs: [
		{ output_variable_name: 'decision', type: 'text_input', default: { type: 'constant', value: 'fixed' } },
		{ output_variable_name: 'review_note', type: 'paragraph', default: null },
		{ output_variable_name: 'reviewNote', type: 'paragraph', default: null },
		{ output_variable_name: 'link', type: 'file', allowed_file_types: ['custom'], allowed_file_extensions: ['.CSV'], allowed_file_upload_methods: ['remote_url'] },
	],
	resolved_default_values: {},
	actions: [
		{ id: 'a', title: 'OK' },
		{ id: 'b', title: 'OK' },
		{ id: 'c', title: '' },
	],
};

const EMPTY: HumanInputFormShape = { form_content: 'Just confirm.', inputs: [], actions: [{ id: 'go', title: 'Go' }] };

type Validator = (value: string) => unknown[];
const validators: Array<[string, Validator]> = [['n8n-workflow of this project', tryToParseJsonToFormFields as Validator]];
// n8n 1.x's validator differs (fewer keys); it is checked where the shared n8n installs are.
const cache = process.env.N8N_CACHE_DIR ?? '/root/.cache/n8n-nodes-dify-workflow/n8n';
for (const version of ['1.123.81', '2.41.1']) {
	const module = join(cache, `n8n-${version}`, 'node_modules', 'n8n-workflow');
	if (existsSync(join(module, 'package.json'))) {
		validators.push([`n8n-workflow of n8n ${version}`, (require(module) as { tryToParseJsonToFormFields: Validator }).tryToParseJsonToFormFields]);
	}
}

describe('n8n_form_fields', () => {
	it.each(validators)('every generated field set passes %s', (_, validate) => {
		for (const form of [FULL, AWKWARD, EMPTY, {}]) {
			const fields = withN8nForm(form).n8n_form_fields;
			expect(validate(JSON.stringify(fields))).toHaveLength(fields.length);
		}
	});

	it('each input is one field with its label, default, options and file kind; the actions one required choice', () => {
		const { fields } = planN8nForm(FULL);
		expect(fields.map((field) => [field.fieldType, field.fieldLabel])).toEqual([
			['html', undefined],
			['textarea', 'Note'],
			['dropdown', 'Priority'],
			['file', 'Evidence'],
			['file', 'Photos'],
			['radio', 'Decision'],
		]);
		expect(fields[1]).toMatchObject({ defaultValue: 'a <b> default', requiredField: true });
		expect(fields[2].fieldOptions).toEqual({ values: [{ option: '高' }, { option: '中' }, { option: '低' }] });
		expect(fields[3].multipleFiles).toBeUndefined();
		expect(fields[3].acceptFileTypes).toContain('.pdf');
		expect(fields[4]).toMatchObject({ multipleFiles: true, requiredField: true });
		expect(fields[4].acceptFileTypes).toContain('.png');
		expect(fields[5]).toEqual({ fieldLabel: 'Decision', fieldType: 'radio', requiredField: true, fieldOptions: { values: [{ option: '承認' }, { option: '差し戻し' }] } });
	});

	it('form_content reads as text: Markdown rendered, HTML escaped, placeholders name the field', () => {
		const { fields, message } = planN8nForm(FULL);
		const html = String(fields[0].html);
		expect(html).toContain('<h3>下書きの確認</h3>');
		expect(html).toContain('<strong>日本一</strong>');
		expect(html).toContain('&lt;script&gt;');
		expect(html).toContain('<ul><li>one</li><li>two</li></ul>');
		expect(html).toContain('“Note” below');
		expect(html).not.toContain('{{#');
		expect(message).toBe('下書きの確認\n\n富士山は 日本一 高い山です。<script>x</script>\n\n- one\n- two\n\n(your answer: “Note” in the form)');
	});

	it('labels stay unique, also as binary names; duplicate titles stay apart', () => {
		const plan = planN8nForm(AWKWARD);
		const labels = plan.fields.map((field) => field.fieldLabel).filter(Boolean);
		expect(labels).toEqual(['Decision (2)', 'Review note', 'Review note (2)', 'Link', 'Decision']);
		expect(new Set(labels.map((label) => String(label).replace(/\W/g, '_'))).size).toBe(labels.length);
		expect(plan.fields[0]).toMatchObject({ fieldType: 'text', defaultValue: 'fixed' });
		expect(plan.fields[3]).toMatchObject({ fieldType: 'text', placeholder: 'https://…' });
		expect(plan.inputs[3]).toMatchObject({ kind: 'file-url', fileTypes: ['custom'], extensions: ['csv'] });
		expect([...plan.actionIds]).toEqual([['OK', 'a'], ['OK (b)', 'b'], ['c', 'c']]);
	});

	it('an empty form still asks for the action, with no html block for no content', () => {
		expect(planN8nForm({ inputs: [], actions: [{ id: 'go', title: 'Go' }] }).fields).toEqual([
			{ fieldLabel: 'Decision', fieldType: 'radio', requiredField: true, fieldOptions: { values: [{ option: 'Go' }] } },
		]);
	});
});

describe('an n8n answer read back into Dify terms', () => {
	const node = { id: 'n', name: 'Submit Form', type: 'n8n-nodes-dify-workflow.difyWorkflow', typeVersion: 1, position: [0, 0], parameters: {} } as INode;
	const binary = (fileName: string, mimeType: string): IBinaryData => ({ data: '', mimeType, fileName });
	const plan = planN8nForm(FULL);
	const answer = { Note: 'a &lt;b&gt; note', Priority: '中', Decision: ['差し戻し'] };
	const files = { Evidence: binary('a.pdf', 'application/pdf'), Photos_0: binary('p.png', 'image/png'), Photos_1: binary('q.jpg', 'image/jpeg') };

	it('maps labels to names, the title to its id, and finds each file by its label', () => {
		expect(mapN8nAnswer(node, 0, plan, answer, files)).toEqual({
			inputs: { note: 'a <b> note', priority: '中' },
			action: 'reject',
			files: [
				{ name: 'evidence', list: false, sources: ['Evidence'] },
				{ name: 'photos', list: true, sources: ['Photos_0', 'Photos_1'] },
			],
		});
	});

	it("finds the files inside the answer in n8n 2.x's combined binary mode, and only real binary objects", () => {
		const inside = { ...answer, Evidence: { ...files.Evidence, id: 'filesystem-v2:1' }, Photos: [files.Photos_0, files.Photos_1] };
		expect(mapN8nAnswer(node, 0, plan, inside as never, undefined, true).files).toEqual([
			{ name: 'evidence', list: false, sources: [inside.Evidence] },
			{ name: 'photos', list: true, sources: [files.Photos_0, files.Photos_1] },
		]);
		// Separate mode's metadata ({filename, mimetype, size}) is no file without its binary.
		const metadata = { ...inside, Evidence: { filename: 'a.pdf', mimetype: 'application/pdf', size: 3 } };
		expect(() => mapN8nAnswer(node, 0, plan, metadata as never, undefined, true)).toThrow(/no value for "Evidence"/);
		expect(() => mapN8nAnswer(node, 0, plan, { ...inside, Photos: [binary('x.exe', 'application/x-msdownload')] } as never, undefined, true)).toThrow(/"x.exe" given for "Photos"/);
		// Outside combined mode a binary-looking object in the answer is data, never read as a file.
		expect(() => mapN8nAnswer(node, 0, plan, inside as never, undefined)).toThrow(/no value for "Evidence"/);
	});

	it.each<[string, Record<string, IBinaryData>, RegExp]>([
		['more files than the list takes', { ...files, Photos_2: binary('r.png', 'image/png'), Photos_3: binary('s.png', 'image/png') }, /"Photos" takes at most 3 files, and the answer has 4/],
		['two files for one', { ...files, Evidence_0: binary('b.pdf', 'application/pdf') }, /"Evidence" takes one file, and the answer has 2/],
		['an image where documents go', { ...files, Evidence: binary('x.png', 'image/png') }, /"x.png" given for "Evidence" is not a type the form takes \(document\)/],
	])('%s is an error naming the field', (_, given, message) => {
		expect(() => mapN8nAnswer(node, 0, plan, answer, given)).toThrow(message);
	});

	it('a link-only file input takes a link of an allowed type', () => {
		const awkward = planN8nForm(AWKWARD);
		const base = { 'Decision (2)': 'x', 'Review note': 'a', 'Review note (2)': 'b', Decision: 'OK (b)' };
		expect(mapN8nAnswer(node, 0, awkward, { ...base, Link: 'https://example.com/t.csv' }, undefined)).toMatchObject({
			inputs: { link: { type: 'document', transfer_method: 'remote_url', url: 'https://example.com/t.csv' } },
			action: 'b',
		});
		expect(() => mapN8nAnswer(node, 0, awkward, { ...base, Link: 'https://example.com/t.exe' }, undefined)).toThrow(/not a type the form takes \(\.csv\)/);
		expect(() => mapN8nAnswer(node, 0, awkward, { ...base, Link: 'not a link' }, undefined)).toThrow(/"Link" is not a link/);
	});
});
