// The editor tier: the packed package installed in a real n8n as a community package, used through
// n8n's editor in Chromium as a user would, against the Dify stand-in on 127.0.0.1. Every step saves
// a screenshot; a failing step's message names its screenshot and ends with n8n's log.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { launchChromium } from '../../scripts/n8n/browser.mjs';
import { OWNER, waitForRest } from '../../scripts/n8n/rest.mjs';
import {
	createUserFolder,
	importCredentials,
	importWorkflow,
	installCommunityPackage,
	n8nInstall,
	startN8n,
} from '../../scripts/n8n/runner.mjs';
import { packedTarball } from '../../scripts/n8n/tarball.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';
import {
	canvasNode,
	chooseOption,
	chooseParameterOption,
	closeNode,
	openNode,
	openWorkflow,
	painted,
	parameterIssues,
	setUpOwner,
	stoppedMoving,
	trackParameterLoads,
} from './editor.mjs';

const require = createRequire(import.meta.url);
// Compiled by `npm run test:ui` (pack:local builds dist/ and .build/) before the tests start.
const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));
const { DifyWorkflow } = require(join(REPO_ROOT, 'dist/nodes/DifyWorkflow/DifyWorkflow.node.js'));

const PACKAGE = 'n8n-nodes-dify-workflow';
const CREDENTIAL = { id: 'DifyStandIn00001', name: 'Dify stand-in', type: 'difyApi' };
const EXAMPLES = join(REPO_ROOT, 'examples');
const FORM_WORKFLOW = join(REPO_ROOT, 'test/ui/workflows/dify-node.json');
const FORM_WORKFLOW_ID = 'difyUiNodeForm01';
const FORM_NODE = 'Dify Workflow';
const RUN_AND_CHAIN_ID = 'difyExRunChain01';
const AI_TOOL_EXAMPLE_ID = 'difyExAgentTool1';
// Parameter types whose form has no parameter-input-<name> element of its own.
const COMPOUND_TYPES = new Set(['collection', 'fixedCollection', 'notice', 'resourceMapper', 'hidden']);

function log(message) {
	process.stderr.write(`[ui] ${message}\n`);
}

function tail(text, lines = 40) {
	return text.trimEnd().split('\n').slice(-lines).join('\n');
}


/** What the node's form offers: `[{ resource, name, operations: [{ operation, name, parameters }] }]`. */
function nodeForm() {
	const { properties } = new DifyWorkflow().description;
	const shownFor = (property, resource, operation) => {
		const show = property.displayOptions?.show;
		if (property.displayOptions?.hide) return false;
		if (!show) return true;
		// Only parameters that depend on nothing but the resource and operation are always shown.
		if (Object.keys(show).some((key) => key !== 'resource' && key !== 'operation')) return false;
		return (!show.resource || show.resource.includes(resource)) && (!show.operation || show.operation.includes(operation));
	};
	const resource = properties.find((property) => property.name === 'resource');
	return resource.options.map(({ value, name }) => {
		const operationProperty = properties.find(
			(property) => property.name === 'operation' && property.displayOptions?.show?.resource?.includes(value),
		);
		return {
			resource: value,
			name,
			operations: operationProperty.options.map((operation) => ({
				operation: operation.value,
				name: operation.name,
				parameters: properties
					.filter((property) => !['resource', 'operation'].includes(property.name) && !COMPOUND_TYPES.has(property.type))
					.filter((property) => shownFor(property, value, operation.value))
					.map((property) => property.name),
			})),
		};
	});
}

async function examples() {
	const files = (await readdir(EXAMPLES)).filter((file) => file.endsWith('.json')).sort();
	return await Promise.all(
		files.map(async (file) => ({ file, workflow: JSON.parse(await readFile(join(EXAMPLES, file), 'utf8')) })),
	);
}

/** Runs the editor tier against one installed n8n major version. */
export function uiSuite(major) {
	const install = n8nInstall(major);
	const screenshots = join(REPO_ROOT, '.cache/ui-screenshots', install.version);

	describe(`n8n ${install.version}'s editor in Chromium, with the packed ${PACKAGE}`, () => {
		let ctx;
		let standin;
		let n8n;
		let browser;
		let page;
		let loads;
		const pageErrors = [];
		const suiteStarted = Date.now();
		let stepNumber = 0;
		let signedIn = false;

		/** One user-visible step: a screenshot when it ends, and on failure where to look. */
		const step = (title, run) => {
			const number = String((stepNumber += 1)).padStart(2, '0');
			const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
			const file = join(screenshots, `${number}-${slug}.png`);
			it(title, async () => {
				assert.ok(page, 'the browser did not start (see the first failure)');
				if (number !== '01') assert.ok(signedIn, 'not signed in to n8n (see the first failure)');
				const shot = async (suffix) => {
					const path = suffix ? file.replace(/\.png$/, `-${suffix}.png`) : file;
					await stoppedMoving(page).catch(() => undefined);
					await page.screenshot({ path });
					return path;
				};
				try {
					await run({ shot });
					log(`${number} ${title}: ${await shot()}`);
				} catch (error) {
					const path = await shot().catch(() => '(no screenshot: the page is gone)');
					const errors = pageErrors.length ? `\nerrors in the page:\n${pageErrors.slice(-5).join('\n')}` : '';
					error.message +=
						`\nscreenshot: ${path}${errors}` +
						`\nn8n's log (last lines):\n${tail(n8n?.output() ?? '(n8n did not start)')}`;
					throw error;
				}
			});
		};

		before(async () => {
			await rm(screenshots, { recursive: true, force: true });
			await mkdir(screenshots, { recursive: true });
			standin = await startDifyStandin({ stepDelayMs: 20 });
			ctx = await createUserFolder(install, {
				env: {
					// The editor is served over plain http on 127.0.0.1.
					N8N_SECURE_COOKIE: 'false',
					// n8n 1.x offers community nodes to the AI Agent only when told to.
					N8N_COMMUNITY_PACKAGES_ALLOW_TOOL_USAGE: 'true',
				},
			});
			const installed = await installCommunityPackage(ctx, packedTarball());
			log(`n8n ${install.version}: installed ${installed.name}@${installed.version} in ${ctx.userFolder}`);
			await importCredentials(ctx, [{ ...CREDENTIAL, data: { baseUrl: standin.url, apiKey: standin.apiKey } }]);
			for (const { file } of await examples()) await importWorkflow(ctx, join(EXAMPLES, file));
			await importWorkflow(ctx, FORM_WORKFLOW);
			n8n = await startN8n(ctx);
			// /healthz answers before the editor and its REST API are served.
			await waitForRest(n8n);
			log(`n8n ${install.version} at ${n8n.url}, Dify stand-in at ${standin.url}`);
			browser = await launchChromium();
			page = browser.page;
			page.setDefaultTimeout(30_000);
			// Leaving a workflow with unsaved changes asks the browser to confirm: the tests always leave.
			page.on('dialog', (dialog) => dialog.accept().catch(() => {}));
			page.on('pageerror', (error) => pageErrors.push(error.message));
			loads = trackParameterLoads(page);
			log(`screenshots go to ${screenshots}`);
		});

		after(async () => {
			await browser?.close();
			await n8n?.stop();
			await standin?.close();
			await ctx?.cleanup();
			log(`n8n ${install.version}: screenshots in ${screenshots}`);
			log(`n8n ${install.version} editor suite took ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
		});

		step('set up the owner account', async () => {
			await setUpOwner(page, n8n.url, OWNER);
			signedIn = true;
		});

		step('add the node by searching "Dify" in the + panel', async ({ shot }) => {
			await openWorkflow(page, n8n.url, 'new');
			// An empty workflow offers triggers first: start it by hand, then add the next step.
			await page.getByTestId('node-creator-plus-button').click();
			await page.getByTestId('node-creator-search-bar').fill('manual');
			await page.getByTestId('node-creator-item-name').filter({ hasText: /manual/i }).first().click();
			await page.getByTestId('canvas-node').first().waitFor();
			await page.keyboard.press('Escape');
			await page.getByTestId('ndv').waitFor({ state: 'hidden' });

			await page.getByTestId('node-creator-plus-button').click();
			await page.getByTestId('node-creator-search-bar').fill('Dify');
			const found = page.getByTestId('node-creator-item-name').filter({ hasText: /^Dify Workflow$/ });
			const nothing = page.getByTestId('node-creator-no-results');
			await found.or(nothing).first().waitFor();
			await shot('search');
			assert.ok(
				await found.isVisible(),
				`typing "Dify" in the node panel must list "Dify Workflow"; the panel shows:\n${await page.getByTestId('node-creator').innerText()}`,
			);
			await found.click();
			// A node with operations lists them as actions; choosing one adds the node with it.
			await page.getByTestId('node-creator').getByTestId('item-iterator-item').filter({ hasText: 'Run a workflow' }).click();
			const ndv = page.getByTestId('ndv');
			await ndv.getByTestId('node-parameters').waitFor();
			const shown = async (parameter) => await ndv.getByTestId(`parameter-input-${parameter}`).locator('input').first().inputValue();
			assert.equal(await shown('resource'), 'Workflow', 'the added node is on the chosen action');
			assert.equal(await shown('operation'), 'Run', 'the added node is on the chosen action');
			const added = page.locator(`[data-test-id="canvas-node"][data-node-type="${PACKAGE}.difyWorkflow"]`);
			assert.equal(await added.count(), 1, 'the node is on the canvas');
		});

		step('start a workflow with the trigger by searching "Dify" in the first-step panel', async ({ shot }) => {
			await openWorkflow(page, n8n.url, 'new');
			// An empty workflow's + opens the trigger panel: what the first step can be. n8n lists a
			// node and its trigger ("X" and "X Trigger") as one entry, the trigger's events as its actions.
			await page.getByTestId('node-creator-plus-button').click();
			await page.getByTestId('node-creator-search-bar').fill('Dify');
			const found = page.getByTestId('node-creator-item-name').filter({ hasText: /^Dify Workflow( Trigger)?$/ });
			const nothing = page.getByTestId('node-creator-no-results');
			await found.or(nothing).first().waitFor();
			await shot('search');
			assert.ok(
				await found.first().isVisible(),
				`typing "Dify" in the first-step panel must offer the trigger; the panel shows:\n${await page.getByTestId('node-creator').innerText()}`,
			);
			await found.first().click();
			const ndv = page.getByTestId('ndv');
			const failedEvent = page.getByTestId('node-creator').getByTestId('item-iterator-item').filter({ hasText: /Run Failed/i });
			await ndv.getByTestId('node-parameters').or(failedEvent).first().waitFor();
			let expected = 'Run Finished';
			if (await failedEvent.first().isVisible()) {
				await shot('events');
				const events = await page.getByTestId('node-creator').innerText();
				for (const name of ['Run Failed', 'Run Finished', 'Run Paused for Human Input', 'Run Started']) {
					assert.match(events, new RegExp(name, 'i'), `the trigger's events are listed; the panel shows:\n${events}`);
				}
				await failedEvent.first().click();
				expected = 'Run Failed';
			}
			await ndv.getByTestId('node-parameters').waitFor();
			const event = await ndv.getByTestId('parameter-input-event').locator('input').first().inputValue();
			assert.equal(event, expected, 'the trigger opens on the chosen event');
			const form = await ndv.getByTestId('node-parameters').innerText();
			assert.match(form, /Poll Times/, `n8n adds Poll Times to a polling trigger; the form shows:\n${form}`);
			await shot('parameters');
			await closeNode(page);
			const added = page.locator(`[data-test-id="canvas-node"][data-node-type="${PACKAGE}.difyWorkflowTrigger"]`);
			assert.equal(await added.count(), 1, 'the trigger is on the canvas');
		});

		step('create a Dify API credential: its test succeeds', async () => {
			const modal = await newDifyCredential(page, n8n.url, { baseUrl: standin.url, apiKey: standin.apiKey });
			await modal.getByTestId('credential-save-button').click();
			await modal.getByTestId('credentials-config-container-test-success').waitFor();
			assert.match(await modal.getByTestId('credentials-config-container-test-success').innerText(), /tested successfully/i);
		});

		step('a Dify API credential with a wrong key: the test says why', async () => {
			const wrongKey = 'app-NotTheKeyOfThisApp0000';
			const modal = await newDifyCredential(page, n8n.url, { baseUrl: standin.url, apiKey: wrongKey });
			await modal.getByTestId('credential-save-button').click();
			const failed = modal.getByText(/Couldn.t connect/i);
			await failed.waitFor();
			// n8n shows the credential test's message behind "More details".
			const details = modal.getByText('More details');
			if (await details.isVisible()) await details.click();
			const text = await modal.getByTestId('node-credentials-config-container').innerText();
			assert.match(text, /API key/, `the message names the API key as the problem; it says:\n${text}`);
			assert.ok(!text.includes(wrongKey), 'the key itself is not shown');
			assert.equal(await modal.getByTestId('credentials-config-container-test-success').isVisible(), false);
		});

		step('choose each resource and operation', async ({ shot }) => {
			await openWorkflow(page, n8n.url, FORM_WORKFLOW_ID);
			const ndv = await openNode(page, FORM_NODE);
			const missing = [];
			for (const resource of nodeForm()) {
				await chooseParameterOption(page, ndv, 'resource', resource.name);
				for (const operation of resource.operations) {
					await chooseParameterOption(page, ndv, 'operation', operation.name);
					await loads.settled();
					for (const parameter of operation.parameters) {
						if (!(await ndv.getByTestId(`parameter-input-${parameter}`).first().isVisible())) {
							missing.push(`${resource.name} → ${operation.name}: ${parameter}`);
						}
					}
					await shot(`${resource.resource}-${operation.operation}`);
				}
			}
			assert.deepEqual(missing, [], 'every parameter of each operation is in the form');
			await closeNode(page);
		});

		step('Run with Map Fields shows the app\'s fields; Map Automatically shows no false notice', async ({ shot }) => {
			const parameters = await (
				await fetch(`${standin.url}/parameters`, { headers: { authorization: `Bearer ${standin.apiKey}` } })
			).json();
			const variables = parameters.user_input_form.map((entry) => Object.values(entry)[0]);
			assert.ok(variables.length > 0, 'the stand-in app has inputs');

			await openWorkflow(page, n8n.url, FORM_WORKFLOW_ID);
			const ndv = await openNode(page, FORM_NODE);
			// n8n 2.x saves edits as they are made: the form may be as an earlier step left it.
			await chooseParameterOption(page, ndv, 'resource', 'Workflow');
			await chooseParameterOption(page, ndv, 'operation', 'Run');
			await chooseParameterOption(page, ndv, 'inputMode', 'Map Fields');
			const mapper = ndv.getByTestId('resource-mapper-container');
			await mapper.getByTestId('mapping-fields-container').waitFor();
			await loads.settled();
			for (const variable of variables) {
				const field = mapper.getByTestId(`parameter-input-${variable.variable}`);
				assert.ok(await field.isVisible(), `the field of input "${variable.variable}" is shown`);
			}
			const mapperText = await mapper.innerText();
			for (const variable of variables) assert.ok(mapperText.includes(variable.label), `the label "${variable.label}" is shown`);
			await shot('fields');

			await chooseOption(page, mapper, 'mapping-mode-select', 'Map Automatically');
			await mapper.getByTestId('mapping-fields-container').waitFor({ state: 'hidden' });
			await painted(page);
			const notice = mapper.getByTestId('empty-fields-notice');
			assert.equal(
				await notice.count(),
				0,
				`Map Automatically must not say the app has no inputs; it says: ${await notice.allInnerTexts()}`,
			);
			await shot('map-automatically');
			await closeNode(page);
		});

		step('open every example without a parameter issue', async ({ shot }) => {
			const problems = [];
			for (const { file, workflow } of await examples()) {
				await openWorkflow(page, n8n.url, workflow.id);
				// The canvas draws sticky notes apart from nodes: wait for the last node proper.
				const nodes = workflow.nodes.filter((node) => node.type !== 'n8n-nodes-base.stickyNote');
				await page.getByTestId('canvas-node').nth(nodes.length - 1).waitFor();
				for (const node of workflow.nodes.filter((candidate) => candidate.type.startsWith(`${PACKAGE}.`))) {
					const ndv = await openNode(page, node.name);
					await loads.settled();
					for (const issue of await parameterIssues(page, ndv)) {
						problems.push(`${file}, node "${node.name}": ${issue.parameter}: ${issue.says}`);
					}
					await shot(`${file.replace(/\.json$/, '')}-${node.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`);
					await closeNode(page);
					if (await canvasNode(page, node.name).getByTestId('node-issues').count()) {
						problems.push(`${file}, node "${node.name}": marked with issues on the canvas`);
					}
				}
			}
			assert.deepEqual(problems, [], 'no Dify Workflow node of an example has a parameter issue');
		});

		step('execute run-and-chain from the editor: the answer is in the output panel', async () => {
			await openWorkflow(page, n8n.url, RUN_AND_CHAIN_ID);
			const runsBefore = new Set(standin.runs.keys());
			await page.getByTestId('execute-workflow-button').click();
			const last = canvasNode(page, 'Use the answer');
			await last.getByTestId('canvas-node-status-success').waitFor({ timeout: 120_000 });
			const runs = [...standin.runs.values()].filter((run) => !runsBefore.has(run.id));
			assert.equal(runs.length, 1, 'the execution made one Dify run');
			const [run] = runs;
			assert.equal(run.status, 'succeeded');
			assert.equal(run.inputs.topic, 'Mount Fuji');

			const ndv = await openNode(page, 'Use the answer');
			const output = ndv.getByTestId('output-panel');
			await output.getByText(run.id).first().waitFor();
			const text = await output.innerText();
			assert.ok(text.includes(run.outputs.answer), `the output panel shows the answer "${run.outputs.answer}":\n${text}`);
			assert.ok(text.includes(String(run.totalTokens)), 'and the tokens');
		});

		step('open the AI tool example: its tool description is valid', async () => {
			await openWorkflow(page, n8n.url, AI_TOOL_EXAMPLE_ID);
			const { workflow } = (await examples()).find((example) => example.workflow.id === AI_TOOL_EXAMPLE_ID);
			const tool = workflow.nodes.find((node) => node.type === `${PACKAGE}.difyWorkflowTool`);
			assert.ok(tool, 'the example has the Dify Workflow tool');
			const ndv = await openNode(page, tool.name);
			await loads.settled();
			const issues = await parameterIssues(page, ndv);
			assert.deepEqual(issues, [], 'the tool node has no parameter issue');
			const form = await ndv.getByTestId('node-parameters').innerText();
			assert.match(form, /Description/, 'the tool description is in the form');
		});
	});
}

/** Credentials → Add → "Dify API", filled in: the open credential modal. */
async function newDifyCredential(page, url, { baseUrl, apiKey }) {
	await page.goto(`${url}/home/credentials`, { timeout: 90_000 });
	await page.getByTestId('add-resource-credential').click();
	await page.getByTestId('new-credential-type-select').locator('input').fill('Dify');
	await page.getByTestId('new-credential-type-select-option').filter({ hasText: 'Dify API' }).click();
	await page.getByTestId('new-credential-type-button').click();
	const modal = page.getByTestId('editCredential-modal');
	await modal.getByTestId('parameter-input-baseUrl').locator('input').fill(baseUrl);
	await modal.getByTestId('parameter-input-apiKey').locator('input').fill(apiKey);
	return modal;
}
