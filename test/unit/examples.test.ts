import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const folder = join(__dirname, '../../examples');
const examples = readdirSync(folder).filter((name) => name.endsWith('.json'));

/** Every string of a workflow that n8n would treat as an expression (it starts with "="), by its path. */
function expressions(value: unknown, path: string, found: Array<[string, string]>): Array<[string, string]> {
	if (typeof value === 'string' && value.startsWith('=')) found.push([path, value]);
	else if (Array.isArray(value)) value.forEach((entry, index) => expressions(entry, `${path}[${index}]`, found));
	else if (value && typeof value === 'object') {
		for (const [key, entry] of Object.entries(value)) expressions(entry, `${path}.${key}`, found);
	}
	return found;
}

describe('the examples', () => {
	it('exist', () => {
		expect(examples.length).toBeGreaterThan(0);
	});

	// n8n shows an expression in its expression editor; a plain value is easier to read and edit.
	it.each(examples)('%s stores plain values as plain values, not as expressions', (name) => {
		const workflow = JSON.parse(readFileSync(join(folder, name), 'utf8')) as { nodes: Array<{ name: string; parameters: unknown }> };
		const needless = workflow.nodes.flatMap((node) =>
			expressions(node.parameters, node.name, []).filter(([, text]) => !text.includes('{{')),
		);
		expect(needless).toEqual([]);
	});

	// An example runs as shipped only against the stand-in; one imported into a real n8n must say so.
	it.each(examples)('%s says in a sticky note what it needs and what to change for a real Dify app', (name) => {
		const workflow = JSON.parse(readFileSync(join(folder, name), 'utf8')) as {
			nodes: Array<{ type: string; parameters: { content?: string } }>;
		};
		const notes = workflow.nodes.filter((node) => node.type === 'n8n-nodes-base.stickyNote').map((node) => node.parameters.content ?? '');
		expect(notes).toHaveLength(1);
		expect(notes[0]).toMatch(/\*\*Needs\*\* /);
		expect(notes[0]).toMatch(/Dify stand-in/);
		expect(notes[0]).toMatch(/\*\*Against your own Dify app\*\*: .*credential/);
	});
});
