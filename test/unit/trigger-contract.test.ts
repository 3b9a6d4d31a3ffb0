import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DifyWorkflowTrigger } from '../../nodes/DifyWorkflowTrigger/DifyWorkflowTrigger.node';

const codex = JSON.parse(
	readFileSync(join(__dirname, '../../nodes/DifyWorkflowTrigger/DifyWorkflowTrigger.node.json'), 'utf8'),
) as { node: string; categories: string[]; alias?: string[]; resources: { primaryDocumentation: Array<{ url: string }> } };
const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { n8n: { nodes: string[] } };
const { description } = new DifyWorkflowTrigger();

describe('Dify Workflow Trigger: the names saved workflows store', () => {
	it('keeps its class, type name, display name and polling', () => {
		expect(DifyWorkflowTrigger.name).toBe('DifyWorkflowTrigger');
		expect(description).toMatchObject({ name: 'difyWorkflowTrigger', displayName: 'Dify Workflow Trigger', polling: true, version: 1 });
		expect(description.credentials).toEqual([expect.objectContaining({ name: 'difyApi', required: true })]);
		expect(codex.node).toBe('n8n-nodes-dify-workflow.difyWorkflowTrigger');
		expect(pkg.n8n.nodes).toContain('dist/nodes/DifyWorkflowTrigger/DifyWorkflowTrigger.node.js');
	});

	it('keeps its parameter names and event values', () => {
		const names = description.properties.map((property) => property.name);
		expect(names).toEqual(['event', 'statuses', 'filters', 'options']);
		const event = description.properties[0];
		expect((event.options as Array<{ value: string }>).map((option) => option.value).sort()).toEqual(
			['runFailed', 'runFinished', 'runPaused', 'runStarted'],
		);
	});

	it('is found by "Dify" outside the AI panel, and links documentation n8n can extend', () => {
		expect(codex.categories).not.toContain('AI');
		expect([description.displayName, ...(codex.alias ?? [])].some((text) => text.toLowerCase().includes('dify'))).toBe(true);
		for (const { url } of codex.resources.primaryDocumentation) {
			expect(url).toMatch(/^https:\/\/[^#?]+$/);
		}
	});
});
