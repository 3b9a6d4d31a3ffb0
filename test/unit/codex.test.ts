import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';

interface Codex {
	node: string;
	categories: string[];
	subcategories?: Record<string, string[]>;
	alias?: string[];
	resources: { primaryDocumentation: Array<{ url: string }>; credentialDocumentation?: Array<{ url: string }> };
}

const codex = JSON.parse(
	readFileSync(join(__dirname, '../../nodes/DifyWorkflow/DifyWorkflow.node.json'), 'utf8'),
) as Codex;
const description = new DifyWorkflow().description;

/**
 * n8n's node creator (2.41 and 1.123 alike) drops a node of the AI category from the search of
 * every panel but the AI one (the trigger step, "+", a connection's end) unless its AI
 * subcategories include "Root Nodes".
 */
function shownOutsideTheAiPanel(node: Pick<Codex, 'categories' | 'subcategories'>): boolean {
	if (!node.categories.includes('AI')) return true;
	return node.subcategories?.AI?.includes('Root Nodes') === true;
}

/** n8n's search matches the words typed against the display name and the codex aliases. */
function matches(query: string): boolean {
	const words = [description.displayName, ...(codex.alias ?? [])].map((text) => text.toLowerCase());
	return words.some((text) => text.includes(query.toLowerCase()));
}

describe('the codex: where users find the node', () => {
	it('is searchable from every panel that adds a node', () => {
		expect(shownOutsideTheAiPanel(codex)).toBe(true);
		// What the rule above encodes: the codex the node had when "Dify" found nothing.
		expect(shownOutsideTheAiPanel({ categories: ['AI', 'Development'], subcategories: { AI: ['Agents', 'Miscellaneous'] } })).toBe(false);
	});

	it('is found by "Dify", "Dify Workflow" and "workflow"', () => {
		for (const query of ['Dify', 'Dify Workflow', 'workflow', 'dify']) expect(matches(query)).toBe(true);
	});

	it('stays in the AI panel and usable as an AI Agent tool', () => {
		expect(codex.categories).toContain('AI');
		// n8n lists a node whose AI subcategories include "Tools" without its actions.
		expect(codex.subcategories?.AI).not.toContain('Tools');
		expect(description.usableAsTool).toBe(true);
	});

	it('names its own node type', () => {
		expect(codex.node).toBe('n8n-nodes-dify-workflow.difyWorkflow');
	});

	// n8n appends "?utm_…" to documentation URLs: a fragment would swallow it.
	it('links documentation n8n can extend with a query', () => {
		const urls = [...codex.resources.primaryDocumentation, ...(codex.resources.credentialDocumentation ?? [])];
		for (const { url } of urls) {
			expect(url).toMatch(/^https:\/\//);
			expect(url).not.toContain('#');
			expect(url).not.toContain('?');
		}
	});
});
