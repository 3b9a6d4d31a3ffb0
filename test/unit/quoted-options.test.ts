import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INodePropertyOptions } from 'n8n-workflow';

import { description as submitForm } from '../../nodes/DifyWorkflow/actions/humanInput/submitForm.operation';

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

// A reader looks for the option the docs name in the editor's dropdown, letter for letter.
describe('Answer From, as the docs and examples quote it', () => {
	const answerFrom = submitForm.find((property) => property.name === 'answerFrom');
	const offered = (answerFrom?.options as INodePropertyOptions[]).map((option) => option.name);
	// "*Answer From: X*" or "*Answer From* *X*"
	const quoted = readerTexts().flatMap(([file, text]) =>
		[...text.matchAll(/\*Answer From(?::\s*|\*\s*\*)([^*]+)\*/g)].map((match) => [file, match[1].replace(/\s+/g, ' ').trim()] as const),
	);

	it('is quoted somewhere', () => {
		expect(quoted.length).toBeGreaterThan(0);
	});

	it.each(quoted)('%s names an option the editor offers: %s', (_file, name) => {
		expect(offered).toContain(name);
	});
});
