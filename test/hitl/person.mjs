// A person's path through the e-mail example, shared by the Human Input tier and the queue-mode
// tier: a local SMTP server as the inbox, the form link in a mail, and an HTTP client that opens
// the link and posts the form as n8n's page does (multipart/form-data, a file included).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

import { getExecution, listExecutions } from '../../scripts/n8n/rest.mjs';
import { REPO_ROOT } from '../../scripts/n8n/versions.mjs';

// n8n's REST API gives an execution's data in its "flatted" form.
const { parse: parseFlatted } = createRequire(import.meta.url)('flatted');

export const SMTP_CREDENTIAL = { id: 'SmtpAccount00001', name: 'SMTP account', type: 'smtp' };
/** Generous: a mail, a resume or an execution's end on a loaded 2-core machine. */
export const HANG_GUARD_MS = 120_000;
export const PDF = Buffer.from('%PDF-1.4\n% evidence for the review\n%%EOF\n');

/** Polls `check` until it gives a value; fails after the hang guard with the tail of `output()`. */
export async function until(what, check, output) {
	const deadline = Date.now() + HANG_GUARD_MS;
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`${what}: not within ${HANG_GUARD_MS} ms\n${output?.().split('\n').slice(-30).join('\n') ?? ''}`);
		await new Promise((wait) => setTimeout(wait, 300));
	}
}

/** An SMTP server on 127.0.0.1 that keeps every mail, parsed. */
export async function startInbox() {
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
	return {
		port: server.server.address().port,
		mails,
		/** The SMTP credential's data for this inbox. */
		credential: () => ({ ...SMTP_CREDENTIAL, data: { user: '', password: '', host: '127.0.0.1', port: server.server.address().port, secure: false, disableStartTls: true } }),
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

/** A Human Input example with a Webhook where its Manual Trigger is, and the topic taken from the call. */
export function reviewWorkflow({ id, name, path, webhookId, example = 'human-in-the-loop.json' }) {
	const workflow = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', example), 'utf8'));
	const start = workflow.nodes.find((node) => node.name === 'Start');
	Object.assign(start, {
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		parameters: { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
		webhookId,
	});
	const draft = workflow.nodes.find((node) => node.name === 'Draft to review');
	draft.parameters.assignments.assignments[0].value = '={{ $json.body.topic }}';
	workflow.id = id;
	workflow.name = name;
	return workflow;
}

/** The form link of a mail: `{WEBHOOK_URL}webhook-waiting/{executionId}/{nodeId}?…&signature=…`. */
export function formLink(mail) {
	const html = String(mail.html || '');
	const found = /href="([^"]*webhook-waiting\/[^"]+)"/.exec(html)?.[1] ?? /(https?:\/\/\S*webhook-waiting\/\S+)/.exec(mail.text ?? '')?.[1];
	assert.ok(found, `no form link in the mail:\n${html.slice(0, 2000)}`);
	return found.replace(/&amp;/g, '&');
}

/** The first mail whose text names `topic`, once it has come. */
export function mailAbout(inbox, topic, output) {
	return until(`the mail about ${topic}`, () => inbox.mails.find((mail) => String(mail.text ?? mail.html).includes(topic)), output);
}

/**
 * Waits until n8n has parked the execution behind a mail's link. Send Email sends the mail
 * before n8n marks the execution `waiting`; until then the link answers 409 "is running
 * already". A person's click comes later than that; a test's may not.
 */
export function waitingBehind(api, link, output) {
	const executionId = /webhook-waiting\/([^/?]+)\//.exec(link)?.[1];
	assert.ok(executionId, `no execution id in ${link}`);
	return until(`execution ${executionId} waiting for its form`, async () => (await getExecution(api, executionId)).status === 'waiting', output);
}

/** Opens a mail's link once its execution waits; resolves with the page's HTML. */
export async function openForm(api, link, output) {
	await waitingBehind(api, link, output);
	const opened = await fetch(link, { signal: AbortSignal.timeout(HANG_GUARD_MS) });
	const page = await opened.text();
	assert.equal(opened.status, 200, page.slice(0, 500));
	return page;
}

/** Posts the form as n8n's page does: its fields in order, multipart, the radio choice as JSON; gives n8n's status and page. */
export async function answerForm(api, link, { feedback, priority, file, decision }, output) {
	await waitingBehind(api, link, output);
	const form = new FormData();
	form.append('field-1', feedback);
	form.append('field-2', priority);
	if (file) form.append('field-3', new Blob([file.content], { type: file.type }), file.name);
	form.append('field-4', JSON.stringify(decision ? [decision] : []));
	const response = await fetch(link, { method: 'POST', body: form, signal: AbortSignal.timeout(HANG_GUARD_MS) });
	const page = await response.text();
	return { status: response.status, page: page.slice(0, 1000) };
}

/** The ended execution of a workflow that carries a Dify run's id, its data parsed. */
export function endedExecutionOf(api, workflowId, runId, output) {
	return until(
		`the execution of run ${runId}`,
		async () => {
			for (const summary of await listExecutions(api, workflowId)) {
				if (['running', 'new', 'waiting'].includes(summary.status)) continue;
				const execution = await getExecution(api, summary.id);
				if (execution.data.includes(runId)) return { ...execution, data: parseFlatted(execution.data) };
			}
			return undefined;
		},
		output,
	);
}

/** The JSON of the items a node of an execution put out (its first run, first output). */
export function outputOf(execution, node) {
	return execution.data.resultData.runData[node]?.[0]?.data?.main?.[0]?.map((item) => item.json) ?? [];
}
