// A Telegram Bot API stand-in on 127.0.0.1 for the Telegram example: n8n's Telegram credential
// takes a Base URL, so its Send and Wait reaches this server instead of api.telegram.org. It keeps
// every sendMessage and parses the text the way the Bot API parses `parse_mode: Markdown` (the
// legacy style n8n's Send and Wait always asks for): an entity that is not closed is refused with
// Telegram's 400, so a message that real Telegram would refuse is refused here too.
import { createServer } from 'node:http';

/**
 * Where the legacy Markdown of `text` fails, as Telegram reports it, or undefined if it parses.
 * `*bold*`, `_italic_`, `` `code` ``, ```` ```pre``` ```` and `[text](url)`; `\` escapes `_ * ` [`
 * outside an entity, and nothing is escaped or nested inside one.
 */
export function legacyMarkdownError(text) {
	const offset = (index) => Buffer.byteLength(text.slice(0, index));
	const unclosed = (index) => `Bad Request: can't parse entities: Can't find end of the entity starting at byte offset ${offset(index)}`;
	let i = 0;
	while (i < text.length) {
		const c = text[i];
		if (c === '\\' && '_*`['.includes(text[i + 1] ?? '')) {
			i += 2;
			continue;
		}
		if (c === '_' || c === '*') {
			const end = text.indexOf(c, i + 1);
			if (end < 0) return unclosed(i);
			i = end + 1;
			continue;
		}
		if (c === '`') {
			const fence = text.startsWith('```', i) ? '```' : '`';
			const end = text.indexOf(fence, i + fence.length);
			if (end < 0) return unclosed(i);
			i = end + fence.length;
			continue;
		}
		if (c === '[') {
			const close = text.indexOf(']', i + 1);
			if (close < 0) return unclosed(i);
			i = close + 1;
			if (text[i] === '(') {
				const end = text.indexOf(')', i + 1);
				if (end < 0) return unclosed(i);
				i = end + 1;
			}
			continue;
		}
		i++;
	}
	return undefined;
}

/**
 * Starts the Bot API stand-in: `{ url, messages, refused, close() }`; `messages` holds each
 * sendMessage body it accepted, `refused` each one it refused with Telegram's reason.
 */
export async function startTelegram() {
	const messages = [];
	const refused = [];
	let nextId = 1;
	const server = createServer((request, response) => {
		const chunks = [];
		request.on('data', (chunk) => chunks.push(chunk));
		request.on('end', () => {
			const reply = (status, body) => {
				response.writeHead(status, { 'content-type': 'application/json' });
				response.end(JSON.stringify(body));
			};
			const method = /^\/bot[^/]+\/(\w+)$/.exec(request.url ?? '')?.[1];
			if (!method) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
			let body = {};
			try {
				body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
			} catch {
				return reply(400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
			}
			if (method !== 'sendMessage') return reply(200, { ok: true, result: true });
			if (!body.chat_id || typeof body.text !== 'string' || body.text === '') {
				return reply(400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
			}
			const parseError = body.parse_mode === 'Markdown' ? legacyMarkdownError(body.text) : undefined;
			if (parseError) {
				refused.push({ text: body.text, description: parseError });
				return reply(400, { ok: false, error_code: 400, description: parseError });
			}
			messages.push(body);
			reply(200, { ok: true, result: { message_id: nextId++, date: Math.floor(Date.now() / 1000), chat: { id: Number(body.chat_id) || body.chat_id, type: 'private' }, text: body.text } });
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${server.address().port}`,
		messages,
		refused,
		close: () =>
			new Promise((resolve) => {
				server.close(resolve);
				server.closeAllConnections();
			}),
	};
}

/** The link of the button that opens the form. */
export function buttonLink(message) {
	const button = message.reply_markup?.inline_keyboard?.flat().find((candidate) => typeof candidate.url === 'string');
	return button?.url;
}
