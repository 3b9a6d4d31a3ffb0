import { request } from 'undici';

/**
 * Starts a streaming run with a plain HTTP client and splits frames naively: an oracle that
 * shares no code with the node, for comparing what the node reports with what was sent.
 */
export async function rawRun(
	baseUrl: string,
	apiKey: string,
	inputs: Record<string, unknown>,
	onEvent?: (event: Record<string, unknown>) => void,
): Promise<Array<Record<string, unknown>>> {
	const response = await request(`${baseUrl}/workflows/run`, {
		method: 'POST',
		headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
		body: JSON.stringify({ inputs, user: 'oracle', response_mode: 'streaming' }),
	});
	const events: Array<Record<string, unknown>> = [];
	let text = '';
	const decoder = new TextDecoder();
	for await (const chunk of response.body) {
		text += decoder.decode(chunk as Buffer, { stream: true }).replace(/\r\n/g, '\n');
		let end: number;
		while ((end = text.indexOf('\n\n')) >= 0) {
			const frame = text.slice(0, end);
			text = text.slice(end + 2);
			const data = frame
				.split('\n')
				.filter((line) => line.startsWith('data:'))
				.map((line) => line.slice(5).trimStart())
				.join('\n');
			if (!data) continue;
			const event = JSON.parse(data) as Record<string, unknown>;
			events.push(event);
			onEvent?.(event);
			if (['workflow_finished', 'workflow_paused', 'error'].includes(event.event as string)) {
				response.body.destroy();
				return events;
			}
		}
	}
	return events;
}
