import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { runsAsTool } from './asTool';

/**
 * Forwards text chunks to n8n's streaming response (Webhook or Chat Trigger in Streaming mode).
 * Feature-detected: n8n before 1.103 has no isStreaming(), and then nothing is forwarded.
 *
 * As a tool of the AI Agent the node runs inside the agent's turn, and the chat shows whatever is
 * streamed: Dify's text would land in the middle of the agent's own answer. There only the variables
 * Stream Text Of names are forwarded; left empty, nothing is.
 */
export class LiveText {
	private readonly wanted: Set<string> | undefined;

	private constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly itemIndex: number,
		variables: string | undefined,
	) {
		const names = (variables ?? '')
			.split(',')
			.map((name) => name.trim())
			.filter(Boolean);
		this.wanted = names.length > 0 ? new Set(names) : undefined;
	}

	/** Whether the execution streams its response, so that a run's text is worth sending on. */
	static wanted(ctx: IExecuteFunctions): boolean {
		return typeof ctx.isStreaming === 'function' && ctx.isStreaming();
	}

	static open(ctx: IExecuteFunctions, itemIndex: number, variables: string | undefined): LiveText | undefined {
		if (!LiveText.wanted(ctx)) return undefined;
		const live = new LiveText(ctx, itemIndex, variables);
		if (!live.wanted && runsAsTool(ctx)) return undefined;
		live.send('begin');
		return live;
	}

	/** Sends the text of a text_chunk event, when its variable is one that is wanted. */
	text(event: IDataObject): void {
		const data = event.data as { text?: unknown; from_variable_selector?: unknown } | undefined;
		if (typeof data?.text !== 'string' || data.text === '') return;
		if (this.wanted) {
			const selector = Array.isArray(data.from_variable_selector) ? data.from_variable_selector.map(String) : [];
			if (!this.wanted.has(selector.join('.')) && !this.wanted.has(selector.at(-1) ?? '')) return;
		}
		this.send('item', data.text);
	}

	/** Sends the thinking of a reasoning_chunk event (Dify 1.15+), for those who asked for it. */
	reasoning(event: IDataObject): void {
		const data = event.data as { reasoning?: unknown } | undefined;
		if (typeof data?.reasoning === 'string' && data.reasoning !== '') this.send('item', data.reasoning);
	}

	end(): void {
		this.send('end');
	}

	fail(message: string): void {
		this.send('error', message);
	}

	private send(type: 'begin' | 'item' | 'end' | 'error', content?: string): void {
		// Chunks are not awaited one by one: n8n keeps them in order, and a slow client must not slow the read.
		void Promise.resolve(this.ctx.sendChunk(type, this.itemIndex, content)).catch(() => {});
	}
}
