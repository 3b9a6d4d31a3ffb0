import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INodeProperties, INodePropertyCollection, INodePropertyOptions } from 'n8n-workflow';

import { DifyWorkflow } from '../../nodes/DifyWorkflow/DifyWorkflow.node';
import { DifyWorkflowTrigger } from '../../nodes/DifyWorkflowTrigger/DifyWorkflowTrigger.node';

const root = join(__dirname, '../..');

/** The texts a user reads: the README, docs/, the changelog, and the examples' sticky notes. */
function readerTexts(): Array<[string, string]> {
	const texts: Array<[string, string]> = [['README.md', readFileSync(join(root, 'README.md'), 'utf8')]];
	texts.push(['CHANGELOG.md', readFileSync(join(root, 'CHANGELOG.md'), 'utf8')]);
	for (const name of readdirSync(join(root, 'docs')).filter((file) => file.endsWith('.md'))) {
		texts.push([`docs/${name}`, readFileSync(join(root, 'docs', name), 'utf8')]);
	}
	for (const name of readdirSync(join(root, 'examples')).filter((file) => file.endsWith('.json'))) {
		const workflow = JSON.parse(readFileSync(join(root, 'examples', name), 'utf8')) as {
			nodes: Array<{ parameters: { content?: unknown } }>;
		};
		const notes = workflow.nodes.map((node) => node.parameters.content).filter((content) => typeof content === 'string');
		texts.push([`examples/${name}`, notes.join('\n')]);
	}
	return texts;
}

/** Every options parameter of both nodes, nested ones included: display name → the names it offers. */
function offeredOptions(): Map<string, string[]> {
	const offered = new Map<string, string[]>();
	const visit = (properties: Array<INodeProperties | INodePropertyOptions | INodePropertyCollection>) => {
		for (const property of properties) {
			if ('type' in property && property.type === 'options' && property.options) {
				const names = (property.options as INodePropertyOptions[]).map((option) => option.name);
				offered.set(property.displayName, [...(offered.get(property.displayName) ?? []), ...names]);
			} else if ('options' in property && Array.isArray(property.options)) {
				visit(property.options);
			} else if ('values' in property && Array.isArray(property.values)) {
				visit(property.values);
			}
		}
	};
	visit(new DifyWorkflow().description.properties);
	visit(new DifyWorkflowTrigger().description.properties);
	return offered;
}

/**
 * "*Parameter: Option*" and "*Parameter* *Option*" in Markdown: the italic spans, bold set aside,
 * read as [parameter, option] with line breaks folded.
 */
function italicQuotes(markdown: string): Array<[string, string]> {
	const plain = markdown.replace(/\*\*/g, '\u0000');
	const spans = [...plain.matchAll(/\*([^*\u0000]+)\*/g)].map((match) => ({
		text: match[1].replace(/\s+/g, ' ').trim(),
		start: match.index,
		end: match.index + match[0].length,
	}));
	const pairs: Array<[string, string]> = [];
	spans.forEach((span, index) => {
		const colon = span.text.indexOf(': ');
		if (colon > 0) pairs.push([span.text.slice(0, colon), span.text.slice(colon + 2)]);
		const next = spans[index + 1];
		if (next && /^\s+$/.test(plain.slice(span.end, next.start))) pairs.push([span.text, next.text]);
	});
	return pairs;
}

// A reader looks for the option the docs name in the editor's dropdown, letter for letter.
describe('options, as the docs and examples quote them ("*Parameter: Option*")', () => {
	const offered = offeredOptions();
	const quoted = readerTexts().flatMap(([file, text]) =>
		italicQuotes(text)
			.filter(([parameter]) => offered.has(parameter))
			.map(([parameter, name]) => [file, parameter, name] as const),
	);

	it('reads both forms of quote, bold text set aside', () => {
		expect(italicQuotes('**Run** with *Output*\n*Each Event*, then **Submit Form** (*Answer From: a\nb*)')).toEqual([
			['Output', 'Each Event'],
			['Answer From', 'a b'],
		]);
	});

	it('are quoted somewhere, Answer From among them', () => {
		expect(quoted.map(([, parameter]) => parameter)).toContain('Answer From');
	});

	it.each(quoted)('%s: %s offers "%s"', (_file, parameter, name) => {
		expect(offered.get(parameter)).toContain(name);
	});
});
