// Human Input answered by people in a real n8n: the e-mail example (Run → paused → Send Email's
// Send and Wait with Dify's form as n8n form fields → Submit Form → Watch Run) started by a
// webhook under `n8n start`, a local SMTP server as the inbox, and an HTTP client that opens the
// mail's link and posts the form as a browser would (multipart/form-data, a file included).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

import { activateWorkflow, getExecution, listExecutions, setUpOwner } from '../../scripts/n8n/rest.mjs';
import { createUserFolder, importCredentials, importWorkflows, installCommunityPackage, n8nInstall, startN8n } from '../../scripts/n8n/runner.mjs';
import { packedTarball } from '../../scripts/n8n/tarball.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';
import { callWebhook } from '../../scripts/n8n/webhook.mjs';

const require = createRequire(import.meta.url);
// Compiled by `npm run test:hitl` (pack:local runs tsc -p tsconfig.test.json) before the tests start.
const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));
// n8n's REST API gives an execution's data in its "flatted" form.
const { parse: parseFlatted } = require('flatted');

const DIFY_CREDENTIAL = { id: 'DifyStandIn00001', name: 'Dify stand-in', type: 'difyApi' };
const SMTP_CREDENTIAL = { id: 'SmtpAccount00001', name: 'SMTP account', type: 'smtp' };
const EXAMPLE = join(REPO_ROOT, 'examples/human-in-the-loop.json');
const WEBHOOK_PATH = 'dify-hitl';
/** Generous: a mail, a resume or an execution's end on a loaded 2-core machine. */
const HANG_GUARD_MS = 120_000;
/** Where to save pictures of the mail and the form page (HITL_SCREENSHOTS=docs/images), if anywhere. */
const SCREENSHOTS = process.env.HITL_SCREENSHOTS;
const PDF = Buffer.from('%PDF-1.4\n% evidence for the review\n%%EOF\n');

/** An SMTP server on 127.0.0.1 that keeps every mail, parsed. */
async function startInbox() {
	const mails = [];
	const server = new SMTPServer({
		authOptional: true,
		disabledCommands: ['STARTTLS', 'AUTH'],
		logger: false,
		onData(stream, _session, done) {
			simpleParser(stream)
				.then((mail) => {
					mails.push(mail);
					done();
				})
				.catch(done);
		},
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { port: server.server.address().port, mails, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** The example with a Webhook where its Manual Trigger is, and the topic taken from the call. */
function tierWorkflow() {
	const workflow = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
	const start = workflow.nodes.find((node) => node.name === 'Start');
	Object.assign(start, {
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		parameters: { httpMethod: 'POST', path: WEBHOOK_PATH, responseMode: 'onReceived', options: {} },
		webhookId: '5a1e0c3d-0000-4000-8000-0000000e2e01',
	});
	const draft = workflow.nodes.find((node) => node.name === 'Draft to review');
	draft.parameters.assignments.assignments[0].value = '={{ $json.body.topic }}';
	workflow.id = 'difyHitlTier0001';
	workflow.name = 'hitl tier: the e-mail example behind a webhook';
	return workflow;
}

async function until(what, check, output) {
	const deadline = Date.now() + HANG_GUARD_MS;
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`${what}: not within ${HANG_GUARD_MS} ms\n${output?.().split('\n').slice(-30).join('\n') ?? ''}`);
		await new Promise((wait) => setTimeout(wait, 300));
	}
}

/** Pictures of the mail as a mail client shows its HTML, and of the form page, in Chromium. */
async function screenshots(folder, major, mail, link) {
	const { launchChromium } = await import('../../scripts/n8n/browser.mjs');
	// A short viewport: fullPage grows the picture to the content and no further.
	const browser = await launchChromium({ viewport: { width: 760, height: 200 } });
	try {
		await browser.page.setContent(String(mail.html), { waitUntil: 'load' });
		await browser.page.screenshot({ path: join(folder, `hitl-mail-n8n-${major}.png`), fullPage: true });
		await browser.page.goto(link, { waitUntil: 'networkidle' });
		await browser.page.screenshot({ path: join(folder, `hitl-form-n8n-${major}.png`), fullPage: true });
	} finally {
		await browser.close();
	}
}

/** The form link of a mail: `{WEBHOOK_URL}webhook-waiting/{executionId}/{nodeId}?…&signature=…`. */
function formLink(mail) {
	const html = String(mail.html || '');
	const found = /href="([^"]*webhook-waiting\/[^"]+)"/.exec(html)?.[1] ?? /(https?:\/\/\S*webhook-waiting\/\S+)/.exec(mail.text ?? '')?.[1];
	assert.ok(found, `no form link in the mail:\n${html.slice(0, 2000)}`);
	return found.replace(/&amp;/g, '&');
}

export function hitlSuite(major) {
	const started = Date.now();
	const log = (message) => process.stderr.write(`[hitl ${major}.x ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);

	describe(`n8n ${major}.x: a person answers Dify's Human Input by e-mail`, () => {
		let ctx;
		let standin;
		let inbox;
		let n8n;
		let api;
		let folder;

		/** Starts one review: the workflow's webhook with a topic; resolves with the Dify run. */
		const startReview = async (topic) => {
			const response = await callWebhook(n8n, WEBHOOK_PATH, { topic });
			assert.equal(response.status, 200, await response.text());
			return await until(`the Dify run about ${topic}`, () => [...standin.runs.values()].find((run) => run.inputs.topic === topic && run.status === 'paused'), n8n.output);
		};

		const mailAbout = (topic) => until(`the mail about ${topic}`, () => inbox.mails.find((mail) => String(mail.text ?? mail.html).includes(topic)), n8n.output);

		/** The execution that carries a Dify run's id, once it has ended. */
		const executionOf = (runId) =>
			until(
				`the execution of run ${runId}`,
				async () => {
					for (const summary of await listExecutions(api, 'difyHitlTier0001')) {
						if (['running', 'new', 'waiting'].includes(summary.status)) continue;
						const execution = await getExecution(api, summary.id);
						if (execution.data.includes(runId)) return { ...execution, data: parseFlatted(execution.data) };
					}
					return undefined;
				},
				n8n.output,
			);

		const output = (execution, node) => execution.data.resultData.runData[node]?.[0]?.data?.main?.[0]?.map((item) => item.json) ?? [];
		const formPosts = (token) => standin.requests.filter((request) => request.method === 'POST' && request.path === `/v1/form/human_input/${token}`);

		/** Posts the form as n8n's page does: its fields in order, multipart, the radio choice as JSON. */
		const answer = async (link, { feedback, priority, file, decision }) => {
			const form = new FormData();
			form.append('field-1', feedback);
			form.append('field-2', priority);
			if (file) form.append('field-3', new Blob([file.content], { type: file.type }), file.name);
			form.append('field-4', JSON.stringify(decision ? [decision] : []));
			const response = await fetch(link, { method: 'POST', body: form, signal: AbortSignal.timeout(HANG_GUARD_MS) });
			await response.arrayBuffer();
			return response.status;
		};

		before(async () => {
			const install = n8nInstall(major);
			ctx = await createUserFolder(install);
			standin = await startDifyStandin({ reviewForm: 'full' });
			inbox = await startInbox();
			const installed = await installCommunityPackage(ctx, packedTarball());
			log(`n8n ${install.version}: installed ${installed.name}@${installed.version}`);
			await importCredentials(ctx, [
				{ ...DIFY_CREDENTIAL, data: { baseUrl: standin.url, apiKey: standin.apiKey } },
				{ ...SMTP_CREDENTIAL, data: { user: '', password: '', host: '127.0.0.1', port: inbox.port, secure: false, disableStartTls: true } },
			]);
			folder = await mkdtemp(join(tmpdir(), 'dify-hitl-'));
			const file = join(folder, 'workflow.json');
			await writeFile(file, JSON.stringify(tierWorkflow()));
			await importWorkflows(ctx, [file]);
			n8n = await startN8n(ctx, { env: { WEBHOOK_URL: `${ctx.url}/` } });
			api = await setUpOwner(n8n);
			await activateWorkflow(api, 'difyHitlTier0001');
			log('n8n started with the e-mail example behind a webhook');
		});

		after(async () => {
			await n8n?.stop();
			await standin?.close();
			await inbox?.close();
			await ctx?.cleanup();
			if (folder) await rm(folder, { recursive: true, force: true });
			log('stopped n8n, the stand-in and the SMTP server; removed the user folder');
		});

		it("mails Dify's form, shows it, and takes the answer back to Dify: the run finishes with it", async () => {
			const run = await startReview('富士山');
			const mail = await mailAbout('富士山');
			assert.equal(mail.subject, 'Dify asks: Review');
			assert.match(mail.text, /Please check the draft about 富士山\./);
			assert.doesNotMatch(mail.text, /\{\{#\$output/);
			const link = formLink(mail);
			assert.ok(link.startsWith(`${ctx.url}/webhook-waiting/`), link);

			const page = await (await fetch(link)).text();
			for (const shown of ['Feedback', 'Priority', 'High', 'Medium', 'Low', 'Evidence', 'Decision', 'Approve', 'Reject', '<strong>富士山</strong>', '“Feedback” below']) {
				assert.ok(page.includes(shown), `the form page shows ${shown}`);
			}
			log('the mail came, its link opens the form with Dify\'s labels, options and content');
			if (SCREENSHOTS) {
				await screenshots(join(REPO_ROOT, SCREENSHOTS), major, mail, link);
				log(`pictures of the mail and the form page in ${SCREENSHOTS}`);
			}

			// The page shows the default with its < > as entities, and a browser posts it back so.
			const status = await answer(link, {
				feedback: 'Draft &lt;v1&gt; about 富士山, checked',
				priority: 'Medium',
				file: { name: 'evidence.pdf', type: 'application/pdf', content: PDF },
				decision: 'Reject',
			});
			assert.ok(status < 400, `the form post answered ${status}`);

			const execution = await executionOf(run.id);
			assert.equal(execution.status, 'success', JSON.stringify(execution.data.resultData.error ?? {}));
			const token = output(execution, 'Run the review workflow')[0].human_input_forms[0].form_token;
			const [post] = formPosts(token);
			assert.deepEqual(post.json.inputs.feedback, 'Draft <v1> about 富士山, checked');
			assert.equal(post.json.inputs.priority, 'Medium');
			assert.equal(post.json.action, 'reject');
			assert.equal(post.json.inputs.evidence.type, 'document');
			assert.equal(post.json.inputs.evidence.transfer_method, 'local_file');
			const upload = standin.requests.find((request) => request.path === '/v1/files/upload');
			assert.ok(upload, 'the file was uploaded to Dify');
			assert.deepEqual(output(execution, 'Use the outputs'), [{ decision: 'reject', feedback: 'Draft <v1> about 富士山, checked', status: 'succeeded' }]);
			log('n8n resumed; Dify got the mapped inputs, the file and the action id; the run finished');
		});

		it('an answer without a required field is an error naming it, and nothing reaches Dify', async () => {
			const run = await startReview('Matterhorn');
			const link = formLink(await mailAbout('Matterhorn'));
			const uploadsBefore = standin.requests.filter((request) => request.path === '/v1/files/upload').length;
			// n8n checks required fields only in the browser: a post without one resumes the execution.
			const status = await answer(link, { feedback: '', priority: 'High', file: { name: 'evidence.pdf', type: 'application/pdf', content: PDF }, decision: 'Approve' });
			assert.ok(status < 500, `the form post answered ${status}`);
			const execution = await executionOf(run.id);
			assert.equal(execution.status, 'error');
			assert.match(JSON.stringify(execution.data.resultData.error), /The answer has no value for \\?"Feedback\\?", which the form requires/);
			const token = output(execution, 'Run the review workflow')[0].human_input_forms[0].form_token;
			assert.deepEqual(formPosts(token), []);
			assert.equal(standin.requests.filter((request) => request.path === '/v1/files/upload').length, uploadsBefore);
			assert.equal(standin.runs.get(run.id).status, 'paused');
			log('an empty required answer failed the execution, naming "Feedback"; the Dify form stays open');
		});

		it('ten paused runs answered out of order each resume their own execution and Dify run', async () => {
			const topics = Array.from({ length: 10 }, (_, n) => `Peak-${n + 1}`);
			const runs = [];
			for (const topic of topics) runs.push(await startReview(topic));
			const links = await Promise.all(topics.map(async (topic) => formLink(await mailAbout(topic))));
			const order = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4];
			for (const n of order) {
				const status = await answer(links[n], { feedback: `answer for ${topics[n]}`, priority: 'Low', file: { name: `${topics[n]}.pdf`, type: 'application/pdf', content: PDF }, decision: n % 2 ? 'Approve' : 'Reject' });
				assert.ok(status < 400, `${topics[n]}: the form post answered ${status}`);
			}
			for (const n of order) {
				const execution = await executionOf(runs[n].id);
				assert.equal(execution.status, 'success', `${topics[n]}: ${JSON.stringify(execution.data.resultData.error ?? {})}`);
				assert.deepEqual(output(execution, 'Use the outputs'), [{ decision: n % 2 ? 'approve' : 'reject', feedback: `answer for ${topics[n]}`, status: 'succeeded' }]);
				assert.equal(standin.runs.get(runs[n].id).outputs.feedback, `answer for ${topics[n]}`);
			}
			log('ten answers out of order: each execution and Dify run got its own');
		});
	});
}
