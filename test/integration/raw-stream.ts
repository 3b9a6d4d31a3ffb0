import { request } from 'undici';

export interface SentEvents {
	events: Array<Record<string, unknown>>;
	/**
	 * How the stream ended for this client: a terminal event, a clean close, a broken connection,
	 * or still open when the client's own limit cut it.
	 */
	end: 'terminal' | 'closed' | 'broken' | 'cut';
}

/**
 * Counts the events a streaming run sends, with a plain client that shares no code with the
 * node. It keeps what arrived when the connection breaks, which
 * is what a dropped stream has to be compared with.
 */
export async function sentEvents(
	baseUrl: string,
	apiKey: string,
	inputs: Record<string, unknown>,
	options: { limitMs?: number; onEvent?: (event: Record<string, unknown>) => void } = {},
): Promise<SentEvents> {
	const limit = new AbortController();
	const timer = setTimeout(() => limit.abort(), options.limitMs ?? 10_000);
	const response = await request(`${baseUrl}/workflows/run`, {
		method: 'POST',
		headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
		body: JSON.stringify({ inputs, user: 'oracle', response_mode: 'streaming' }),
		signal: limit.signal,
	});
	const events: Array<Record<string, unknown>> = [];
	let text = '';
	const decoder = new TextDecoder();
	try {
		for await (const chunk of response.body) {
			// Normalised on the whole text: a CR and its LF may arrive in different reads.
			text = (text + decoder.decode(chunk as Buffer, { stream: true })).replace(/\r\n/g, '\n');
			let end: number;
			while ((end = text.indexOf('\n\n')) >= 0) {
				const block = text.slice(0, end);
				text = text.slice(end + 2);
				const data = block
					.split('\n')
					.filter((line) => line.startsWith('data:'))
					.map((line) => line.slice(5).trimStart())
					.join('\n');
				if (!data) continue;
				const event = JSON.parse(data) as Record<string, unknown>;
				events.push(event);
				options.onEvent?.(event);
				if (['workflow_finished', 'workflow_paused', 'error'].includes(event.event as string)) {
					response.body.on('error', () => {});
					response.body.destroy();
					return { events, end: 'terminal' };
				}
			}
		}
		return { events, end: 'closed' };
	} catch {
		return { events, end: limit.signal.aborted ? 'cut' : 'broken' };
	} finally {
		clearTimeout(timer);
	}
}

/** The events of a streaming run, in order, as a plain client saw them. */
export async function rawRun(
	baseUrl: string,
	apiKey: string,
	inputs: Record<string, unknown>,
	onEvent?: (event: Record<string, unknown>) => void,
): Promise<Array<Record<string, unknown>>> {
	return (await sentEvents(baseUrl, apiKey, inputs, { onEvent, limitMs: 60_000 })).events;
}
