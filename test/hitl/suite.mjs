// Human Input answered by people in a real n8n: the e-mail example (Run → paused → Send Email's
// Send and Wait with Dify's form as n8n form fields → Submit Form → Watch Run) and the Telegram
// example, each started by a webhook under `n8n start`; a local SMTP server as the inbox, a
// Telegram Bot API stand-in as the chat, and an HTTP client that opens the form link and posts the
// form as a browser would (multipart/form-data, a file included).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { activateWorkflow, setUpOwner } from '../../scripts/n8n/rest.mjs';
import { createUserFolder, importCredentials, importWorkflows, installCommunityPackage, n8nInstall, startN8n } from '../../scripts/n8n/runner.mjs';
import { packedTarball } from '../../scripts/n8n/tarball.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';
import { callWebhook } from '../../scripts/n8n/webhook.mjs';

import { buttonLink, startTelegram } from './telegram.mjs';
import { PDF, answerForm, endedExecutionOf, formLink, mailAbout, openForm, outputOf, reviewWorkflow, startInbox, until } from './person.mjs';

const require = createRequire(import.meta.url);
// Compiled by `npm run test:hitl` (pack:local runs tsc -p tsconfig.test.json) before the tests start.
const { startDifyStandin } = require(join(REPO_ROOT, '.build/test/standin/server.js'));

const DIFY_CREDENTIAL = { id: 'DifyStandIn00001', name: 'Dify stand-in', type: 'difyApi' };
const TELEGRAM_CREDENTIAL = { id: 'TelegramAccount1', name: 'Telegram account', type: 'telegramApi' };
/** The e-mail example and the Telegram example, each behind its own webhook. */
const MAIL_REVIEW = { id: 'difyHitlTier0001', name: 'hitl tier: the e-mail example behind a webhook', path: 'dify-hitl', webhookId: '5a1e0c3d-0000-4000-8000-0000000e2e01' };
const TELEGRAM_REVIEW = {
	id: 'difyHitlTier0002',
	name: 'hitl tier: the Telegram example behind a webhook',
	path: 'dify-hitl-telegram',
	webhookId: '5a1e0c3d-0000-4000-8000-0000000e2e03',
	example: 'human-in-the-loop-telegram.json',
};
/** Where to save pictures of the mail and the form page (HITL_SCREENSHOTS=docs/images), if anywhere. */
const SCREENSHOTS = process.env.HITL_SCREENSHOTS;

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

export function hitlSuite(major) {
	const started = Date.now();
	const log = (message) => process.stderr.write(`[hitl ${major}.x ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);

	describe(`n8n ${major}.x: a person answers Dify's Human Input by e-mail and on Telegram`, () => {
		let ctx;
		let standin;
		let inbox;
		let telegram;
		let n8n;
		let api;
		let folder;
		const reviews = [MAIL_REVIEW, TELEGRAM_REVIEW];

		/** Starts one review: the workflow's webhook with a topic; resolves with the Dify run. */
		const startReview = async (topic, review = MAIL_REVIEW) => {
			const response = await callWebhook(n8n, review.path, { topic });
			assert.equal(response.status, 200, await response.text());
			return await until(`the Dify run about ${topic}`, () => [...standin.runs.values()].find((run) => run.inputs.topic === topic && run.status === 'paused'), n8n.output);
		};

		const executionOf = (runId, review = MAIL_REVIEW) => endedExecutionOf(api, review.id, runId, n8n.output);
		const formPosts = (token) => standin.requests.filter((request) => request.method === 'POST' && request.path === `/v1/form/human_input/${token}`);

		before(async () => {
			const install = n8nInstall(major);
			ctx = await createUserFolder(install);
			standin = await startDifyStandin({ reviewForm: 'full' });
			inbox = await startInbox();
			telegram = await startTelegram();
			const installed = await installCommunityPackage(ctx, packedTarball());
			log(`n8n ${install.version}: installed ${installed.name}@${installed.version}`);
			await importCredentials(ctx, [
				{ ...DIFY_CREDENTIAL, data: { baseUrl: standin.url, apiKey: standin.apiKey } },
				inbox.credential(),
				{ ...TELEGRAM_CREDENTIAL, data: { accessToken: '123456:tier-token', baseUrl: telegram.url } },
			]);
			folder = await mkdtemp(join(tmpdir(), 'dify-hitl-'));
			const files = [];
			for (const review of reviews) {
				files.push(join(folder, `${review.id}.json`));
				await writeFile(files.at(-1), JSON.stringify(reviewWorkflow(review)));
			}
			await importWorkflows(ctx, files);
			n8n = await startN8n(ctx, { env: { WEBHOOK_URL: `${ctx.url}/` } });
			api = await setUpOwner(n8n);
			for (const review of reviews) await activateWorkflow(api, review.id);
			log('n8n started with the e-mail and Telegram examples behind webhooks');
		});

		after(async () => {
			await n8n?.stop();
			await standin?.close();
			await inbox?.close();
			await telegram?.close();
			await ctx?.cleanup();
			if (folder) await rm(folder, { recursive: true, force: true });
			log('stopped n8n, the stand-in, the SMTP server and the Bot API stand-in; removed the user folder');
		});

		it("mails Dify's form, shows it, and takes the answer back to Dify: the run finishes with it", async () => {
			const run = await startReview('富士山');
			const mail = await mailAbout(inbox, '富士山', n8n.output);
			assert.equal(mail.subject, 'Dify asks: Review');
			assert.match(mail.text, /Please check the draft about 富士山\./);
			assert.doesNotMatch(mail.text, /\{\{#\$output/);
			const link = formLink(mail);
			assert.ok(link.startsWith(`${ctx.url}/webhook-waiting/`), link);

			const page = await openForm(api, link, n8n.output);
			for (const shown of ['Feedback', 'Priority', 'High', 'Medium', 'Low', 'Evidence', 'Decision', 'Approve', 'Reject', '<strong>富士山</strong>', '“Feedback” below']) {
				assert.ok(page.includes(shown), `the form page shows ${shown}`);
			}
			log('the mail came, its link opens the form with Dify\'s labels, options and content');
			if (SCREENSHOTS) {
				await screenshots(join(REPO_ROOT, SCREENSHOTS), major, mail, link);
				log(`pictures of the mail and the form page in ${SCREENSHOTS}`);
			}

			// The page shows the default with its < > as entities, and a browser posts it back so.
			const { status, page: answered } = await answerForm(
				api,
				link,
				{
					feedback: 'Draft &lt;v1&gt; about 富士山, checked',
					priority: 'Medium',
					file: { name: 'evidence.pdf', type: 'application/pdf', content: PDF },
					decision: 'Reject',
				},
				n8n.output,
			);
			assert.ok(status < 400, `the form post answered ${status}: ${answered}`);

			const execution = await executionOf(run.id);
			assert.equal(execution.status, 'success', JSON.stringify(execution.data.resultData.error ?? {}));
			const token = outputOf(execution, 'Run the review workflow')[0].human_input_forms[0].form_token;
			const [post] = formPosts(token);
			assert.deepEqual(post.json.inputs.feedback, 'Draft <v1> about 富士山, checked');
			assert.equal(post.json.inputs.priority, 'Medium');
			assert.equal(post.json.action, 'reject');
			assert.equal(post.json.inputs.evidence.type, 'document');
			assert.equal(post.json.inputs.evidence.transfer_method, 'local_file');
			const upload = standin.requests.find((request) => request.path === '/v1/files/upload');
			assert.ok(upload, 'the file was uploaded to Dify');
			assert.deepEqual(outputOf(execution, 'Use the outputs'), [{ decision: 'reject', feedback: 'Draft <v1> about 富士山, checked', status: 'succeeded' }]);
			log('n8n resumed; Dify got the mapped inputs, the file and the action id; the run finished');
		});

		it('an answer without a required field is an error naming it, and nothing reaches Dify', async () => {
			const run = await startReview('Matterhorn');
			const link = formLink(await mailAbout(inbox, 'Matterhorn', n8n.output));
			const uploadsBefore = standin.requests.filter((request) => request.path === '/v1/files/upload').length;
			// n8n checks required fields only in the browser: a post without one resumes the execution.
			const { status, page: answered } = await answerForm(api, link, { feedback: '', priority: 'High', file: { name: 'evidence.pdf', type: 'application/pdf', content: PDF }, decision: 'Approve' }, n8n.output);
			assert.ok(status < 500, `the form post answered ${status}: ${answered}`);
			const execution = await executionOf(run.id);
			assert.equal(execution.status, 'error');
			assert.match(JSON.stringify(execution.data.resultData.error), /The answer has no value for \\?"Feedback\\?", which the form requires/);
			const token = outputOf(execution, 'Run the review workflow')[0].human_input_forms[0].form_token;
			assert.deepEqual(formPosts(token), []);
			assert.equal(standin.requests.filter((request) => request.path === '/v1/files/upload').length, uploadsBefore);
			assert.equal(standin.runs.get(run.id).status, 'paused');
			log('an empty required answer failed the execution, naming "Feedback"; the Dify form stays open');
		});

		it('ten paused runs answered out of order each resume their own execution and Dify run', async () => {
			const topics = Array.from({ length: 10 }, (_, n) => `Peak-${n + 1}`);
			const runs = [];
			for (const topic of topics) runs.push(await startReview(topic));
			const links = await Promise.all(topics.map(async (topic) => formLink(await mailAbout(inbox, topic, n8n.output))));
			const order = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4];
			for (const n of order) {
				const { status, page: answered } = await answerForm(api, links[n], { feedback: `answer for ${topics[n]}`, priority: 'Low', file: { name: `${topics[n]}.pdf`, type: 'application/pdf', content: PDF }, decision: n % 2 ? 'Approve' : 'Reject' }, n8n.output);
				assert.ok(status < 400, `${topics[n]}: the form post answered ${status}: ${answered}`);
			}
			for (const n of order) {
				const execution = await executionOf(runs[n].id);
				assert.equal(execution.status, 'success', `${topics[n]}: ${JSON.stringify(execution.data.resultData.error ?? {})}`);
				assert.deepEqual(outputOf(execution, 'Use the outputs'), [{ decision: n % 2 ? 'approve' : 'reject', feedback: `answer for ${topics[n]}`, status: 'succeeded' }]);
				assert.equal(standin.runs.get(runs[n].id).outputs.feedback, `answer for ${topics[n]}`);
			}
			log('ten answers out of order: each execution and Dify run got its own');
		});

		it('sends the form on Telegram with text Telegram parses, and takes the answer back to Dify', async () => {
			// Telegram refuses a Markdown message with a lone _ or [: Dify's text must arrive escaped.
			const topic = 'Mount_Fuji [v2';
			const run = await startReview(topic, TELEGRAM_REVIEW);
			const message = await until(
				'the Telegram message',
				() => {
					if (telegram.refused.length) throw new Error(`Telegram refused the message: ${JSON.stringify(telegram.refused)}`);
					return telegram.messages.find((candidate) => candidate.text.includes('Mount'));
				},
				n8n.output,
			);
			assert.equal(message.parse_mode, 'Markdown');
			assert.equal(String(message.chat_id), '123456789');
			assert.match(message.text, /Please check the draft about Mount\\_Fuji \\\[v2\./);
			const link = buttonLink(message);
			assert.ok(link?.startsWith(`${ctx.url}/webhook-waiting/`), `the button opens the form: ${JSON.stringify(message.reply_markup)}`);
			const page = await openForm(api, link, n8n.output);
			for (const shown of ['Feedback', 'Priority', 'Evidence', 'Decision', 'Approve', 'Reject']) assert.ok(page.includes(shown), `the form page shows ${shown}`);
			log('the bot sent Dify\'s text, escaped for Telegram\'s Markdown, with a button that opens the form');

			const { status, page: answered } = await answerForm(
				api,
				link,
				{ feedback: 'Checked on the phone', priority: 'High', file: { name: 'photo-notes.pdf', type: 'application/pdf', content: PDF }, decision: 'Approve' },
				n8n.output,
			);
			assert.ok(status < 400, `the form post answered ${status}: ${answered}`);
			const execution = await executionOf(run.id, TELEGRAM_REVIEW);
			assert.equal(execution.status, 'success', JSON.stringify(execution.data.resultData.error ?? {}));
			assert.deepEqual(outputOf(execution, 'Use the outputs'), [{ decision: 'approve', feedback: 'Checked on the phone', status: 'succeeded' }]);
			log('n8n resumed the Telegram example; the run finished with the answer');
		});
	});
}
