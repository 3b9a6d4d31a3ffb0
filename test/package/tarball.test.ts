import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

/**
 * What users install is the tarball, not the repository: this packs it exactly as a release does
 * (a fresh build, then npm pack) and checks every file in it against the sources it comes from.
 */

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
	name: string;
	version: string;
	main: string;
	n8n: { nodes: string[]; credentials: string[] };
};

interface PackResult {
	filename: string;
	size: number;
	unpackedSize: number;
	files: Array<{ path: string }>;
}

function walk(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
		entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
	);
}

/** The dist/ files a build must ship for the sources under nodes/ and credentials/. */
function expectedDistFiles(): string[] {
	const sources = ['nodes', 'credentials'].flatMap((top) => walk(join(ROOT, top)));
	return sources
		.map((file) => relative(ROOT, file).split(sep).join('/'))
		.flatMap((file) => {
			if (file.endsWith('.ts')) {
				const base = `dist/${file.slice(0, -'.ts'.length)}`;
				return [`${base}.js`, `${base}.js.map`, `${base}.d.ts`];
			}
			if (/\.(svg|png|json)$/.test(file)) return [`dist/${file}`];
			throw new Error(`${file}: a source of a kind this test does not know how the build ships`);
		})
		.sort();
}

describe('the packed package', () => {
	let packDir: string;
	let packed: PackResult;
	let entries: string[];

	beforeAll(() => {
		// A clean build, so files of sources that no longer exist cannot hide in dist/.
		execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'pipe' });
		packDir = mkdtempSync(join(tmpdir(), 'dify-pack-'));
		const json = execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], {
			cwd: ROOT,
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		packed = (JSON.parse(json) as PackResult[])[0];
		entries = execFileSync('tar', ['-tzf', join(packDir, packed.filename)], { encoding: 'utf8' })
			.split('\n')
			.filter((line) => line !== '')
			.map((line) => line.replace(/^package\//, ''))
			.sort();
	}, 120_000);

	afterAll(() => {
		if (packDir) rmSync(packDir, { recursive: true, force: true });
	});

	it('is named after the package and its version', () => {
		expect(pkg.name).toBe('n8n-nodes-dify-workflow');
		expect(packed.filename).toBe(`n8n-nodes-dify-workflow-${pkg.version}.tgz`);
	});

	it('holds the build of every node and credential source, the docs, the licence and nothing else', () => {
		// index.js is package.json's "main", which npm always packs; n8n never loads it.
		const topLevel = ['CHANGELOG.md', 'LICENSE', 'README.md', pkg.main, 'package.json'];
		expect(entries).toEqual([...topLevel, ...expectedDistFiles()].sort());
		expect(packed.files.map((file) => file.path).sort()).toEqual(entries);
	});

	it('has nothing of the tests, benchmarks, scripts or caches', () => {
		const stray = entries.filter((entry) =>
			/^(test|bench|scripts|examples|docs|\.cache|\.build|\.github|\.ci|node_modules)\//.test(entry) ||
			/(^|\/)(test|bench|standin)\b/i.test(entry),
		);
		expect(stray).toEqual([]);
	});

	it('holds every file n8n loads from package.json', () => {
		for (const file of [...pkg.n8n.nodes, ...pkg.n8n.credentials]) expect(entries).toContain(file);
		expect(entries).toContain('dist/nodes/DifyWorkflow/DifyWorkflow.node.json');
		expect(entries).toContain('dist/nodes/DifyWorkflow/dify.svg');
		expect(entries).toContain('dist/credentials/dify.svg');
	});

	it('ships the licence named in package.json and a changelog whose newest release is this version', () => {
		const licence = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
		expect(licence).toMatch(/^MIT License/);
		expect(licence).toContain('n8n-nodes-dify-workflow contributors');
		const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
		const newest = /^## \[(\d+\.\d+\.\d+)\]/m.exec(changelog);
		expect(newest?.[1]).toBe(pkg.version);
	});
});
